// Storing chip telemetry: chip_telemetry rows by COPY, the anomaly metrics, and the claim
// outcomes, one transaction per batch.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "asic/copy_rows.h"
#include "asic/metric_rows.h"
#include "asic/miner_claims.h"
#include "chip_encoding.h"

namespace fleet::telemetry {

constexpr std::size_t kChipColumnCount = 19;
using ChipRow = std::array<asic::CopyField, kChipColumnCount>;

// The chip_telemetry row of one chain (formatted on the fetching thread, streamed by the writer).
ChipRow chip_row(std::int64_t worker_id, std::chrono::system_clock::time_point observed_at,
                 const EncodedChain& chain);

struct TelemetryBatch {
  std::vector<ChipRow> rows;
  std::vector<asic::MetricSample> metrics;
  std::vector<asic::ClaimOutcome> outcomes;
};

struct TelemetryCounts {
  std::int64_t chains = 0;
  std::int64_t chips = 0;
  std::int64_t metrics = 0;
};

TelemetryCounts store_telemetry_batch(pqxx::transaction_base& tx, const TelemetryBatch& batch,
                                      const std::string& owner, bool readings);

}  // namespace fleet::telemetry
