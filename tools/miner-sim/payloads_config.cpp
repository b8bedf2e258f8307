// /chains, /chips, /chains/factory-info, /autotune/presets, /perf-summary, /settings, the web UI
// page and the logs.
#include <cmath>

#include "json_writer.h"
#include "payloads.h"
#include "rng.h"

namespace fleet::minersim {
namespace {

std::string board_serial(const Miner& m, int chain) {
  static constexpr char kChars[] = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
  std::string s = "JYZZ";
  uint64_t h = hash_keys(m.id().seed, 0x5e71a1, chain);
  for (int i = 0; i < 13; ++i) {
    s += kChars[h % 34];
    h = mix64(h);
  }
  return s;
}

void write_preset_switcher(JsonWriter& w) {
  w.key("preset_switcher").begin_object();
  w.field("enabled", false);
  w.field_null("top_preset");
  w.field("decrease_temp", 75);
  w.field("rise_temp", 55);
  w.field("check_time", 300);
  w.field("autochange_top_preset", false);
  w.field("ignore_fan_speed", false);
  w.field_null("min_preset");
  w.field("power_delta", 0);
  w.end_object();
}

void write_tune_settings(JsonWriter& w, const Miner& m, const PresetSpec& p, bool modified) {
  const auto& model = m.model();
  const double ratio = p.watts == 0 ? 1.0 : p.terahash * 1000.0 / model.stock_ghs;
  const int freq = static_cast<int>(std::lround(model.default_freq * ratio));
  w.key("tune_settings").begin_object();
  w.field("hashrate", p.watts == 0 ? 0 : static_cast<int>(std::lround(p.terahash * 1000.0)));
  w.field(
      "volt",
      static_cast<int>(std::lround(model.default_voltage * 10 * (0.92 + 0.08 * ratio) / 10)) * 10);
  w.field("freq", p.watts == 0 ? model.default_freq : freq);
  w.key("chains").begin_array();
  for (int c = 0; c < model.num_chains; ++c) {
    w.begin_object();
    w.field("freq", p.watts == 0 ? 0 : freq);
    w.key("chips").begin_array();
    for (int k = 0; k < model.chips_per_chain; ++k) {
      if (p.watts == 0) {
        w.value(0);
      } else {
        // Autotuning leaves every chip at its own frequency around the chain's.
        const double jitter = 0.06 * (unit_interval(hash_keys(m.id().seed, 0x7e5, c, k)) - 0.5);
        w.value(static_cast<int>(std::lround(freq * (1.0 + jitter) / 5.0)) * 5);
      }
    }
    w.end_array();
    if (p.watts != 0) w.field("serial", board_serial(m, c));
    w.end_object();
  }
  w.end_array();
  w.field("modified", modified);
  w.end_object();
}

}  // namespace

bool preset_tuned(const Miner& m, size_t index) {
  const auto& presets = m.model().presets;
  if (index == 0 || index >= presets.size()) return false;
  if (&presets[index] == &m.preset()) return true;  // the running preset has been tuned
  const double share = static_cast<double>(presets[index].watts) / m.model().stock_watts;
  if (share < 0.55 || share > 1.1) return false;
  return unit_interval(hash_keys(m.id().seed, 0x7ed, index)) < 0.75;
}

void write_chains(std::string& out, const Miner& m, const Readings& r) {
  JsonWriter w(out);
  w.begin_array();
  for (const auto& c : r.chains) {
    w.begin_object();
    w.field("id", c.id);
    w.key("status").begin_object().field("state", to_string(c.state));
    if (c.description.empty()) {
      w.field_null("failure_message");
    } else {
      w.field("failure_message", c.description);
    }
    w.end_object();
    w.field_number("hr_realtime", c.hr_rt, 2);
    w.field_number("hr_nominal", c.hr_ideal, 2);
    w.field_number("freq", c.freq, 1);
    w.key("sensors").begin_array();
    for (const auto& s : c.sensors) {
      w.begin_object();
      w.field("state", s.ok ? "measure" : "error");
      w.field("board", s.board).field("chip", s.chip).field("loc", s.loc);
      w.end_object();
    }
    w.end_array();
    w.key("chips").begin_array();
    for (const auto& chip : c.chips) {
      w.begin_object();
      w.field("id", chip.id);
      w.field_number("hr", chip.hr, 2);
      w.field("freq", chip.freq);
      w.field("volt", chip.volt);
      w.field_number("temp", chip.temp, 2);
      w.field("errs", chip.errs);
      w.field("grade", to_string(chip.grade));
      w.field("throttled", chip.throttled);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  (void)m;
}

void write_chips(std::string& out, const Miner& m, const Readings& r) {
  JsonWriter w(out);
  w.begin_object();
  w.field("chips_per_chain", m.model().chips_per_chain);
  w.key("chains").begin_array();
  for (const auto& c : r.chains) {
    w.begin_object().field("id", c.id).key("chips").begin_array();
    for (const auto& chip : c.chips) {
      w.begin_object();
      w.field("id", chip.id);
      w.field("status", to_string(chip.grade));
      w.field_number("hashrate", chip.hr, 2);
      w.field("freq", chip.freq);
      w.field_number("temp", chip.temp, 2);
      w.field("errors", chip.errs);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array();
  w.end_object();
}

void write_factory_info(std::string& out, const Miner& m) {
  const auto& model = m.model();
  JsonWriter w(out);
  w.begin_object();
  w.field_number("hr_stock", model.stock_ghs, 1);
  w.field("has_pics", true);
  w.field("psu_model", "APW12_1215c");
  w.field("psu_serial", "NBE" + board_serial(m, 9).substr(4, 11));
  w.key("chains").begin_array();
  for (int c = 0; c < model.num_chains; ++c) {
    w.begin_object();
    w.field("id", c + 1);
    w.field("board_model", model.board_model);
    w.field("serial", board_serial(m, c));
    w.field("chip_bin", 1 + static_cast<int>(hash_keys(m.id().seed, 0xb1, c) % 3));
    w.field("freq", model.default_freq);
    w.field("volt", model.default_voltage * 10);
    w.field_number("hashrate", model.stock_ghs / model.num_chains, 2);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_presets(std::string& out, const Miner& m) {
  const auto& presets = m.model().presets;
  JsonWriter w(out);
  const bool wrapped = m.id().presets_shape == PresetsShape::kWrapped;
  if (wrapped) w.begin_object().key("presets");
  w.begin_array();
  for (size_t i = 0; i < presets.size(); ++i) {
    const auto& p = presets[i];
    const bool tuned = preset_tuned(m, i);
    w.begin_object();
    w.field("name", p.name);
    w.field("pretty", ModelSpec::pretty(p));
    w.field("status", tuned ? "tuned" : "untuned");
    w.field("modded_psu_required", p.modded_psu_required);
    // The real list carries tune_settings on "disabled" and on tuned presets only.
    if (i == 0 || tuned) write_tune_settings(w, m, p, i == 0);
    w.end_object();
  }
  w.end_array();
  if (wrapped) w.end_object();
}

void write_perf_summary(std::string& out, const Miner& m) {
  const auto& p = m.preset();
  const auto& model = m.model();
  JsonWriter w(out);
  w.begin_object();
  w.key("current_preset").begin_object();
  w.field("name", p.name);
  w.field("pretty", ModelSpec::pretty(p));
  size_t index = 0;
  while (index < model.presets.size() && &model.presets[index] != &p)
    ++index;
  w.field("status", preset_tuned(m, index) ? "tuned" : "untuned");
  w.field("modded_psu_required", p.modded_psu_required);
  if (p.watts == 0) {
    // "Globals passed here when preset is disabled".
    w.key("globals").begin_object();
    w.field("volt", model.default_voltage).field("freq", model.default_freq);
    w.end_object();
  } else {
    w.field_null("globals");
  }
  w.end_object();
  write_preset_switcher(w);
  w.end_object();
}

void write_settings(std::string& out, const Miner& m) {
  const auto& model = m.model();
  const std::string ip = format_ip(m.ip());
  const std::string gw = format_ip(gateway_for(m.ip()));
  JsonWriter w(out);
  w.begin_object();
  w.key("miner").begin_object();
  w.key("cooling").begin_object();
  w.field("fan_min_count", model.fans).field("fan_min_duty", 10);
  w.key("mode").begin_object().field("name", "auto").field("param", 75).end_object();
  w.end_object();
  w.key("misc").begin_object();
  w.field("asic_boost", true);
  w.field("auto_chip_throttling", true);
  w.field("quiet_mode", m.quiet_mode);
  w.field("downscale_preset_on_failure", false);
  w.field("remain_stopped_on_reboot", false);
  w.field("restart_hashrate", 0);
  w.field("restart_temp", 95);
  w.field("max_restart_attempts", 3);
  w.end_object();
  w.key("overclock").begin_object();
  w.key("chains").begin_array();
  for (int c = 0; c < model.num_chains; ++c) {
    w.begin_object().field("freq", 0).field_null("chips").field("disabled", false).end_object();
  }
  w.end_array();
  w.key("globals").begin_object();
  w.field("volt", model.default_voltage).field("freq", model.default_freq);
  w.end_object();
  w.field("modded_psu", false);
  w.field("preset", m.preset().name);
  write_preset_switcher(w);
  w.end_object();
  w.key("pools").begin_array();
  for (int id = 0; id < 2; ++id) {
    w.begin_object();
    w.field("url", id == 0 ? "stratum+tcp://btc.pool.example.com:3333"
                           : "stratum+tcp://btc-backup.pool.example.com:443");
    w.field("user", "fleetward." + m.id().hostname + std::to_string(m.id().index));
    w.field("pass", "x");
    w.end_object();
  }
  w.end_array();
  w.end_object();  // miner
  w.key("network").begin_object();
  w.field("hostname", m.id().hostname);
  w.field("dhcp", true);
  w.field("ipaddress", ip);
  w.field("netmask", "255.255.255.0");
  w.field("gateway", gw);
  w.key("dnsservers").begin_array().value(gw).end_array();
  w.end_object();
  w.field_null("password");
  w.key("regional").begin_object().key("timezone").begin_object();
  w.field("current", "GMT");
  w.end_object().end_object();
  w.key("ui").begin_object();
  w.field("dark_side_pane", false).field("disable_animation", false);
  w.field("locale", "en").field("theme", "dark").field("timezone", "GMT");
  w.end_object();
  w.field_null("layout");
  w.end_object();
}

std::string web_page(const Miner& m) {
  return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>AnthillOS - " +
         m.model().full_name +
         "</title></head><body><div id=\"app\">AnthillOS</div>"
         "<script src=\"/assets/index.js\"></script></body></html>\n";
}

std::string log_text(const Miner& m, std::string_view type, Now now) {
  const std::string name = m.model().full_name + " (" + m.id().fw_version + ")";
  const int64_t up = m.uptime_seconds(now);
  std::string out;
  if (type == "status") {
    out += "INFO: Initializing [" + name + "]\nINFO: Mining started\n";
  } else if (type == "miner") {
    out += "INFO: Detected 256 Mb of RAM\nINFO: Starting FPGA queue\nINFO: Initializing PSU\n";
    for (int c = 1; c <= m.model().num_chains; ++c) {
      out += "INFO: chain#" + std::to_string(c) +
             (m.chain_failing(c) ? " - failure\n" : " - connected\n");
    }
  } else if (type == "system") {
    out += "Booting Linux on physical CPU 0x0\nuptime " + std::to_string(up) + " s\n";
  } else {
    out += "";  // autotune, messages, api: nothing logged yet
  }
  return out;
}

}  // namespace fleet::minersim
