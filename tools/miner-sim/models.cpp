#include "models.h"

#include <cmath>

#include "core/strings.h"

namespace fleet::minersim {
namespace {

std::vector<PresetSpec> presets_of(std::initializer_list<std::pair<int, double>> rows,
                                   int modded_psu_from_watts) {
  std::vector<PresetSpec> out;
  out.push_back({.name = "disabled"});
  for (const auto& [watts, th] : rows) {
    out.push_back({.name = std::to_string(watts),
                   .watts = watts,
                   .terahash = th,
                   .modded_psu_required = watts >= modded_psu_from_watts});
  }
  return out;
}

std::vector<ModelSpec> build_catalog() {
  std::vector<ModelSpec> c;
  c.push_back({.alias = "s19",
               .full_name = "Antminer S19",
               .series = "x19",
               .platform = "xil",
               .hardware_version = "49.0.1.3",
               .board_model = "BHB42601",
               .chips_per_chain = 76,
               .chips_per_domain = 2,
               .topology_rows = 10,
               .topology_cols = 8,
               .stock_ghs = 95000,
               .stock_watts = 3250,
               .default_freq = 675,
               .default_voltage = 1380,
               .max_freq = 1000,
               .warn_freq = 850,
               .min_voltage = 1200,
               .max_voltage = 1535,
               .max_voltage_stock_psu = 1500,
               .max_fan_rpm = 6000,
               .chip_temp_base = 62,
               // The real S19 list on Vnish 1.2.6 (external-apis.md §1.9).
               .presets = presets_of({{1100, 53},
                                      {1300, 58},
                                      {1500, 63},
                                      {1700, 68},
                                      {1900, 73},
                                      {2100, 78},
                                      {2350, 85},
                                      {2620, 91},
                                      {2950, 99},
                                      {3200, 102},
                                      {3350, 105},
                                      {3750, 110},
                                      {4000, 115},
                                      {4260, 120},
                                      {4690, 124}},
                                     4000)});
  c.push_back({.alias = "s19jpro",
               .full_name = "Antminer S19j Pro",
               .series = "x19",
               .platform = "xil",
               .hardware_version = "51.0.1.3",
               .board_model = "BHB42831",
               .chips_per_chain = 126,
               .chips_per_domain = 3,
               .topology_rows = 21,
               .topology_cols = 6,
               .stock_ghs = 104000,
               .stock_watts = 3068,
               .default_freq = 525,
               .default_voltage = 1360,
               .max_freq = 800,
               .warn_freq = 650,
               .min_voltage = 1200,
               .max_voltage = 1500,
               .max_voltage_stock_psu = 1450,
               .max_fan_rpm = 6000,
               .chip_temp_base = 60,
               .presets = presets_of({{1200, 50},
                                      {1500, 60},
                                      {1800, 70},
                                      {2100, 80},
                                      {2400, 88},
                                      {2700, 96},
                                      {3000, 104},
                                      {3300, 110},
                                      {3600, 116},
                                      {3900, 122}},
                                     3600)});
  c.push_back({.alias = "s21",
               .full_name = "Antminer S21",
               .series = "x21",
               .platform = "cv",
               .hardware_version = "60.0.1.2",
               .board_model = "BHB68601",
               .chips_per_chain = 108,
               .chips_per_domain = 3,
               .topology_rows = 12,
               .topology_cols = 9,
               .stock_ghs = 200000,
               .stock_watts = 3500,
               .default_freq = 490,
               .default_voltage = 1320,
               .max_freq = 700,
               .warn_freq = 600,
               .min_voltage = 1150,
               .max_voltage = 1450,
               .max_voltage_stock_psu = 1400,
               .max_fan_rpm = 6600,
               .chip_temp_base = 64,
               .presets = presets_of({{1800, 120},
                                      {2200, 140},
                                      {2600, 158},
                                      {3000, 175},
                                      {3500, 200},
                                      {4000, 218},
                                      {4500, 235}},
                                     4000)});
  return c;
}

}  // namespace

std::vector<std::vector<int>> ModelSpec::topology() const {
  if (alias == "s19") {
    // The S19 board layout as the firmware reports it (external-apis.md §1.5).
    return {{16, 17, 18, 19, 56, 57, 58, 59}, {15, 14, 21, 20, 55, 54, 61, 60},
            {12, 13, 22, 23, 52, 53, 62, 63}, {11, 10, 25, 24, 51, 50, 65, 64},
            {8, 9, 26, 27, 48, 49, 66, 67},   {7, 6, 29, 28, 47, 46, 69, 68},
            {4, 5, 30, 31, 44, 45, 70, 71},   {3, 2, 33, 32, 43, 42, 73, 72},
            {0, 1, 34, 35, 40, 41, 74, 75},   {-1, -1, 37, 36, 39, 38, -1, -1}};
  }
  // Serpentine: down the first column, up the next, ...
  std::vector<std::vector<int>> grid(topology_rows, std::vector<int>(topology_cols, -1));
  int id = 0;
  for (int col = 0; col < topology_cols; ++col) {
    for (int k = 0; k < topology_rows; ++k) {
      const int row = (col % 2 == 0) ? k : topology_rows - 1 - k;
      grid[row][col] = id < chips_per_chain ? id : -1;
      ++id;
    }
  }
  return grid;
}

const PresetSpec* ModelSpec::find_preset(std::string_view name) const {
  for (const auto& p : presets) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string ModelSpec::pretty(const PresetSpec& p) {
  if (p.watts == 0) return "Disabled";
  return std::to_string(p.watts) + " watt ~ " + std::to_string(std::lround(p.terahash)) + " TH";
}

const std::vector<ModelSpec>& model_catalog() {
  static const std::vector<ModelSpec> catalog = build_catalog();
  return catalog;
}

Result<const ModelSpec*> find_model(std::string_view alias) {
  std::string key;
  for (const char ch : to_lower(trim(alias))) {
    if (ch != '_' && ch != '-' && ch != ' ') key.push_back(ch);
  }
  std::vector<std::string> known;
  for (const auto& m : model_catalog()) {
    if (m.alias == key) return &m;
    known.push_back(m.alias);
  }
  return Error::invalid("unknown model '" + std::string(alias) + "' (known: " + join(known, ", ") +
                        ")");
}

Result<std::vector<const ModelSpec*>> parse_model_list(std::string_view list) {
  std::vector<const ModelSpec*> out;
  for (const auto& part : split(list, ',')) {
    if (trim(part).empty()) continue;
    auto m = find_model(part);
    if (!m.ok()) return m.error();
    out.push_back(*m);
  }
  if (out.empty()) return Error::invalid("--models: empty list");
  return out;
}

}  // namespace fleet::minersim
