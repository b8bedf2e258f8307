// migration-planner's SQL: a fixed number of set-based statements per cycle whatever the number
// of rows (arrays passed as literals and unnest()ed, never one INSERT per row). Times are the
// database's (now()); the snapshot carries ages.
#pragma once

#include <cstdint>
#include <string>

#include <pqxx/transaction_base>

#include "planner_engine.h"
#include "planner_model.h"
#include "planner_options.h"

namespace fleet::planner {

// Expires the planner's own agent commands past expires_at (queued|claimed|sent -> expired).
std::int64_t expire_commands(pqxx::transaction_base& tx);

// Reads everything the engine needs (step 1 of a cycle).
Snapshot load_snapshot(pqxx::transaction_base& tx, const PlannerOptions& options);

// Ids for new rows, reserved from the tables' sequences a block at a time.
IdSource sequence_ids(pqxx::transaction_base& tx);

struct Written {
  std::int64_t placements = 0;
  std::int64_t migrations = 0;
  std::int64_t plans = 0;
  std::int64_t commands = 0;  // new commands (an idempotency key seen before adds none)
  std::int64_t routes = 0;
  std::int64_t notifications = 0;
};

// Writes what the engine marked: plans, migrations (steps appended), placements, the agent
// commands (linked to their placements), routes, deleted deployments and notifications. Sends
// NOTIFY fleet_routes after a route change and fleet_notifications after a notification.
Written apply(pqxx::transaction_base& tx, const Snapshot& snapshot, const PlannerOptions& options);

// {"version":1,"routes":[{service, replica, container_port, protocol, address, host_port}]}
std::string routes_json(pqxx::transaction_base& tx);

// Writes `content` to `path` atomically (a temporary file beside it, then rename). False on error
// (`error` says why).
bool write_file_atomically(const std::string& path, const std::string& content, std::string& error);

// "{1,2}" / {"a","b\"c"}: array literals for parameters (libpqxx 6.4 takes no vectors).
std::string int_array(const std::vector<std::int64_t>& values);
std::string text_array(const std::vector<std::string>& values);

}  // namespace fleet::planner
