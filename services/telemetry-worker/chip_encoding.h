// The compact form of chip telemetry (sql/0022_chip_telemetry.sql): one row per chain snapshot
// with each per-chip value as a packed vector (base + narrow offsets; a single value where every
// chip agrees), sparse positions for the rare things (red and orange grades, throttling). And the
// anomalies rules read from it. Pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "asic/metric_rows.h"
#include "firmware/payloads.h"

namespace fleet::telemetry {

using Values = std::vector<std::optional<std::int64_t>>;
using Positions = std::vector<std::int64_t>;  // 1-based positions in the chip arrays

struct EncodedChain {
  int chain_id = 0;
  std::string state;
  std::string failure_message;
  std::optional<double> hr_realtime;
  std::optional<double> hr_nominal;
  std::optional<double> chain_freq_mhz;
  int chip_count = 0;
  std::optional<std::int64_t> chip_id_first;  // when the ids are consecutive
  Positions chip_ids;                         // otherwise, every id
  // Packed vectors (pack_values), one entry per chip; empty when there are no chips.
  std::string hr;       // rounded, in hr_measure units
  std::string temp_dc;  // tenths of °C
  std::string freq_mhz;
  std::string volt_mv;
  std::string errs;
  Positions red_pos;
  Positions orange_pos;
  Positions throttled_pos;
  int clamped = 0;  // values that did not fit their column and were clamped
};

EncodedChain encode_chain(const firmware::ChainChips& chain);

// The packed vector of `values`: width:uint8 | base:int32 LE | offsets (width bytes each, LE).
// width is 0 when every value is present and equal, else the smallest of 1, 2, 4 bytes whose
// all-ones offset (NULL) is above the spread. Values outside int32 are clamped (counted).
std::string pack_values(const Values& values, int& clamped);
// Inverse of pack_values (for tests and tools); nullopt for a malformed vector.
std::optional<Values> unpack_values(std::string_view packed, std::size_t count);

struct Anomalies {
  int chains_dead = 0;
  int chips_red = 0;
  int chips_orange = 0;
  int chips_throttled = 0;
  std::optional<double> chip_temp_max;
};

// Dead chains: state failure or disconnected; state mining with no hashrate at all; and chains
// the model has (`expected_chains`) that /chains does not list ([] counts them all).
Anomalies anomalies_of(const firmware::ChainsPayload& chains, std::optional<int> expected_chains);

// chains_dead, chips_red_telemetry, chips_orange_telemetry, chips_throttled,
// chip_temp_max_telemetry.
std::vector<asic::MetricSample> telemetry_metrics(std::int64_t worker_id,
                                                  std::chrono::system_clock::time_point observed_at,
                                                  const Anomalies& anomalies);

}  // namespace fleet::telemetry
