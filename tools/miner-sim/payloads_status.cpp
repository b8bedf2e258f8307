// /info, /model, /status and /summary.
#include <cmath>

#include "json_writer.h"
#include "payloads.h"
#include "rng.h"

namespace fleet::minersim {
namespace {

void write_network_status(JsonWriter& w, const Miner& m) {
  const std::string ip = format_ip(m.ip());
  const std::string gw = format_ip(gateway_for(m.ip()));
  w.key("network_status").begin_object();
  w.field("mac", m.id().mac);
  w.field("dhcp", true);
  w.field("ip", ip);
  w.field("netmask", "255.255.255.0");
  w.field("gateway", gw);
  w.key("dns").begin_array().value(gw).end_array();
  w.field("hostname", m.id().hostname);
  w.end_object();
}

void write_temp_range(JsonWriter& w, std::string_view key, int min, int max) {
  w.key(key).begin_object().field("min", min).field("max", max).end_object();
}

std::string miner_type(const Miner& m) {
  return m.model().full_name + " (Vnish " + m.id().fw_version + ")";
}

std::string ls_time(int64_t seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(seconds / 3600),
                static_cast<long long>(seconds / 60 % 60), static_cast<long long>(seconds % 60));
  return buf;
}

void write_pools(JsonWriter& w, const Miner& m, const Readings& r, bool current) {
  const bool mining = r.state == MinerStateKind::kMining;
  w.key("pools").begin_array();
  if (r.state != MinerStateKind::kFailure) {
    for (int id = 0; id < 2; ++id) {
      const bool active = mining && id == m.active_pool();
      w.begin_object();
      w.field("id", id);
      w.field("url", id == 0 ? "stratum+tcp://btc.pool.example.com:3333"
                             : "stratum+tcp://btc-backup.pool.example.com:443");
      w.field("pool_type", "UserPool");
      w.field("user", "fleetward." + m.id().hostname + std::to_string(m.id().index));
      w.field("status", active ? "active" : mining ? "working" : "offline");
      w.field("asic_boost", true);
      w.field("diff", active ? "262K" : "");
      w.field("accepted", active ? r.accepted : 0);
      w.field("rejected", active ? r.rejected : 0);
      w.field("stale", active ? r.stale : 0);
      w.field_number("ls_diff", active ? 262144.0 : 0.0, 1);
      w.field("ls_time", active ? ls_time(r.since_last_share) : "0");
      w.field_number("diffa", active ? r.diffa : 0.0, 1);
      if (current) w.field("ping", active ? 30 + static_cast<int>(m.id().seed % 40) : 0);
      w.end_object();
    }
  }
  // The firmware's own dev-fee pool is always listed (also in the failure example).
  w.begin_object();
  w.field("id", r.state == MinerStateKind::kFailure ? 0 : 3);
  w.field("url", "DevFee");
  w.field("pool_type", "DevFee");
  w.field("user", "DevFee");
  w.field("status", r.state == MinerStateKind::kFailure ? "working" : "unknown");
  w.field("asic_boost", false);
  w.field("diff", "");
  w.field("accepted", 0);
  w.field("rejected", 0);
  w.field("stale", 0);
  w.field_number("ls_diff", 0.0, 1);
  w.field("ls_time", "0");
  w.field_number("diffa", 0.0, 1);
  if (current) w.field("ping", 0);
  w.end_object();
  w.end_array();
}

void write_cooling(JsonWriter& w, const Readings& r, bool current) {
  const bool failure = r.state == MinerStateKind::kFailure;
  w.key("cooling").begin_object();
  w.field("fan_num", failure ? 0 : static_cast<int>(r.fans.size()));
  w.key("fans").begin_array();
  if (!failure) {
    for (const auto& f : r.fans) {
      w.begin_object().field("id", f.id).field("rpm", f.rpm);
      if (current) w.field("status", f.lost ? "lost" : "ok").field("max_rpm", f.max_rpm);
      w.end_object();
    }
  }
  w.end_array();
  w.key("settings").begin_object().key("mode").begin_object();
  if (current) {
    w.field("name", "auto");
  } else {
    w.field("name", "manual").field("param", 100);
  }
  w.end_object().end_object();
  w.field("fan_duty", failure ? 0 : r.fan_duty);
  w.end_object();
}

void write_chain_legacy(JsonWriter& w, const ChainReading& c) {
  w.begin_object();
  w.field("id", c.id);
  w.field_number("frequency", c.freq, 1);
  w.field("voltage", c.voltage);
  w.field("power_usage", c.power);
  w.field_number("hashrate_ideal", c.hr_ideal, 2);
  w.field_number("hashrate_rt", c.hr_rt, 3);
  w.field_number("hashrate_percentage", c.hr_percentage, 2);
  w.field("hw_errors", c.hw_errors);
  w.key("pcb_temp_sens").begin_array();
  for (const auto& s : c.sensors) {
    w.begin_object()
        .field("status", s.ok ? "measure" : "error")
        .field("temp", s.board)
        .end_object();
  }
  w.end_array();
  w.key("chip_temp_sens").begin_array();
  for (const auto& s : c.sensors) {
    w.begin_object().field("status", s.ok ? "measure" : "error").field("temp", s.chip).end_object();
  }
  w.end_array();
  write_temp_range(w, "chip_temp", c.chip_min, c.chip_max);
  w.key("chip_statuses").begin_object();
  w.field("red", c.red).field("orange", c.orange).field("grey", c.grey);
  w.end_object();
  w.key("status").begin_object();
  w.field("state", to_string(c.state)).field("description", c.description);
  w.end_object();
  w.end_object();
}

void write_chain_current(JsonWriter& w, const ChainReading& c) {
  w.begin_object();
  w.field("id", c.id);
  w.field_number("frequency", c.freq, 1);
  w.field("voltage", c.voltage);
  w.field("power_consumption", c.power);
  w.field_number("hashrate_ideal", c.hr_ideal, 2);
  w.field_number("hashrate_rt", c.hr_rt, 3);
  w.field_number("hashrate_percentage", c.hr_percentage, 2);
  w.field_number("hr_error", c.hr_error, 2);
  w.field("hw_errors", c.hw_errors);
  write_temp_range(w, "pcb_temp", c.pcb_min, c.pcb_max);
  write_temp_range(w, "chip_temp", c.chip_min, c.chip_max);
  w.key("chip_statuses").begin_object();
  w.field("red", c.red).field("orange", c.orange).field("grey", c.grey);
  w.end_object();
  w.key("status").begin_object().field("state", to_string(c.state));
  if (!c.description.empty()) w.field("description", c.description);
  w.end_object();
  w.end_object();
}

constexpr std::string_view kFailureText = "Failed to parse miner configuration";
constexpr int kFailureCode = 1002;

void write_miner_status(JsonWriter& w, const Readings& r) {
  w.key("miner_status").begin_object();
  w.field("miner_state", to_string(r.state));
  w.field("miner_state_time", r.state_seconds);
  if (r.state == MinerStateKind::kFailure) {
    w.field("description", kFailureText).field("failure_code", kFailureCode);
  }
  w.end_object();
}

}  // namespace

