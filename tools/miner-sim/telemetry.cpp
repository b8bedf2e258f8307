#include "telemetry.h"

#include <algorithm>
#include <cmath>

#include "rng.h"

namespace fleet::minersim {
namespace {

using std::chrono::duration;
using std::chrono::duration_cast;

// Ornstein-Uhlenbeck step: mean-reverting noise with stationary deviation `sd` and time constant
// `tau` seconds, exact for any dt (so sparse requests drift as much as frequent ones).
double ou_step(double x, double mu, double sd, double tau, double dt, uint64_t noise_key) {
  const double a = std::exp(-dt / tau);
  return mu + (x - mu) * a + sd * std::sqrt(1.0 - a * a) * standard_normal(noise_key);
}

void advance_drift(Miner& m, Now now) {
  auto& d = m.drift;
  const double dt = duration<double>(now.steady - d.updated).count();
  if (dt <= 0.05) return;
  const uint64_t s = m.id().seed;
  d.hashrate_ratio = ou_step(d.hashrate_ratio, 0.997, 0.012, 120, dt, hash_keys(s, d.steps, 1));
  d.temp_offset = ou_step(d.temp_offset, 0.0, 2.0, 600, dt, hash_keys(s, d.steps, 2));
  d.power_ratio = ou_step(d.power_ratio, 1.0, 0.006, 120, dt, hash_keys(s, d.steps, 3));
  d.updated = now.steady;
  ++d.steps;
}

ChipGrade static_grade(uint64_t seed, int chain, int chip) {
  const double u = unit_interval(hash_keys(seed, 0x67ade, chain, chip));
  if (u < 0.004) return ChipGrade::kRed;
  if (u < 0.025) return ChipGrade::kOrange;
  return ChipGrade::kGrey;
}

int round_int(double v) {
  return static_cast<int>(std::lround(v));
}

}  // namespace

std::string_view to_string(ChainStateKind s) {
  switch (s) {
    case ChainStateKind::kInitializing:
      return "initializing";
    case ChainStateKind::kMining:
      return "mining";
    case ChainStateKind::kStopped:
      return "stopped";
    case ChainStateKind::kFailure:
      return "failure";
  }
  return "unknown";
}

std::string_view to_string(ChipGrade g) {
  switch (g) {
    case ChipGrade::kGrey:
      return "grey";
    case ChipGrade::kOrange:
      return "orange";
    case ChipGrade::kRed:
      return "red";
  }
  return "grey";
}

std::string format_uptime(int64_t seconds) {
  const int64_t days = seconds / 86400;
  const int64_t hours = (seconds % 86400) / 3600;
  const int64_t minutes = (seconds % 3600) / 60;
  char buf[64];
  if (days == 0) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(hours),
                  static_cast<long long>(minutes));
  } else {
    std::snprintf(buf, sizeof buf, "%lld day%s, %2lld:%02lld", static_cast<long long>(days),
                  days == 1 ? "" : "s", static_cast<long long>(hours),
                  static_cast<long long>(minutes));
  }
  return buf;
}

