// HiveOS payload mappers (hiveos/parse.h). Tolerant field by field: HiveOS sends nulls, numbers as
// strings in places, and new fields at will; only a missing identity drops an item.
#include "hiveos/parse.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "core/json_depth.h"

namespace fleet::hiveos {
namespace {

using json = nlohmann::json;

constexpr double kKhsPerThs = 1e9;  // HiveOS hashrates are kH/s

std::optional<double> num(const json& o, const char* key) {
  if (!o.is_object()) return std::nullopt;
  auto it = o.find(key);
  if (it == o.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  // Nothing a rig reports comes near 1e15 (kH/s, W, °C, MHz, Unix seconds): larger is garbage,
  // and refusing it keeps every sum of such values finite.
  if (!std::isfinite(v) || std::fabs(v) > 1e15) return std::nullopt;
  return v;
}

std::optional<std::int64_t> i64(const json& o, const char* key) {
  auto v = num(o, key);
  if (!v || *v < -9.2e18 || *v > 9.2e18) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(*v));
}

std::optional<int> i32(const json& o, const char* key) {
  auto v = num(o, key);
  if (!v || *v < -2e9 || *v > 2e9) return std::nullopt;
  return static_cast<int>(std::lround(*v));
}

std::optional<bool> boolean(const json& o, const char* key) {
  if (!o.is_object()) return std::nullopt;
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_number_integer()) return it->get<std::int64_t>() != 0;
  return std::nullopt;
}

std::string cut(std::string s, std::size_t cap) {
  if (s.size() <= cap) return s;
  s.resize(cap);
  // Do not leave half a UTF-8 sequence at the end.
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80)
    s.pop_back();
  if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80)) s.pop_back();
  return s;
}

std::string text(const json& o, const char* key, std::size_t cap) {
  if (!o.is_object()) return {};
  auto it = o.find(key);
  if (it == o.end() || !it->is_string()) return {};
  return cut(it->get<std::string>(), cap);
}

const json& member(const json& o, const char* key) {
  static const json kNull;
  if (!o.is_object()) return kNull;
  auto it = o.find(key);
  return it == o.end() ? kNull : *it;
}

// Caps and depth first, then the parse; never throws.
Result<json> load(std::string_view body, const ParseLimits& limits) {
  if (body.size() > limits.max_body_bytes) {
    return Error(ErrorKind::kDataLoss, "HiveOS answer of " + std::to_string(body.size()) +
                                           " bytes is over the cap of " +
                                           std::to_string(limits.max_body_bytes));
  }
  if (json_nesting_depth(body, limits.max_depth) > limits.max_depth) {
    return Error(ErrorKind::kDataLoss,
                 "HiveOS answer nests deeper than " + std::to_string(limits.max_depth));
  }
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return Error(ErrorKind::kDataLoss, "HiveOS answer is not JSON");
  return j;
}

Result<const json*> data_array(const json& j, const ParseLimits& limits, const char* what) {
  const json& data = member(j, "data");
  if (!data.is_array()) {
    return Error(ErrorKind::kDataLoss, std::string("HiveOS ") + what + " answer has no data array");
  }
  if (data.size() > limits.max_items) {
    return Error(ErrorKind::kDataLoss,
                 std::string("HiveOS ") + what + " answer lists " + std::to_string(data.size()) +
                     " items, over the cap of " + std::to_string(limits.max_items));
  }
  return &data;
}

std::optional<double> max_of(const json& arr) {
  std::optional<double> best;
  if (!arr.is_array()) return best;
  for (const auto& v : arr) {
    if (!v.is_number()) continue;
    const double d = v.get<double>();
    if (std::isfinite(d) && (!best || d > *best)) best = d;
  }
  return best;
}

