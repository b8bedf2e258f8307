// hiveos-sync's settings (the `hiveos.*` configuration keys, docs/services/hiveos-sync.md).
#pragma once

#include <chrono>
#include <cstdint>

namespace fleet::config {
class Schema;
class Config;
}  // namespace fleet::config

namespace fleet::hiveos_sync {

using std::chrono::milliseconds;

struct SyncOptions {
  // A worker whose stats_time is older than this is not live (hiveos::is_live).
  std::int64_t stale_after_s = 300;
  // HTTP timeouts of one request to HiveOS.
  milliseconds timeout{15'000};
  milliseconds connect_timeout{3'000};
  bool verify_tls = true;
  // Retries within a cycle after 5xx / 521 / transport failures (jittered exponential backoff).
  int retries = 3;
  milliseconds retry_initial{1'000};
  milliseconds retry_max{10'000};
  // A request the budget would hold back longer than this is not waited for: the account's cycle
  // stops (its data marked stale) and the next cycle tries again.
  milliseconds max_budget_wait{60'000};
  // Also append each live worker's metrics to readings (metrics_latest is always upserted), at
  // most once per readings_interval per worker (0 = every new stats_time).
  bool readings = true;
  milliseconds readings_interval{60'000};
  // metrics_latest gets every changed value; an unchanged one (only its observed_at would move
  // to the new stats_time) at most once per latest_refresh per worker (0 = every time).
  milliseconds latest_refresh{60'000};
};

void declare_config(config::Schema& schema);
SyncOptions options_from(const config::Config& config);

}  // namespace fleet::hiveos_sync