void read_miner(Miner& m, Now now, Readings& out) {
  advance_drift(m, now);
  const ModelSpec& model = m.model();
  const uint64_t seed = m.id().seed;
  const auto& drift = m.drift;

  out.state = m.state(now);
  out.no_miner = m.fault_for(FaultKind::kNoMiner, "") != nullptr;
  out.state_seconds = m.state_seconds(now);
  out.uptime_seconds = m.uptime_seconds(now);
  const bool mining = out.state == MinerStateKind::kMining;
  const bool paused_or_stopped =
      out.state == MinerStateKind::kStopped || out.state == MinerStateKind::kShuttingDown;
  const bool failure = out.state == MinerStateKind::kFailure;
  const int64_t mining_seconds = mining ? out.state_seconds : 0;

  // Targets from the preset: "disabled" runs at stock.
  const PresetSpec& preset = m.preset();
  const double nominal = preset.watts == 0 ? model.stock_ghs : preset.terahash * 1000.0;
  const double target_watts = preset.watts == 0 ? model.stock_watts : preset.watts;
  const double ratio = nominal / model.stock_ghs;
  const double freq = model.default_freq * ratio;
  const int voltage = round_int(model.default_voltage * 10 * (0.92 + 0.08 * ratio) / 10) * 10;
  // Hotter when pushed harder; fans follow.
  const double heat = (target_watts / model.stock_watts - 1.0) * 12.0;
  out.hr_stock = model.stock_ghs;
  out.hr_nominal = nominal;

  const int n_chains = failure ? 0 : model.num_chains;
  out.chains.resize(n_chains);
  const int chips = model.chips_per_chain;
  double total_rt = 0;
  int total_errs = 0;
  int working_chains = 0;
  out.pcb_min = out.chip_min = 1000;
  out.pcb_max = out.chip_max = -1000;
  const uint64_t bucket = static_cast<uint64_t>(
      duration_cast<std::chrono::seconds>(now.steady.time_since_epoch()).count() / 5);

  for (int c = 0; c < n_chains; ++c) {
    ChainReading& ch = out.chains[c];
    ch.id = c + 1;
    ch.description.clear();
    const bool failing = m.chain_failing(ch.id);
    if (failing) {
      ch.state = ChainStateKind::kFailure;
      ch.description = "Chain " + std::to_string(ch.id) + " failure: chips lost (0 of " +
                       std::to_string(chips) + " responding)";
    } else if (mining) {
      ch.state = ChainStateKind::kMining;
    } else if (paused_or_stopped) {
      ch.state = ChainStateKind::kStopped;
    } else {
      ch.state = ChainStateKind::kInitializing;
    }
    const bool hashing = ch.state == ChainStateKind::kMining;
    if (hashing) ++working_chains;
    const double chain_factor = 1.0 + 0.008 * standard_normal(hash_keys(seed, 0xc4a1, c));
    const double chain_heat = (c == 1 ? 2.5 : c == 2 ? 1.0 : 0.0);
    const double ambient = 25.0 + drift.temp_offset * 0.5;
    const double base = hashing ? model.chip_temp_base + drift.temp_offset + heat + chain_heat
                                : ambient + 8.0 + chain_heat;
    ch.freq = hashing ? freq : 0.0;
    ch.voltage = failing ? 0 : voltage;
    ch.hr_ideal = (mining || failing) ? nominal / model.num_chains : 0.0;

    ch.chips.resize(chips);
    ch.red = ch.orange = ch.grey = 0;
    ch.chip_min = 1000;
    ch.chip_max = -1000;
    double chain_hr = 0;
    int chain_errs = 0;
    const double per_chip = hashing ? ch.hr_ideal * drift.hashrate_ratio * chain_factor / chips : 0;
    for (int k = 0; k < chips; ++k) {
      ChipReading& chip = ch.chips[k];
      chip.id = k;
      const uint64_t h = hash_keys(seed, c, k, bucket);
      ChipGrade grade = static_grade(seed, c, k);
      // While initializing every chip reads red (the real S19j Pro example); a failed chain too.
      if (!hashing && ch.state != ChainStateKind::kStopped) grade = ChipGrade::kRed;
      chip.grade = grade;
      const double pos = static_cast<double>(k) / std::max(1, chips - 1);  // inlet -> outlet
      const double fixed = 1.5 * approx_normal(hash_keys(seed, 0x7e4, c, k));
      const double noise = (unit_interval(h) - 0.5) * 1.4;
      chip.temp = failing ? 0.0 : std::round((base + 8.0 * pos - 3.0 + fixed + noise) * 4) / 4;
      chip.throttled = hashing && chip.temp >= 85.0;
      chip.freq = hashing ? round_int(freq * (grade == ChipGrade::kOrange ? 0.9 : 1.0) *
                                      (chip.throttled ? 0.8 : 1.0))
                          : 0;
      chip.volt = ch.voltage;
      double hr = per_chip * (1.0 + 0.03 * approx_normal(mix64(h)));
      if (grade == ChipGrade::kOrange) hr *= 0.85;
      if (grade == ChipGrade::kRed) hr *= 0.1;
      if (chip.throttled) hr *= 0.8;
      chip.hr = hashing ? std::max(0.0, std::round(hr * 100) / 100) : 0.0;
      const double err_rate = grade == ChipGrade::kRed      ? 0.004
                              : grade == ChipGrade::kOrange ? 0.0008
                                                            : 0.00003;
      chip.errs = static_cast<int>(mining_seconds * err_rate *
                                   (0.5 + unit_interval(hash_keys(seed, 0xe77, c, k))));
      chain_hr += chip.hr;
      chain_errs += chip.errs;
      switch (chip.grade) {
        case ChipGrade::kRed:
          ++ch.red;
          break;
        case ChipGrade::kOrange:
          ++ch.orange;
          break;
        case ChipGrade::kGrey:
          ++ch.grey;
          break;
      }
      if (!failing) {
        const int t = round_int(chip.temp);
        ch.chip_min = std::min(ch.chip_min, t);
        ch.chip_max = std::max(ch.chip_max, t);
      }
    }
    if (failing) ch.chip_min = ch.chip_max = 0;
    // Four sensors spread along the board; the pcb reads ~12 °C below the chip beside it.
    for (int s = 0; s < 4; ++s) {
      SensorReading& sr = ch.sensors[s];
      sr.loc = (2 * s + 1) * chips / 8;
      sr.chip = failing ? 0 : round_int(ch.chips[sr.loc].temp);
      sr.board = failing ? 0 : round_int(ch.chips[sr.loc].temp - 12.0 - 0.5 * s);
      sr.ok = !failing;
    }
    ch.pcb_min = failing ? 0
                         : std::min({ch.sensors[0].board, ch.sensors[1].board, ch.sensors[2].board,
                                     ch.sensors[3].board});
    ch.pcb_max = failing ? 0
                         : std::max({ch.sensors[0].board, ch.sensors[1].board, ch.sensors[2].board,
                                     ch.sensors[3].board});
    ch.hr_rt = std::round(chain_hr * 1000) / 1000;
    ch.hr_percentage = ch.hr_ideal > 0 ? std::round(ch.hr_rt / ch.hr_ideal * 10000) / 100 : 0.0;
    ch.hw_errors = chain_errs;
    ch.hr_error = hashing ? std::round(ch.hr_rt * 0.00015 * (1 + ch.orange + 4 * ch.red)) / 100 : 0;
    total_rt += ch.hr_rt;
    total_errs += chain_errs;
    if (!failing) {
      out.pcb_min = std::min(out.pcb_min, ch.pcb_min);
      out.pcb_max = std::max(out.pcb_max, ch.pcb_max);
      out.chip_min = std::min(out.chip_min, ch.chip_min);
      out.chip_max = std::max(out.chip_max, ch.chip_max);
    }
  }
  if (out.pcb_max < -100) out.pcb_min = out.pcb_max = out.chip_min = out.chip_max = 0;

  // Power: the preset's target while hashing, the control board and idle boards otherwise.
  double watts = 0;
  if (mining && working_chains > 0) {
    watts = target_watts * drift.power_ratio * working_chains / model.num_chains;
  } else if (!failure && !paused_or_stopped) {
    watts = 50.0 * n_chains;  // initializing boards
  } else {
    watts = 18.0;
  }
  for (auto& ch : out.chains) {
    ch.power = ch.state == ChainStateKind::kMining ? round_int((watts - 30) / working_chains)
               : ch.state == ChainStateKind::kInitializing ? 50
                                                           : 0;
  }
  out.power = round_int(watts);
  out.hr_realtime = std::round(total_rt * 100) / 100;
  out.hr_average = mining ? std::round(nominal * working_chains / model.num_chains *
                                       (0.997 + 0.4 * (drift.hashrate_ratio - 0.997) / 4) * 100) /
                                100
                          : 0.0;
  out.hr_error = mining ? std::round(total_rt * 0.00015 * 100) / 100 : 0.0;
  out.efficiency = out.hr_average > 0 ? watts / (out.hr_average / 1000.0) : 0.0;
  out.hw_errors = total_errs;

  // Fans follow the hottest chip; a lost fan reads 0 rpm.
  const int duty = failure ? 100 : mining ? std::clamp(40 + (out.chip_max - 55) * 3, 30, 100) : 30;
  out.fan_duty = duty;
  out.fans.resize(model.fans);
  for (int f = 0; f < model.fans; ++f) {
    FanReading& fan = out.fans[f];
    fan.id = f;
    fan.max_rpm = model.max_fan_rpm;
    fan.lost = m.fan_lost(f);
    const double spread = 1.0 + 0.03 * standard_normal(hash_keys(seed, 0xfa, f));
    const double noise = (unit_interval(hash_keys(seed, 0xfa, f, bucket)) - 0.5) * 80;
    fan.rpm =
        fan.lost ? 0
                 : std::min(fan.max_rpm,
                            round_int(model.max_fan_rpm * duty / 100.0 * spread + noise) / 30 * 30);
  }

  // Pool counters restart with the mining software.
  out.accepted = mining_seconds / 12;
  out.rejected = out.accepted / 400;
  out.stale = out.accepted / 2500;
  out.diffa = static_cast<double>(out.accepted) * 262144.0;
  out.hw_errors_percent =
      out.accepted > 0 ? std::round(1e4 * total_errs / (out.accepted * 262144.0 / 1e3)) / 1e4 : 0;
  out.best_share =
      out.accepted > 0
          ? static_cast<int64_t>(262144.0 * (1 + std::log1p(out.accepted) * (50 + seed % 200)))
          : 0;
  out.since_last_share = mining_seconds % 12;
}

}  // namespace fleet::minersim