void write_info(std::string& out, Miner& m, Now now) {
  const auto& id = m.id();
  const auto& model = m.model();
  const bool legacy = id.style == FirmwareStyle::kLegacy;
  JsonWriter w(out);
  w.begin_object();
  w.field("miner", model.full_name);
  w.field("model", model.alias);
  w.field("fw_name", "Vnish");
  w.field("fw_version", id.fw_version);
  w.field("build_uuid", id.build_uuid);
  w.field("build_name", "vnishnet");
  w.field("platform", model.platform);
  w.field("install_type", "nand");
  w.field("build_time", id.build_time);
  w.field("algorithm", "sha256d");
  w.field("hr_measure", "GH/s");
  w.key("system").begin_object();
  w.field("os", "GNU/Linux");
  w.field("miner_name", legacy ? std::string("Antminer") : model.alias);
  w.field("file_system_version", "");
  const int mem_total = 233712;
  const int mem_free = 150000 + static_cast<int>(id.seed % 30000);
  w.field("mem_total", mem_total);
  w.field("mem_free", mem_free);
  w.field("mem_free_percent", mem_free * 100 / mem_total);
  w.field("mem_buf", 31928);
  w.field("mem_buf_percent", 31928 * 100 / mem_total);
  write_network_status(w, m);
  w.field("uptime", format_uptime(m.uptime_seconds(now)));
  w.end_object();
  w.field("serial", legacy ? std::string("N/A") : id.serial);
  w.end_object();
}

void write_model(std::string& out, const Miner& m) {
  const auto& model = m.model();
  JsonWriter w(out);
  w.begin_object();
  w.field("full_name", model.full_name);
  w.field("model", model.alias);
  w.field("algorithm", "sha256d");
  w.field("series", model.series);
  w.field("platform", model.platform);
  w.field("install_type", "nand");
  w.field("hr_measure", "GH/s");
  w.field("serial", m.id().style == FirmwareStyle::kLegacy ? std::string("N/A") : m.id().serial);
  w.key("chain").begin_object();
  w.field("chips_per_chain", model.chips_per_chain);
  w.field("chips_per_domain", model.chips_per_domain);
  w.field("num_chains", model.num_chains);
  w.key("topology").begin_object().key("chips").begin_array();
  for (const auto& row : model.topology()) {
    w.begin_array();
    for (int c : row)
      w.value(c);
    w.end_array();
  }
  w.end_array();
  w.field("num_cols", model.topology_cols).field("num_rows", model.topology_rows);
  w.end_object().end_object();
  w.key("cooling").begin_object();
  w.field("min_fan_pwm", 10).field("min_target_temp", 20).field("max_target_temp", 90);
  w.key("fan_min_count").begin_object();
  w.field("min", 1).field("max", model.fans).field("default", model.fans);
  w.end_object().end_object();
  w.key("overclock").begin_object();
  w.field("max_voltage", model.max_voltage);
  w.field("min_voltage", model.min_voltage);
  w.field("default_voltage", model.default_voltage);
  w.field("max_freq", model.max_freq);
  w.field("min_freq", model.min_freq);
  w.field("default_freq", model.default_freq);
  w.field("warn_freq", model.warn_freq);
  w.field("max_voltage_stock_psu", model.max_voltage_stock_psu);
  w.end_object();
  w.end_object();
}