std::optional<double> max_opt(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

Stats stats_of(const json& s, const ParseLimits& limits) {
  Stats st;
  st.online = boolean(s, "online");
  st.stats_time = i64(s, "stats_time");
  st.boot_time = i64(s, "boot_time");
  st.miner_start_time = i64(s, "miner_start_time");
  st.gpus_online = i32(s, "gpus_online");
  st.gpus_offline = i32(s, "gpus_offline");
  st.gpus_overheated = i32(s, "gpus_overheated");
  st.boards_online = i32(s, "boards_online");
  st.boards_offline = i32(s, "boards_offline");
  st.boards_overheated = i32(s, "boards_overheated");
  st.power_draw_w = num(s, "power_draw");
  const json& problems = member(s, "problems");
  if (problems.is_array()) {
    for (const auto& p : problems) {
      if (!p.is_string() || st.problems.size() >= 32) continue;
      st.problems.push_back(
          cut(p.get<std::string>(), std::min<std::size_t>(limits.max_string_bytes, 64)));
    }
  }
  return st;
}

Gpu& gpu_for(std::vector<Gpu>& gpus, std::optional<int> bus, const ParseLimits& limits,
             bool& dropped) {
  if (bus) {
    for (auto& g : gpus) {
      if (g.bus_number == bus) return g;
    }
  }
  if (gpus.size() >= limits.max_gpus) {
    dropped = true;
    static thread_local Gpu scratch;
    scratch = Gpu{};
    return scratch;
  }
  gpus.emplace_back();
  gpus.back().bus_number = bus;
  return gpus.back();
}

void gpus_of(const json& w, Worker& out, const ParseLimits& limits) {
  bool dropped = false;
  const json& info = member(w, "gpu_info");
  if (info.is_array()) {
    for (const auto& g : info) {
      if (!g.is_object()) continue;
      Gpu& gpu = gpu_for(out.gpus, i32(g, "bus_number"), limits, dropped);
      gpu.bus_id = text(g, "bus_id", 32);
      gpu.index = i32(g, "index");
      gpu.brand = text(g, "brand", 32);
      gpu.model = text(g, "model", limits.max_string_bytes);
    }
  }
  const json& stats = member(w, "gpu_stats");
  if (stats.is_array()) {
    for (const auto& g : stats) {
      if (!g.is_object()) continue;
      Gpu& gpu = gpu_for(out.gpus, i32(g, "bus_number"), limits, dropped);
      gpu.temp_c = num(g, "temp");
      gpu.mem_temp_c = num(g, "memtemp");
      gpu.fan_percent = num(g, "fan");
      gpu.power_w = num(g, "power");
      gpu.core_clock_mhz = num(g, "coreclk");
      gpu.mem_clock_mhz = num(g, "memclk");
    }
  }
  // miners_stats.hashrates[]: per miner, parallel arrays by bus number.
  const json& ms = member(member(w, "miners_stats"), "hashrates");
  if (ms.is_array()) {
    for (const auto& m : ms) {
      const json& hashes = member(m, "hashes");
      const json& buses = member(m, "bus_numbers");
      if (!hashes.is_array() || !buses.is_array()) continue;
      const std::size_t n = std::min(hashes.size(), buses.size());
      for (std::size_t i = 0; i < n; ++i) {
        if (!buses[i].is_number() || !hashes[i].is_number()) continue;
        const double khs = hashes[i].get<double>();
        if (!std::isfinite(khs) || khs < 0) continue;
        const int bus = static_cast<int>(buses[i].get<double>());
        bool known = false;
        for (auto& g : out.gpus) {
          if (g.bus_number == bus) {
            g.hashrate_ths = g.hashrate_ths.value_or(0) + khs / kKhsPerThs;
            known = true;
          }
        }
        if (!known && out.platform != 2) {
          Gpu& gpu = gpu_for(out.gpus, bus, limits, dropped);
          gpu.hashrate_ths = gpu.hashrate_ths.value_or(0) + khs / kKhsPerThs;
        }
      }
    }
  }
  std::sort(out.gpus.begin(), out.gpus.end(), [](const Gpu& a, const Gpu& b) {
    if (a.index && b.index) return *a.index < *b.index;
    return a.bus_number.value_or(INT32_MAX) < b.bus_number.value_or(INT32_MAX);
  });
}

void asic_of(const json& w, Worker& out) {
  const json& info = member(w, "asic_info");
  out.asic_model = text(info, "model", 128);
  out.asic_firmware = text(info, "firmware", 128);
  const json& st = member(w, "asic_stats");
  const json& fans = member(st, "fans");
  if (fans.is_array()) {
    for (const auto& f : fans) {
      if (auto rpm = num(f, "fan_rpm"))
        out.min_fan_rpm = out.min_fan_rpm ? std::min(*out.min_fan_rpm, *rpm) : *rpm;
      out.max_fan_percent = max_opt(out.max_fan_percent, num(f, "fan"));
    }
  }
  const json& boards = member(st, "boards");
  if (boards.is_array()) {
    for (const auto& b : boards) {
      if (!b.is_object() || out.boards.size() >= 64) continue;
      Board board;
      board.chain = i32(b, "chain");
      board.chips = i32(b, "acn");
      board.freq_mhz = num(b, "freq");
      board.temp_c = num(b, "temp");
      board.board_temp_c = num(b, "board_temp");
      board.power_w = num(b, "power");
      board.hw_errors = i64(b, "hw_errors");
      out.boards.push_back(board);
    }
  }
}

Worker worker_of(const json& w, std::int64_t id, std::int64_t farm_id, const ParseLimits& limits) {
  Worker out;
  out.id = id;
  out.farm_id = i64(w, "farm_id").value_or(farm_id);
  out.platform = i32(w, "platform").value_or(1);
  out.name = text(w, "name", std::min<std::size_t>(limits.max_string_bytes, 200));
  if (out.name.empty()) out.name = "worker-" + std::to_string(id);
  out.description = text(w, "description", limits.max_string_bytes);
  out.active = boolean(w, "active");
  out.units_count = i32(w, "units_count");
  const json& ips = member(w, "ip_addresses");
  if (ips.is_array()) {
    for (const auto& ip : ips) {
      if (ip.is_string() && out.ip_addresses.size() < 16)
        out.ip_addresses.push_back(cut(ip.get<std::string>(), 64));
    }
  }
  out.remote_ip = text(member(w, "remote_address"), "ip", 64);
  json versions = json::object();
  const json& v = member(w, "versions");
  if (v.is_object()) {
    for (const auto& [k, val] : v.items()) {
      if (val.is_string() && versions.size() < 32 && k.size() <= 64)
        versions[k] = cut(val.get<std::string>(), 128);
    }
  }
  out.versions_json = versions.dump(-1, ' ', false, json::error_handler_t::replace);
  out.stats = stats_of(member(w, "stats"), limits);
  const json& summary = member(member(w, "miners_summary"), "hashrates");
  if (summary.is_array()) {
    for (const auto& m : summary) {
      if (!m.is_object() || out.hashrates.size() >= 16) continue;
      Hashrate h;
      h.miner = text(m, "miner", 64);
      h.algo = text(m, "algo", 64);
      h.coin = text(m, "coin", 32);
      const double khs = num(m, "hash").value_or(0);
      h.ths = khs > 0 ? khs / kKhsPerThs : 0;
      const json& shares = member(m, "shares");
      h.accepted = i64(shares, "accepted");
      h.rejected = i64(shares, "rejected");
      h.invalid = i64(shares, "invalid");
      out.hashrates.push_back(std::move(h));
    }
  }
  gpus_of(w, out, limits);
  asic_of(w, out);
  const json& gs = member(w, "gpu_summary");
  out.max_temp_c = num(gs, "max_temp");
  out.max_fan_percent = max_opt(out.max_fan_percent, num(gs, "max_fan"));
  for (const auto& g : out.gpus) {
    if (!num(gs, "max_temp")) out.max_temp_c = max_opt(out.max_temp_c, g.temp_c);
    out.max_fan_percent = max_opt(out.max_fan_percent, g.fan_percent);
  }
  for (const auto& b : out.boards)
    out.max_temp_c = max_opt(out.max_temp_c, b.temp_c);
  const json& hw = member(w, "hardware_stats");
  out.cpu_temp_c = max_of(member(hw, "cputemp"));
  const json& avg = member(hw, "cpuavg");
  if (avg.is_array() && !avg.empty() && avg[0].is_number()) out.cpu_load_1m = avg[0].get<double>();
  const json& wd = member(w, "watchdog");
  out.watchdog.enabled = boolean(wd, "enabled");
  out.watchdog.restart_timeout_min = num(wd, "restart_timeout");
  out.watchdog.reboot_timeout_min = num(wd, "reboot_timeout");
  out.watchdog.power_action = text(wd, "power_action", 32);
  return out;
}

std::optional<std::int64_t> positive_id(const json& o, const char* key) {
  auto id = i64(o, key);
  if (!id || *id <= 0) return std::nullopt;
  return id;
}

}  // namespace

