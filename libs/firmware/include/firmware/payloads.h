// Typed views of the Vnish firmware payloads (xminer-api, /api/v1; see
// ../shared/reference/external-apis.md §1 and vnish-openapi.json).
//
// Units are normalised and carried in the field names: miner and chain hashrates in TH/s, chip
// hashrates in the firmware's own measure (GH/s for SHA-256, MH/s for scrypt: see
// InfoPayload::hr_measure), power in W, efficiency in J/TH, voltages in mV, temperatures in °C,
// frequencies in MHz. A value the firmware did not send, or sent with the wrong type or out of
// range, is std::nullopt — never 0 or -1 (Abseil tip #171).
//
// Plain structs, no behaviour beyond small derived values: the mappers that fill them are in
// firmware/parse.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fleet::firmware {

// GET /info (no auth): identifies the firmware and the unit.
struct InfoPayload {
  std::string fw_name;     // "Vnish" on the firmware we manage
  std::string fw_version;  // "1.2.6", "1.2.0-beta10"
  std::string miner;       // pretty name, "Antminer S19j Pro"
  std::string model;       // model alias, "s19jpro" (lower-cased)
  std::string hr_measure;  // "GH/s" or "MH/s" ("" = not sent; GH/s is assumed)
  std::string platform;    // aml|bb|cv|stm|xil
  std::string serial;
  std::string build_name;
  // From system.network_status (system may be null).
  std::optional<std::string> mac;  // lower-case "fe:07:26:3c:be:1b"; nullopt when absent/invalid
  std::optional<std::string> ip;
  std::optional<std::string> hostname;
  std::optional<std::string> uptime;  // free text, "9 days,  3:58"

  // True when fw_name is "Vnish" (case-insensitive): the only firmware this library manages.
  bool is_vnish() const;
};

// GET /model (no auth; absent on some firmware: 404).
struct ModelPayload {
  std::string alias;      // "s19jpro" (lower-cased)
  std::string full_name;  // "Antminer S19j Pro"
  std::string algorithm;  // "sha256d"
  std::string series;     // "x19"
  std::string hr_measure;
  std::optional<int> chips_per_chain;
  std::optional<int> num_chains;
};

// One entry of GET /autotune/presets.
struct Preset {
  std::string name;    // the id used to switch ("3250", "disabled")
  std::string pretty;  // "1100 watt ~ 53 TH"
  bool tuned = false;  // status == "tuned"
  bool modded_psu_required = false;
  // Parsed from `pretty` as pyasic does ("<power> watt ~ <hashrate> TH"); nullopt when absent.
  std::optional<double> power_w;
  std::optional<double> hashrate_ths;
};

struct TempRange {
  std::optional<double> min;
  std::optional<double> max;
};

struct FanReading {
  int id = 0;
  std::optional<int> rpm;
  std::optional<int> max_rpm;  // newer firmware only
  std::string status;          // "ok" | "lost" | "" (older firmware)
};

struct PoolReading {
  int id = 0;
  std::string url;
  std::string user;
  std::string pool_type;  // UserPool | DevFee | Refund
  std::string status;     // offline|working|disabled|active|rejecting|unknown
  std::optional<std::int64_t> accepted;
  std::optional<std::int64_t> rejected;
  std::optional<std::int64_t> stale;
};

// One hash board as /summary reports it.
struct ChainSummary {
  int id = 0;
  std::string state;        // initializing|mining|stopped|failure|disconnected|disabled|unknown
  std::string description;  // failure text, if any
  std::optional<double> frequency_mhz;
  std::optional<double> voltage_mv;
  std::optional<double> power_w;
  std::optional<double> hashrate_ths;        // hashrate_rt
  std::optional<double> hashrate_ideal_ths;  // hashrate_ideal
  std::optional<double> hashrate_percentage;
  std::optional<std::int64_t> hw_errors;
  TempRange pcb_temp;
  TempRange chip_temp;
  std::optional<int> chips_red;
  std::optional<int> chips_orange;
  std::optional<int> chips_grey;
};

