// Writing metric values the rules read (metrics_latest) and their history (readings), in bulk:
// one COPY into a temporary table and two set-based statements per batch.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

namespace fleet::asic {

struct MetricSample {
  std::int64_t worker_id = 0;
  std::string metric;                // a name from metric_catalogue
  std::optional<double> value;       // numbers
  std::optional<std::string> state;  // state metrics (e.g. miner_state "mining"): a JSON string
  std::chrono::system_clock::time_point observed_at;
  bool history = true;  // also append to readings (when write_metrics' `readings` is set)
};

// Upserts metrics_latest (an older sample never overwrites a newer one) and, when `readings` is
// set, appends the samples marked `history` to readings (re-sent samples are ignored). Samples with
// neither value nor state are skipped. Returns the number of samples written.
std::size_t write_metrics(pqxx::transaction_base& tx, const std::vector<MetricSample>& samples,
                          bool readings);

}  // namespace fleet::asic
