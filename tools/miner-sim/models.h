// The hardware models the simulator can impersonate, with the constants the real firmware reports
// for them (GET /api/v1/model, /autotune/presets) and the nominal figures the drifting values
// revolve around. Sources: external-apis.md §1.5 (S19 /model), §1.9 (S19 preset list), DESIGN §5
// (S19j Pro: 3 chains x 126 chips); S19j Pro / S21 constants are plausible values in the same
// shape.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fleet::minersim {

struct PresetSpec {
  std::string name;     // "disabled" or the power target in watts, e.g. "3250"
  int watts = 0;        // 0 for "disabled" (stock)
  double terahash = 0;  // the "~ N TH" in the pretty name
  bool modded_psu_required = false;
};

struct ModelSpec {
  std::string alias;      // model code: "s19", "s19jpro", "s21"
  std::string full_name;  // "Antminer S19j Pro"
  std::string series;     // "x19", "x21"
  std::string platform;   // enum aml|bb|cv|stm|xil
  std::string hardware_version;
  std::string board_model;
  int num_chains = 3;
  int chips_per_chain = 0;
  int chips_per_domain = 0;
  int topology_rows = 0;
  int topology_cols = 0;
  double stock_ghs = 0;     // factory hashrate, GH/s
  int stock_watts = 0;      // at stock settings
  int default_freq = 0;     // MHz
  int default_voltage = 0;  // /model units (10 mV): 1380 = 13.80 V
  int min_freq = 50, max_freq = 0, warn_freq = 0;
  int min_voltage = 0, max_voltage = 0, max_voltage_stock_psu = 0;
  int fans = 4;
  int max_fan_rpm = 6000;
  double chip_temp_base = 60;       // typical chip temperature while mining, °C
  std::vector<PresetSpec> presets;  // in firmware order; presets[0] is "disabled"

  // Chip ids laid out as the board's rows x cols grid, -1 where there is no chip.
  std::vector<std::vector<int>> topology() const;
  const PresetSpec* find_preset(std::string_view name) const;
  // Pretty preset name, e.g. "1100 watt ~ 53 TH" or "Disabled".
  static std::string pretty(const PresetSpec& p);
};

// Every model the simulator knows, in a fixed order.
const std::vector<ModelSpec>& model_catalog();

// Finds a model by alias, case-insensitive; also accepts "s19j_pro"/"s19j-pro" spellings.
// Error (kInvalidArgument) names the unknown alias and the known ones.
Result<const ModelSpec*> find_model(std::string_view alias);

// Parses a comma-separated list such as "s19,s19jpro,s21".
Result<std::vector<const ModelSpec*>> parse_model_list(std::string_view list);

}  // namespace fleet::minersim