// GET /summary (x-api-key): the status loop's payload.
struct SummaryPayload {
  // `miner` is null while the firmware has no miner data (schema: Summary.miner nullable); the
  // state fields below are then empty and the vectors empty.
  bool has_miner = false;
  std::string miner_state;  // mining|initializing|starting|auto-tuning|restarting|shutting-down|
                            // stopped|failure
  std::optional<std::int64_t> miner_state_time_s;
  std::string state_description;               // set when miner_state is failure
  std::optional<int> failure_code;             // from GET /status when the miner is in failure
  std::string miner_type;                      // "Antminer S19 (Vnish 1.2.0-beta10)"
  std::optional<double> hashrate_ths;          // realtime (hr_realtime, else instant_hashrate)
  std::optional<double> hashrate_avg_ths;      // hr_average, else average_hashrate
  std::optional<double> hashrate_nominal_ths;  // hr_nominal, else the sum of chain ideals
  std::optional<double> hashrate_stock_ths;    // hr_stock (newer firmware)
  std::optional<double> power_w;               // power_consumption, else power_usage
  std::optional<double> efficiency_jth;        // power_efficiency, else power / hashrate
  TempRange pcb_temp;
  TempRange chip_temp;
  std::optional<std::int64_t> hw_errors;
  std::optional<double> hw_errors_percent;
  std::optional<int> fan_duty;
  std::vector<FanReading> fans;
  std::vector<ChainSummary> chains;
  std::vector<PoolReading> pools;
  // From system (optional in older payloads).
  std::optional<std::string> mac;
  std::optional<std::string> ip;
  std::optional<std::string> uptime;

  // Derived values for rules.
  std::optional<double> hashrate_ratio() const;  // realtime / nominal
  std::optional<int> fan_rpm_min() const;        // lowest rpm of fans that report one
  std::optional<int> chips_red() const;          // sum over chains that report it
  std::optional<int> chips_orange() const;
  std::optional<int> chips_grey() const;
  // The user pool that is mining (status active/working), else the first user pool; null if none.
  const PoolReading* active_pool() const;
};

enum class ChipGrade : std::uint8_t { kGrey = 0, kOrange = 1, kRed = 2 };

struct ChipSample {
  int id = 0;
  std::optional<double> hr;  // in the miner's hr_measure (GH/s on SHA-256)
  std::optional<int> freq_mhz;
  std::optional<int> volt_mv;
  std::optional<double> temp_c;
  std::optional<std::int64_t> errs;
  ChipGrade grade = ChipGrade::kGrey;
  bool throttled = false;
};

// One chain of GET /chains (no auth): chip-level telemetry.
struct ChainChips {
  int id = 0;
  std::string state;  // as ChainSummary::state
  std::string failure_message;
  std::optional<double> hr_realtime;  // in hr_measure units, as the chips
  std::optional<double> hr_nominal;
  std::optional<double> freq_mhz;
  std::vector<ChipSample> chips;
};

struct ChainsPayload {
  std::vector<ChainChips> chains;  // [] when chains are not detected or the miner is in failure
};

// GET /status (no auth).
struct StatusPane {
  std::string miner_state;
  std::optional<std::int64_t> miner_state_time_s;
  std::string description;
  std::optional<int> failure_code;  // seen on real units, not in the spec
  bool find_miner = false;
  bool unlocked = false;
  bool restart_required = false;
  bool reboot_required = false;
};

// GET /perf-summary (no auth).
struct PerfSummary {
  std::optional<Preset> current_preset;  // null when autotuning is disabled
  bool switcher_enabled = false;
  std::string switcher_top_preset;
  std::string switcher_min_preset;
};

struct ApiKeyEntry {
  std::string key;  // 32 characters
  std::string description;
};

// POST /settings answer. The firmware may answer {false,false} even when nothing changed, so a
// preset switch is verified by reading GET /settings back.
struct SaveConfigResult {
  bool restart_required = false;
  bool reboot_required = false;
};

// GET /settings, reduced to what the fleet reads.
struct SettingsView {
  std::string preset;  // miner.overclock.preset ("" when unset)
};

}  // namespace fleet::firmware
