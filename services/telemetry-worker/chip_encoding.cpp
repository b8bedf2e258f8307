#include "chip_encoding.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fleet::telemetry {

namespace {

constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kInt32Min = std::numeric_limits<std::int32_t>::min();

std::optional<std::int64_t> rounded(std::optional<double> v, double scale) {
  if (!v || !std::isfinite(*v)) return std::nullopt;
  const double x = std::round(*v * scale);
  if (x > 9e15 || x < -9e15) return std::nullopt;
  return static_cast<std::int64_t>(x);
}

std::optional<std::int64_t> whole(std::optional<int> v) {
  if (!v) return std::nullopt;
  return *v;
}

void put_le(std::string& out, std::uint64_t v, int width) {
  for (int k = 0; k < width; ++k)
    out += static_cast<char>((v >> (8 * k)) & 0xFF);
}

std::uint64_t get_le(std::string_view in, size_t at, int width) {
  std::uint64_t v = 0;
  for (int k = 0; k < width; ++k) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + k])) << (8 * k);
  }
  return v;
}

}  // namespace

std::string pack_values(const Values& values, int& clamped) {
  if (values.empty()) return {};
  std::vector<std::optional<std::int64_t>> v(values);
  std::optional<std::int64_t> lo, hi;
  bool any_null = false;
  for (auto& x : v) {
    if (!x) {
      any_null = true;
      continue;
    }
    if (*x > kInt32Max || *x < kInt32Min) {
      ++clamped;
      x = std::clamp(*x, kInt32Min, kInt32Max);
    }
    lo = lo ? std::min(*lo, *x) : *x;
    hi = hi ? std::max(*hi, *x) : *x;
  }
  const std::int64_t base = lo.value_or(0);
  const std::uint64_t spread = lo ? static_cast<std::uint64_t>(*hi - *lo) : 0;
  int width = 4;
  if (!any_null && spread == 0) {
    width = 0;
  } else if (spread < 0xFF) {
    width = 1;
  } else if (spread < 0xFFFF) {
    width = 2;
  }
  std::string out;
  out.reserve(5 + v.size() * static_cast<size_t>(width));
  out += static_cast<char>(width);
  put_le(out, static_cast<std::uint32_t>(static_cast<std::int32_t>(base)), 4);
  if (width == 0) return out;
  const std::uint64_t null_marker = (std::uint64_t{1} << (8 * width)) - 1;
  for (const auto& x : v) {
    put_le(out, x ? static_cast<std::uint64_t>(*x - base) : null_marker, width);
  }
  return out;
}

std::optional<Values> unpack_values(std::string_view packed, std::size_t count) {
  if (count == 0) return packed.empty() ? std::optional<Values>(Values{}) : std::nullopt;
  if (packed.size() < 5) return std::nullopt;
  const int width = static_cast<unsigned char>(packed[0]);
  const auto base = static_cast<std::int64_t>(static_cast<std::int32_t>(get_le(packed, 1, 4)));
  if (width == 0)
    return packed.size() == 5 ? std::optional<Values>(Values(count, base)) : std::nullopt;
  if ((width != 1 && width != 2 && width != 4) || packed.size() != 5 + count * width) {
    return std::nullopt;
  }
  const std::uint64_t null_marker = (std::uint64_t{1} << (8 * width)) - 1;
  Values out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const std::uint64_t off = get_le(packed, 5 + i * width, width);
    if (off == null_marker) {
      out.emplace_back();
    } else {
      out.emplace_back(base + static_cast<std::int64_t>(off));
    }
  }
  return out;
}

EncodedChain encode_chain(const firmware::ChainChips& chain) {
  EncodedChain e;
  e.chain_id = chain.id;
  e.state = chain.state;
  e.failure_message = chain.failure_message;
  e.hr_realtime = chain.hr_realtime;
  e.hr_nominal = chain.hr_nominal;
  e.chain_freq_mhz = chain.freq_mhz;
  e.chip_count = static_cast<int>(std::min<size_t>(chain.chips.size(), 32767));
  bool consecutive = true;
  Values hr, temp, freq, volt, errs;
  for (int i = 0; i < e.chip_count; ++i) {
    const firmware::ChipSample& c = chain.chips[i];
    if (i > 0 && c.id != chain.chips[i - 1].id + 1) consecutive = false;
    const std::int64_t pos = i + 1;
    hr.push_back(rounded(c.hr, 1.0));
    temp.push_back(rounded(c.temp_c, 10.0));
    freq.push_back(whole(c.freq_mhz));
    volt.push_back(whole(c.volt_mv));
    errs.push_back(c.errs);
    if (c.grade == firmware::ChipGrade::kRed) e.red_pos.push_back(pos);
    if (c.grade == firmware::ChipGrade::kOrange) e.orange_pos.push_back(pos);
    if (c.throttled) e.throttled_pos.push_back(pos);
  }
  if (e.chip_count > 0) {
    if (consecutive && chain.chips.front().id + e.chip_count <= 32767) {
      e.chip_id_first = chain.chips.front().id;
    } else {
      for (int i = 0; i < e.chip_count; ++i)
        e.chip_ids.push_back(chain.chips[i].id);
    }
  }
  e.hr = pack_values(hr, e.clamped);
  e.temp_dc = pack_values(temp, e.clamped);
  e.freq_mhz = pack_values(freq, e.clamped);
  e.volt_mv = pack_values(volt, e.clamped);
  e.errs = pack_values(errs, e.clamped);
  return e;
}

Anomalies anomalies_of(const firmware::ChainsPayload& payload, std::optional<int> expected) {
  Anomalies a;
  for (const auto& chain : payload.chains) {
    bool dead = chain.state == "failure" || chain.state == "disconnected";
    if (!dead && chain.state == "mining") {
      const bool no_chain_rate = chain.hr_realtime && *chain.hr_realtime <= 0;
      const bool no_chip_rate =
          !chain.chips.empty() && std::all_of(chain.chips.begin(), chain.chips.end(),
                                              [](const auto& c) { return c.hr && *c.hr <= 0; });
      dead = no_chain_rate || no_chip_rate;
    }
    if (dead) ++a.chains_dead;
    for (const auto& chip : chain.chips) {
      if (chip.grade == firmware::ChipGrade::kRed) ++a.chips_red;
      if (chip.grade == firmware::ChipGrade::kOrange) ++a.chips_orange;
      if (chip.throttled) ++a.chips_throttled;
      if (chip.temp_c) {
        a.chip_temp_max = std::max(a.chip_temp_max.value_or(*chip.temp_c), *chip.temp_c);
      }
    }
  }
  const int listed = static_cast<int>(payload.chains.size());
  if (expected && *expected > listed) a.chains_dead += *expected - listed;
  return a;
}

std::vector<asic::MetricSample> telemetry_metrics(std::int64_t worker_id,
                                                  std::chrono::system_clock::time_point at,
                                                  const Anomalies& a) {
  std::vector<asic::MetricSample> out = {
      {worker_id, "chains_dead", static_cast<double>(a.chains_dead), std::nullopt, at},
      {worker_id, "chips_red_telemetry", static_cast<double>(a.chips_red), std::nullopt, at},
      {worker_id, "chips_orange_telemetry", static_cast<double>(a.chips_orange), std::nullopt, at},
      {worker_id, "chips_throttled", static_cast<double>(a.chips_throttled), std::nullopt, at}};
  if (a.chip_temp_max) {
    out.push_back({worker_id, "chip_temp_max_telemetry", a.chip_temp_max, std::nullopt, at});
  }
  return out;
}

}  // namespace fleet::telemetry