Result<Parsed<Farm>> parse_farms(std::string_view body, const ParseLimits& limits) {
  auto j = load(body, limits);
  if (!j) return j.error();
  auto data = data_array(j.value(), limits, "farms");
  if (!data) return data.error();
  Parsed<Farm> out;
  for (const auto& f : *data.value()) {
    auto id = positive_id(f, "id");
    if (!id) {
      ++out.dropped;
      continue;
    }
    Farm farm;
    farm.id = *id;
    farm.name = text(f, "name", std::min<std::size_t>(limits.max_string_bytes, 200));
    if (farm.name.empty()) farm.name = "farm-" + std::to_string(*id);
    farm.workers_count = i64(f, "workers_count");
    out.items.push_back(std::move(farm));
  }
  return out;
}

Result<Parsed<Worker>> parse_workers(std::string_view body, std::int64_t farm_id,
                                     const ParseLimits& limits) {
  auto j = load(body, limits);
  if (!j) return j.error();
  auto data = data_array(j.value(), limits, "workers");
  if (!data) return data.error();
  Parsed<Worker> out;
  out.items.reserve(data.value()->size());
  for (const auto& w : *data.value()) {
    auto id = positive_id(w, "id");
    if (!id || !w.is_object()) {
      ++out.dropped;
      continue;
    }
    out.items.push_back(worker_of(w, *id, farm_id, limits));
  }
  return out;
}

