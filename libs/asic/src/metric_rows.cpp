#include "asic/metric_rows.h"

#include <array>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "asic/copy_rows.h"

namespace fleet::asic {

namespace {

constexpr const char* kBatchTable = R"sql(
CREATE TEMP TABLE IF NOT EXISTS asic_metric_batch (
    worker_id   bigint           NOT NULL,
    metric      text             NOT NULL,
    value       double precision,
    json_value  jsonb,
    observed_at timestamptz      NOT NULL,
    history     boolean          NOT NULL
) ON COMMIT DELETE ROWS
)sql";

// The newest sample per (worker, metric) wins; an older one never overwrites a newer one.
constexpr const char* kUpsertLatest = R"sql(
INSERT INTO metrics_latest AS l (worker_id, metric, value, json_value, observed_at)
SELECT DISTINCT ON (worker_id, metric) worker_id, metric, value, json_value, observed_at
  FROM asic_metric_batch
 ORDER BY worker_id, metric, observed_at DESC
ON CONFLICT (worker_id, metric) DO UPDATE
   SET value = EXCLUDED.value, json_value = EXCLUDED.json_value, observed_at = EXCLUDED.observed_at
 WHERE l.observed_at <= EXCLUDED.observed_at
)sql";

constexpr const char* kAppendReadings = R"sql(
INSERT INTO readings (worker_id, metric, ts, value, json_value)
SELECT worker_id, metric, observed_at, value, json_value FROM asic_metric_batch WHERE history
ON CONFLICT DO NOTHING
)sql";

}  // namespace

std::size_t write_metrics(pqxx::transaction_base& tx, const std::vector<MetricSample>& samples,
                          bool readings) {
  tx.exec0(kBatchTable);
  std::size_t written = 0;
  bool any_history = false;
  {
    pqxx::stream_to stream(tx, "asic_metric_batch",
                           std::vector<std::string>{"worker_id", "metric", "value", "json_value",
                                                    "observed_at", "history"});
    for (const auto& s : samples) {
      if (!s.value && !s.state) continue;
      stream << std::array<CopyField, 6>{
          field(s.worker_id),
          field(s.metric),
          field(s.value),
          s.state ? field(nlohmann::json(*s.state).dump(-1, ' ', false,
                                                        nlohmann::json::error_handler_t::replace))
                  : null_field(),
          timestamp_field(s.observed_at),
          field(s.history)};
      ++written;
      any_history = any_history || s.history;
    }
    stream.complete();
  }
  if (written == 0) return 0;
  tx.exec0(kUpsertLatest);
  if (readings && any_history) tx.exec0(kAppendReadings);
  return written;
}

}  // namespace fleet::asic
