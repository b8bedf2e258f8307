// A service's watch (table `watches`): how long it has been watching without a gap in its cycles.
// A service that judges silence (heartbeat-monitor) or staleness (alert-evaluator) must not count
// the time it — or the whole system — was down as silence: after a gap longer than `gap` the watch
// starts again, and the service waits a whole timeout of watching before judging anything silent.
// Times are the database's.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <pqxx/transaction_base>

namespace fleet::db {

// Records this cycle of `name` and returns how long it has been watching (this cycle included):
// zero right after a gap longer than `gap`, nullopt when there never was a gap. The first watch
// of `name` looks at its service_instances' last cycle: none (the service never ran) starts a
// watch with nothing to make up for. Under `dry_run` reads without writing.
std::optional<std::chrono::milliseconds> record_watch(pqxx::transaction_base& tx,
                                                      const std::string& name,
                                                      std::chrono::milliseconds gap, bool dry_run);

}  // namespace fleet::db
