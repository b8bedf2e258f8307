// What a miner measures at a given moment: hashrates, temperatures, fans, power, chip grades and
// pool counters, drifting realistically around the model's nominal figures. Every payload of a
// miner (summary, chains, status) is rendered from one `Readings` so they agree with each other.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "miner.h"

namespace fleet::minersim {

// The firmware's ChainState enum.
enum class ChainStateKind { kInitializing, kMining, kStopped, kFailure };
std::string_view to_string(ChainStateKind s);

// The firmware's ChipGrade enum.
enum class ChipGrade { kGrey, kOrange, kRed };
std::string_view to_string(ChipGrade g);

struct ChipReading {
  int id = 0;
  double hr = 0;  // GH/s
  int freq = 0;   // MHz
  int volt = 0;   // mV
  double temp = 0;
  int errs = 0;
  ChipGrade grade = ChipGrade::kGrey;
  bool throttled = false;
};

struct SensorReading {
  int loc = 0;  // the chip id the sensor sits at
  int board = 0;
  int chip = 0;
  bool ok = true;  // "measure"; false -> "error"
};

struct ChainReading {
  int id = 1;
  ChainStateKind state = ChainStateKind::kMining;
  std::string description;                                          // failure text, "" otherwise
  double freq = 0;                                                  // MHz
  int voltage = 0;                                                  // mV
  int power = 0;                                                    // W
  double hr_ideal = 0, hr_rt = 0, hr_percentage = 0, hr_error = 0;  // GH/s, %
  int hw_errors = 0;
  int pcb_min = 0, pcb_max = 0, chip_min = 0, chip_max = 0;
  int red = 0, orange = 0, grey = 0;
  std::array<SensorReading, 4> sensors{};
  std::vector<ChipReading> chips;
};

struct FanReading {
  int id = 0;
  int rpm = 0;
  int max_rpm = 0;
  bool lost = false;
};

struct Readings {
  MinerStateKind state = MinerStateKind::kMining;
  int64_t state_seconds = 0;
  int64_t uptime_seconds = 0;
  double hr_stock = 0, hr_nominal = 0, hr_realtime = 0, hr_average = 0, hr_error = 0;  // GH/s
  int power = 0;                                                                       // W
  double efficiency = 0;                                                               // J/TH
  int hw_errors = 0;
  double hw_errors_percent = 0;
  int pcb_min = 0, pcb_max = 0, chip_min = 0, chip_max = 0;
  int fan_duty = 0;
  std::vector<FanReading> fans;
  std::vector<ChainReading> chains;  // empty in the failure state
  bool no_miner = false;  // the firmware has no miner data: /summary answers "miner": null
  int64_t accepted = 0, rejected = 0, stale = 0;
  double diffa = 0;
  int64_t best_share = 0;
  int64_t since_last_share = 0;  // seconds
};

// Advances the miner's drift to `now` and fills `out` (reusing its vectors' capacity).
void read_miner(Miner& miner, Now now, Readings& out);

// Uptime as the firmware prints it: "0:06", "9 days,  3:58", "1 day, 12:00".
std::string format_uptime(int64_t seconds);

}  // namespace fleet::minersim