Result<Worker> parse_worker(std::string_view body, std::int64_t farm_id,
                            const ParseLimits& limits) {
  auto j = load(body, limits);
  if (!j) return j.error();
  auto id = positive_id(j.value(), "id");
  if (!id) return Error(ErrorKind::kDataLoss, "HiveOS worker answer has no id");
  return worker_of(j.value(), *id, farm_id, limits);
}

Result<std::vector<SentCommand>> parse_command_response(std::string_view body,
                                                        std::int64_t worker_id,
                                                        const ParseLimits& limits) {
  auto j = load(body, limits);
  if (!j) return j.error();
  std::optional<std::int64_t> id;
  const json& commands = member(j.value(), "commands");
  if (commands.is_array() && !commands.empty()) id = positive_id(commands[0], "id");
  if (!id) id = positive_id(j.value(), "id");
  if (!id) return Error(ErrorKind::kDataLoss, "HiveOS command answer has no command id");
  return std::vector<SentCommand>{{worker_id, *id}};
}

Result<std::vector<SentCommand>> parse_commands_response(std::string_view body,
                                                         const ParseLimits& limits) {
  auto j = load(body, limits);
  if (!j) return j.error();
  const json& commands = member(j.value(), "commands");
  if (!commands.is_array()) {
    return Error(ErrorKind::kDataLoss, "HiveOS commands answer has no commands array");
  }
  if (commands.size() > limits.max_items) {
    return Error(ErrorKind::kDataLoss, "HiveOS commands answer is over the item cap");
  }
  const auto top = positive_id(j.value(), "id");
  std::vector<SentCommand> out;
  for (const auto& c : commands) {
    auto worker = positive_id(c, "worker_id");
    auto id = positive_id(c, "id");
    if (!id) id = top;
    if (worker && id) out.push_back({*worker, *id});
  }
  return out;
}

Result<Parsed<Message>> parse_messages(std::string_view body, const ParseLimits& limits) {
  auto j = load(body, limits);
  if (!j) return j.error();
  auto data = data_array(j.value(), limits, "messages");
  if (!data) return data.error();
  Parsed<Message> out;
  for (const auto& m : *data.value()) {
    auto id = positive_id(m, "id");
    if (!id) {
      ++out.dropped;
      continue;
    }
    Message msg;
    msg.id = *id;
    msg.cmd_id = positive_id(m, "cmd_id");
    msg.type = text(m, "type", 16);
    msg.title = text(m, "title", limits.max_string_bytes);
    msg.command = text(m, "command", 64);
    // command_result is an object in the spec, a number in practice (exit code): keep a number.
    msg.command_result = i32(m, "command_result");
    msg.time = i64(m, "time");
    msg.payload = text(m, "payload", limits.max_payload_bytes);
    out.items.push_back(std::move(msg));
  }
  return out;
}

std::string command_body(const Command& command) {
  json body = {{"command", command.command}};
  json data = json::parse(command.data_json, nullptr, false);
  if (data.is_object() && !data.empty()) body["data"] = std::move(data);
  return body.dump();
}

std::string bulk_command_body(const std::vector<std::int64_t>& worker_ids, const Command& command) {
  json inner = json::parse(command_body(command));
  return json{{"worker_ids", worker_ids}, {"data", std::move(inner)}}.dump();
}

}  // namespace fleet::hiveos