void write_status(std::string& out, Miner& m, Now now, bool unlocked) {
  const MinerStateKind state = m.state(now);
  JsonWriter w(out);
  w.begin_object();
  w.field("miner_state", to_string(state));
  w.field("miner_state_time", m.state_seconds(now));
  if (state == MinerStateKind::kFailure) {
    w.field("description", kFailureText).field("failure_code", kFailureCode);
  }
  w.field("find_miner", m.find_miner());
  w.field("restart_required", false);
  w.field("reboot_required", false);
  w.field("unlocked", unlocked);
  if (m.id().style == FirmwareStyle::kCurrent) w.field("warranty", "not_provided");
  w.end_object();
}

void write_summary(std::string& out, const Miner& m, const Readings& r) {
  const bool current = m.id().style == FirmwareStyle::kCurrent;
  const bool failure = r.state == MinerStateKind::kFailure;
  JsonWriter w(out);
  w.begin_object();
  if (!current) {
    // 1.2.0-beta10 put the system block into /summary as well.
    w.key("system").begin_object();
    w.field("os", "GNU/Linux");
    w.field("miner_name", "Antminer");
    write_network_status(w, m);
    w.field("uptime", format_uptime(r.uptime_seconds));
    w.end_object();
  }
  if (r.no_miner) {
    // What the firmware answers while it failed to start mining (Summary.miner is nullable);
    // GET /status tells why.
    w.field_null("miner");
    w.end_object();
    return;
  }
  w.key("miner").begin_object();
  write_miner_status(w, r);
  w.field("miner_type", miner_type(m));
  const double hr_avg = failure ? 0 : r.hr_average;
  const double hr_rt = failure ? 0 : r.hr_realtime;
  if (current) {
    w.field_number("hr_stock", failure ? 0 : r.hr_stock, 1);
    // Deprecated duplicates, still required by the schema, in TH/s.
    w.field_number("average_hashrate", hr_avg / 1000.0, 5);
    w.field_number("instant_hashrate", hr_rt / 1000.0, 5);
    w.field_number("hr_realtime", hr_rt, 2);
    w.field_number("hr_nominal", failure ? 0 : r.hr_nominal, 1);
    w.field_number("hr_average", hr_avg, 2);
    write_temp_range(w, "pcb_temp", r.pcb_min, r.pcb_max);
    write_temp_range(w, "chip_temp", r.chip_min, r.chip_max);
    w.field("power_consumption", failure ? 0 : r.power);
    w.field("power_usage", failure ? 0 : r.power);
    w.field_number("power_efficiency", failure ? 0 : r.efficiency, 6);
    w.field_number("hw_errors_percent", failure ? 0 : r.hw_errors_percent, 2);
    w.field_number("hr_error", failure ? 0 : r.hr_error, 2);
    w.field("hw_errors", failure ? 0 : r.hw_errors);
    w.field_number("devfee_percent", 0.0, 1);
    w.field_number("devfee", 0.0, 1);
  } else {
    w.field("hardware_version", m.model().hardware_version);
    w.field("cgminer_version", "4.11.1");
    w.field("compile_time", "Mon Apr 17 08:08:58 UTC 2023");
    w.field_number("average_hashrate", hr_avg / 1000.0, 4);
    w.field_number("instant_hashrate", hr_rt / 1000.0, 5);
    write_temp_range(w, "pcb_temp", r.pcb_min, r.pcb_max);
    write_temp_range(w, "chip_temp", r.chip_min, r.chip_max);
    w.field_number("power_usage", failure ? 0 : r.power, 0);
    w.field_number("power_efficiency", failure ? 0 : r.efficiency, 6);
    w.field_number("hw_errors_percent", failure ? 0 : r.hw_errors_percent, 1);
    w.field("hw_errors", failure ? 0 : r.hw_errors);
    w.field_number("devfee_percent", 0.0, 1);
    w.field_number("devfee", 0.0, 1);
  }
  write_pools(w, m, r, current);
  write_cooling(w, r, current);
  w.key("chains").begin_array();
  for (const auto& c : r.chains) {
    if (current) {
      write_chain_current(w, c);
    } else {
      write_chain_legacy(w, c);
    }
  }
  w.end_array();
  w.field("found_blocks", 0);
  w.field("best_share", r.best_share);
  w.end_object();
  w.end_object();
}

}  // namespace fleet::minersim
