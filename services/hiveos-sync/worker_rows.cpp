#include "worker_rows.h"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>

#include <optional>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

namespace fleet::hiveos_sync {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxName = 200;  // workers.name
constexpr std::size_t kMaxDescription = 1000;

template <class T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

void put(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

// Cuts a UTF-8 string to at most `max` bytes without splitting a character.
std::string cut(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  return s.substr(0, n);
}

json gpu_json(const hiveos::Gpu& g) {
  json j = json::object();
  put(j, "bus_number", g.bus_number);
  put(j, "bus_id", g.bus_id);
  put(j, "index", g.index);
  put(j, "brand", g.brand);
  put(j, "model", g.model);
  put(j, "temp", g.temp_c);
  put(j, "mem_temp", g.mem_temp_c);
  put(j, "fan_percent", g.fan_percent);
  put(j, "power_w", g.power_w);
  put(j, "core_clock_mhz", g.core_clock_mhz);
  put(j, "mem_clock_mhz", g.mem_clock_mhz);
  put(j, "hashrate_ths", g.hashrate_ths);
  return j;
}

json board_json(const hiveos::Board& b) {
  json j = json::object();
  put(j, "chain", b.chain);
  put(j, "chips", b.chips);
  put(j, "freq_mhz", b.freq_mhz);
  put(j, "temp", b.temp_c);
  put(j, "board_temp", b.board_temp_c);
  put(j, "power_w", b.power_w);
  put(j, "hw_errors", b.hw_errors);
  return j;
}

json hashrate_json(const hiveos::Hashrate& h) {
  json j = json::object();
  put(j, "miner", h.miner);
  put(j, "algo", h.algo);
  put(j, "coin", h.coin);
  j["ths"] = h.ths;
  put(j, "accepted", h.accepted);
  put(j, "rejected", h.rejected);
  put(j, "invalid", h.invalid);
  return j;
}

json hardware_json(const hiveos::Worker& w) {
  json j = json::object();
  put(j, "asic_model", w.asic_model);
  put(j, "asic_firmware", w.asic_firmware);
  put(j, "max_temp", w.max_temp_c);
  put(j, "max_fan_percent", w.max_fan_percent);
  put(j, "min_fan_rpm", w.min_fan_rpm);
  put(j, "cpu_temp", w.cpu_temp_c);
  put(j, "cpu_load_1m", w.cpu_load_1m);
  const auto& s = w.stats;
  put(j, "gpus_online", s.gpus_online);
  put(j, "gpus_offline", s.gpus_offline);
  put(j, "gpus_overheated", s.gpus_overheated);
  put(j, "boards_online", s.boards_online);
  put(j, "boards_offline", s.boards_offline);
  put(j, "boards_overheated", s.boards_overheated);
  put(j, "power_draw_w", s.power_draw_w);
  return j;
}

json watchdog_json(const hiveos::Watchdog& w) {
  json j = json::object();
  put(j, "enabled", w.enabled);
  put(j, "restart_timeout_min", w.restart_timeout_min);
  put(j, "reboot_timeout_min", w.reboot_timeout_min);
  put(j, "power_action", w.power_action);
  return j;
}

json versions_of(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string kind_of(const hiveos::Worker& worker) {
  return worker.platform == 2 ? "asic" : "rig";
}

std::string first_ip(const std::vector<std::string>& addresses) {
  for (const auto& a : addresses) {
    if (a.empty() || a.size() > 45) continue;
    unsigned char buf[16];
    if (inet_pton(AF_INET, a.c_str(), buf) == 1 || inet_pton(AF_INET6, a.c_str(), buf) == 1) {
      return a;
    }
  }
  return "";
}

std::vector<WorkerRow> rows_of(std::vector<hiveos::Worker> workers, std::int64_t now_unix,
                               std::int64_t stale_after_s) {
  std::vector<WorkerRow> rows;
  rows.reserve(workers.size());
  std::set<std::int64_t> ids;
  for (auto& w : workers) {
    if (!ids.insert(w.id).second) continue;
    WorkerRow row;
    row.kind = kind_of(w);
    row.ip = first_ip(w.ip_addresses);
    row.live = hiveos::is_live(w, now_unix, stale_after_s);
    if (row.live) {
      std::set<std::string> names;
      for (auto& m : hiveos::metrics_of(w, now_unix)) {
        if (!m.value && m.json_value.empty()) continue;  // no data is not a reading
        if (names.insert(m.name).second) row.metrics.push_back(std::move(m));
      }
    }
    row.worker = std::move(w);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string workers_json(const std::vector<WorkerRow>& rows) {
  json out = json::array();
  for (const auto& r : rows) {
    const auto& w = r.worker;
    json j = {{"hid", w.id},
              {"name", cut(w.name.empty() ? "worker " + std::to_string(w.id) : w.name, kMaxName)},
              {"kind", r.kind},
              {"live", r.live},
              {"platform", w.platform},
              {"description", cut(w.description, kMaxDescription)},
              {"ip_addresses", w.ip_addresses},
              {"versions", versions_of(w.versions_json)},
              {"problems", w.stats.problems},
              {"hardware", hardware_json(w)},
              {"watchdog", watchdog_json(w.watchdog)}};
    j["ip"] = r.ip.empty() ? json(nullptr) : json(r.ip);
    j["remote_ip"] = w.remote_ip.empty() ? json(nullptr) : json(w.remote_ip);
    j["units_count"] = w.units_count ? json(*w.units_count) : json(nullptr);
    j["online"] = w.stats.online ? json(*w.stats.online) : json(nullptr);
    j["stats_time"] = w.stats.stats_time ? json(*w.stats.stats_time) : json(nullptr);
    j["boot_time"] = w.stats.boot_time ? json(*w.stats.boot_time) : json(nullptr);
    j["miner_start_time"] =
        w.stats.miner_start_time ? json(*w.stats.miner_start_time) : json(nullptr);
    json gpus = json::array();
    for (const auto& g : w.gpus)
      gpus.push_back(gpu_json(g));
    j["gpus"] = std::move(gpus);
    json boards = json::array();
    for (const auto& b : w.boards)
      boards.push_back(board_json(b));
    j["boards"] = std::move(boards);
    json hashrates = json::array();
    for (const auto& h : w.hashrates)
      hashrates.push_back(hashrate_json(h));
    j["hashrates"] = std::move(hashrates);
    out.push_back(std::move(j));
  }
  return dump(out);
}

void append_array_element(std::string& out, const std::string* text) {
  if (out.size() > 1) out += ',';
  if (!text) {
    out += "NULL";
    return;
  }
  out += '"';
  for (const char c : *text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

MetricArrays metric_arrays(const std::vector<WorkerRow>& rows) {
  MetricArrays a;
  for (auto* s : {&a.hids, &a.names, &a.values, &a.json_values, &a.metadata, &a.ts})
    s->pop_back();  // "{" ... "}" closed below
  auto number = [](std::string& out, auto v) {
    if (out.size() > 1) out += ',';
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  };
  for (const auto& r : rows) {
    if (!r.live || !r.worker.stats.stats_time) continue;
    for (const auto& m : r.metrics) {
      // A value that is not finite has no array (nor JSON) form: no value.
      const bool has_value = m.value && std::isfinite(*m.value);
      const bool has_json = !m.json_value.empty() && json::accept(m.json_value);
      if (!has_value && !has_json) continue;
      number(a.hids, r.worker.id);
      append_array_element(a.names, &m.name);
      if (has_value) {
        number(a.values, *m.value);
      } else {
        append_array_element(a.values, nullptr);
      }
      append_array_element(a.json_values, has_json ? &m.json_value : nullptr);
      const bool has_meta = !m.metadata_json.empty() && json::accept(m.metadata_json);
      append_array_element(a.metadata, has_meta ? &m.metadata_json : nullptr);
      number(a.ts, *r.worker.stats.stats_time);
      ++a.count;
    }
  }
  for (auto* s : {&a.hids, &a.names, &a.values, &a.json_values, &a.metadata, &a.ts})
    *s += '}';
  return a;
}

std::size_t metric_count(const std::vector<WorkerRow>& rows) {
  std::size_t n = 0;
  for (const auto& r : rows) {
    if (r.live && r.worker.stats.stats_time) n += r.metrics.size();
  }
  return n;
}

}  // namespace fleet::hiveos_sync
