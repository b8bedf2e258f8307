// Mapper for GET /summary, older (1.2.0-beta: average_hashrate, power_usage, pcb_temp_sens) and
// newer (1.2.6: hr_*, power_consumption, fan status) firmware alike.
#include <algorithm>

#include "json_fields.h"

namespace fleet::firmware {

using detail::FieldReader;
using detail::json;

namespace {

constexpr double kMaxHash = 1e9;  // in measure units; no miner reports more
constexpr size_t kMaxChains = 16;
constexpr size_t kMaxFans = 32;
constexpr size_t kMaxPools = 16;

// Factor from the firmware's hr_* unit to TH/s, and from the deprecated fields' unit (1000x the
// measure: TH/s on SHA-256 miners, where average_hashrate 67.4 sits beside hr_* in GH/s).
double to_ths(HashMeasure m) {
  return m == HashMeasure::kMhs ? 1e-6 : 1e-3;
}
double deprecated_to_ths(HashMeasure m) {
  return m == HashMeasure::kMhs ? 1e-3 : 1.0;
}

std::optional<double> scaled(std::optional<double> v, double factor) {
  if (!v) return std::nullopt;
  return *v * factor;
}

TempRange read_range(const FieldReader& parent, std::string_view key) {
  FieldReader r = parent.child(key);
  return {r.number("min", -60, 250), r.number("max", -60, 250)};
}

// Older firmware reports per-sensor temperatures only: take the range of the measuring ones.
TempRange range_of_sensors(const FieldReader& chain, std::string_view key) {
  TempRange out;
  const json* sensors = chain.array(key);
  if (sensors == nullptr) return out;
  for (size_t i = 0; i < sensors->size() && i < 64; ++i) {
    FieldReader s((*sensors)[i], chain.path_of(key) + "[" + std::to_string(i) + "]",
                  chain.issues());
    const std::string status = s.string("status", 16).value_or("");
    if (status == "error" || status == "init") continue;
    auto t = s.number("temp", -60, 250);
    if (!t) continue;
    out.min = out.min ? std::min(*out.min, *t) : *t;
    out.max = out.max ? std::max(*out.max, *t) : *t;
  }
  return out;
}

ChainSummary read_chain(const FieldReader& r, HashMeasure m) {
  ChainSummary c;
  c.id = r.int32("id", 0, 255).value_or(0);
  FieldReader status = r.child("status");
  c.state = status.string("state", 32).value_or("unknown");
  c.description = status.string("description", 256).value_or("");
  c.frequency_mhz = r.number("frequency", 0, 10'000);
  c.voltage_mv = r.number("voltage", 0, 100'000);
  c.power_w = r.number("power_consumption", 0, 100'000);
  if (!c.power_w) c.power_w = r.number("power_usage", 0, 100'000);
  c.hashrate_ths = scaled(r.number("hashrate_rt", 0, kMaxHash), to_ths(m));
  c.hashrate_ideal_ths = scaled(r.number("hashrate_ideal", 0, kMaxHash), to_ths(m));
  c.hashrate_percentage = r.number("hashrate_percentage", 0, 1000);
  c.hw_errors = r.integer("hw_errors", 0);
  c.pcb_temp = read_range(r, "pcb_temp");
  if (!c.pcb_temp.max) c.pcb_temp = range_of_sensors(r, "pcb_temp_sens");
  c.chip_temp = read_range(r, "chip_temp");
  if (!c.chip_temp.max) c.chip_temp = range_of_sensors(r, "chip_temp_sens");
  FieldReader grades = r.child("chip_statuses");
  c.chips_red = grades.int32("red", 0, 100'000);
  c.chips_orange = grades.int32("orange", 0, 100'000);
  c.chips_grey = grades.int32("grey", 0, 100'000);
  return c;
}

PoolReading read_pool(const FieldReader& r) {
  PoolReading p;
  p.id = r.int32("id", 0, 1000).value_or(0);
  p.url = r.string("url", 256).value_or("");
  p.user = r.string("user", 256).value_or("");
  p.pool_type = r.string("pool_type", 32).value_or("");
  p.status = r.string("status", 32).value_or("");
  p.accepted = r.integer("accepted", 0);
  p.rejected = r.integer("rejected", 0);
  p.stale = r.integer("stale", 0);
  return p;
}

}  // namespace

Result<SummaryPayload> parse_summary(std::string_view body, HashMeasure m,
                                     const PayloadLimits& limits, FieldIssues* issues) {
  auto doc = detail::parse_document(body, limits, "/summary");
  if (!doc.ok()) return doc.error();
  if (!doc->is_object()) return detail::payload_error("/summary", "expected a JSON object");
  FieldReader root(*doc, "", issues);
  SummaryPayload out;

  FieldReader system = root.child("system");
  FieldReader net = system.child("network_status");
  if (auto mac = net.string("mac", 64)) out.mac = normalize_mac(*mac);
  out.ip = net.string("ip", 64);
  out.uptime = system.string("uptime", 64);

  const json& miner_json = root.member("miner");
  if (miner_json.is_null()) return out;  // no miner data yet: a valid, empty summary
  if (!miner_json.is_object())
    return detail::payload_error("/summary", "miner: expected an object");
  out.has_miner = true;
  FieldReader miner(miner_json, "miner", issues);

  FieldReader state = miner.child("miner_status");
  auto miner_state = state.string("miner_state", 32);
  if (!miner_state || miner_state->empty()) {
    return detail::payload_error("/summary", "miner.miner_status.miner_state is missing");
  }
  out.miner_state = *miner_state;
  out.miner_state_time_s = state.integer("miner_state_time", 0);
  out.state_description = state.string("description", 256).value_or("");
  out.miner_type = miner.string("miner_type", 128).value_or("");

  out.hashrate_ths = scaled(miner.number("hr_realtime", 0, kMaxHash), to_ths(m));
  if (!out.hashrate_ths) {
    out.hashrate_ths = scaled(miner.number("instant_hashrate", 0, kMaxHash), deprecated_to_ths(m));
  }
  out.hashrate_avg_ths = scaled(miner.number("hr_average", 0, kMaxHash), to_ths(m));
  if (!out.hashrate_avg_ths) {
    out.hashrate_avg_ths =
        scaled(miner.number("average_hashrate", 0, kMaxHash), deprecated_to_ths(m));
  }
  out.hashrate_nominal_ths = scaled(miner.number("hr_nominal", 0, kMaxHash), to_ths(m));
  out.hashrate_stock_ths = scaled(miner.number("hr_stock", 0, kMaxHash), to_ths(m));
  out.power_w = miner.number("power_consumption", 0, 100'000);
  if (!out.power_w) out.power_w = miner.number("power_usage", 0, 100'000);
  out.efficiency_jth = miner.number("power_efficiency", 0, 100'000);
  out.pcb_temp = read_range(miner, "pcb_temp");
  out.chip_temp = read_range(miner, "chip_temp");
  out.hw_errors = miner.integer("hw_errors", 0);
  out.hw_errors_percent = miner.number("hw_errors_percent", 0, 100);

  FieldReader cooling = miner.child("cooling");
  out.fan_duty = cooling.int32("fan_duty", 0, 100);
  if (const json* fans = cooling.array("fans")) {
    for (size_t i = 0; i < fans->size() && i < kMaxFans; ++i) {
      FieldReader f((*fans)[i], "miner.cooling.fans[" + std::to_string(i) + "]", issues);
      FanReading fan;
      fan.id = f.int32("id", 0, 255).value_or(static_cast<int>(i));
      fan.rpm = f.int32("rpm", 0, 100'000);
      fan.max_rpm = f.int32("max_rpm", 0, 100'000);
      fan.status = f.string("status", 16).value_or("");
      out.fans.push_back(std::move(fan));
    }
  }
  if (const json* chains = miner.array("chains")) {
    for (size_t i = 0; i < chains->size() && i < kMaxChains; ++i) {
      FieldReader c((*chains)[i], "miner.chains[" + std::to_string(i) + "]", issues);
      if (!(*chains)[i].is_object()) {
        detail::add_issue(issues, c.path() + ": expected an object");
        continue;
      }
      out.chains.push_back(read_chain(c, m));
    }
  }
  if (const json* pools = miner.array("pools")) {
    for (size_t i = 0; i < pools->size() && i < kMaxPools; ++i) {
      out.pools.push_back(
          read_pool(FieldReader((*pools)[i], "miner.pools[" + std::to_string(i) + "]", issues)));
    }
  }

  // Older firmware has no hr_nominal: the chains' ideal rates add up to it.
  if (!out.hashrate_nominal_ths && !out.chains.empty()) {
    double sum = 0;
    bool all = true;
    for (const auto& c : out.chains) {
      if (!c.hashrate_ideal_ths) all = false;
      sum += c.hashrate_ideal_ths.value_or(0);
    }
    if (all && sum > 0) out.hashrate_nominal_ths = sum;
  }
  if (!out.efficiency_jth && out.power_w && out.hashrate_ths && *out.hashrate_ths > 0.001) {
    out.efficiency_jth = *out.power_w / *out.hashrate_ths;
  }
  return out;
}

std::optional<double> SummaryPayload::hashrate_ratio() const {
  if (!hashrate_ths || !hashrate_nominal_ths || *hashrate_nominal_ths <= 0) return std::nullopt;
  return *hashrate_ths / *hashrate_nominal_ths;
}

std::optional<int> SummaryPayload::fan_rpm_min() const {
  std::optional<int> out;
  for (const auto& f : fans) {
    if (!f.rpm) continue;
    out = out ? std::min(*out, *f.rpm) : *f.rpm;
  }
  return out;
}

namespace {
template <class Field>
std::optional<int> sum_chains(const std::vector<ChainSummary>& chains, Field field) {
  std::optional<int> out;
  for (const auto& c : chains) {
    const std::optional<int>& v = c.*field;
    if (v) out = out.value_or(0) + *v;
  }
  return out;
}
}  // namespace

std::optional<int> SummaryPayload::chips_red() const {
  return sum_chains(chains, &ChainSummary::chips_red);
}
std::optional<int> SummaryPayload::chips_orange() const {
  return sum_chains(chains, &ChainSummary::chips_orange);
}
std::optional<int> SummaryPayload::chips_grey() const {
  return sum_chains(chains, &ChainSummary::chips_grey);
}

const PoolReading* SummaryPayload::active_pool() const {
  const PoolReading* first_user = nullptr;
  for (const auto& p : pools) {
    if (p.pool_type == "DevFee" || p.pool_type == "Refund") continue;
    if (p.status == "active" || p.status == "working") return &p;
    if (first_user == nullptr) first_user = &p;
  }
  return first_user;
}

}  // namespace fleet::firmware
