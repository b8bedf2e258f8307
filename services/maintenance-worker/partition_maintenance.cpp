#include "partition_maintenance.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "db/session.h"

namespace fleet::maintenance {
namespace {

using json = nlohmann::json;

struct Policy {
  std::string parent;
  int premake_days = 7;
  std::optional<int> retention_days;
};

constexpr const char* kPolicies = R"sql(
SELECT parent_table, premake_days, retention_days
  FROM partition_policies
 WHERE to_regclass(parent_table) IS NOT NULL
 ORDER BY parent_table
)sql";

constexpr const char* kCreate = "SELECT fleet_create_daily_partitions($1, $2, $3)";
constexpr const char* kDrop = "SELECT fleet_drop_expired_partitions($1, $2)";

// What kCreate would create, without creating it (for --dry-run).
constexpr const char* kMissing = R"sql(
SELECT $1::text || '_p' || to_char(d, 'YYYYMMDD')
  FROM generate_series((now() AT TIME ZONE 'UTC')::date - $2::int,
                       (now() AT TIME ZONE 'UTC')::date + $3::int, interval '1 day') AS d
 WHERE to_regclass($1::text || '_p' || to_char(d, 'YYYYMMDD')) IS NULL
)sql";

// What kDrop would drop, without dropping it (for --dry-run).
constexpr const char* kExpired = R"sql(
SELECT c.relname
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = to_regclass($1::text)
   AND c.relname ~ ('^' || $1::text || '_p[0-9]{8}$')
   AND to_date(right(c.relname, 8), 'YYYYMMDD') < (now() AT TIME ZONE 'UTC')::date - $2::int
 ORDER BY c.relname
)sql";

constexpr const char* kPruneInstances = R"sql(
DELETE FROM service_instances
 WHERE (state IN ('stopped', 'failed') AND stopped_at < now() - $1 * interval '1 millisecond')
    OR heartbeat_at < now() - $1 * interval '1 millisecond'
)sql";

constexpr const char* kCountPrunable = R"sql(
SELECT count(*) FROM service_instances
 WHERE (state IN ('stopped', 'failed') AND stopped_at < now() - $1 * interval '1 millisecond')
    OR heartbeat_at < now() - $1 * interval '1 millisecond'
)sql";

}  // namespace

runtime::CycleReport run_maintenance(runtime::CycleContext& ctx,
                                     const MaintenanceOptions& options) {
  db::Session& session = ctx.db();
  std::vector<Policy> policies = session.transact([](pqxx::transaction_base& tx) {
    std::vector<Policy> out;
    for (const auto& row : tx.exec(kPolicies)) {
      out.push_back({row[0].as<std::string>(), row[1].as<int>(),
                     row[2].get<int>()});
    }
    return out;
  });

  std::int64_t created = 0;
  std::int64_t dropped = 0;
  std::int64_t failed = 0;
  for (const Policy& p : policies) {
    if (ctx.stopping()) break;
    try {
      if (ctx.dry_run()) {
        session.transact([&](pqxx::transaction_base& tx) {
          for (const auto& row : tx.exec_params(kMissing, p.parent, options.back_days, p.premake_days)) {
            ctx.emit(json{{"action", "create_partition"}, {"table", p.parent},
                          {"partition", row[0].as<std::string>()}}.dump());
            ++created;
          }
          if (p.retention_days) {
            for (const auto& row : tx.exec_params(kExpired, p.parent, *p.retention_days)) {
              ctx.emit(json{{"action", "drop_partition"}, {"table", p.parent},
                            {"partition", row[0].as<std::string>()},
                            {"retention_days", *p.retention_days}}.dump());
              ++dropped;
            }
          }
        });
        continue;
      }
      // One transaction per policy and step, so a lock timeout on one table (a long query holding
      // it) does not hold back the others; it is retried next cycle.
      int made = session.transact([&](pqxx::transaction_base& tx) {
        return tx.exec_params1(kCreate, p.parent, options.back_days, p.premake_days)[0].as<int>();
      });
      created += made;
      if (made > 0) spdlog::info("created {} partitions of {}", made, p.parent);
      if (p.retention_days) {
        auto names = session.transact([&](pqxx::transaction_base& tx) {
          std::vector<std::string> out;
          for (const auto& row : tx.exec_params(kDrop, p.parent, *p.retention_days)) {
            out.push_back(row[0].as<std::string>());
          }
          return out;
        });
        for (const auto& name : names) {
          spdlog::info("dropped partition {} (older than {} days)", name, *p.retention_days);
        }
        dropped += static_cast<std::int64_t>(names.size());
      }
    } catch (const db::Unavailable&) {
      throw;  // the whole cycle fails and is retried with backoff
    } catch (const std::exception& e) {
      ++failed;
      spdlog::warn("partition maintenance of {} failed: {}", p.parent, e.what());
    }
    ctx.progress();
  }

  const auto retention_ms = static_cast<long long>(options.instance_retention.count());
  std::int64_t pruned = session.transact([&](pqxx::transaction_base& tx) -> std::int64_t {
    if (ctx.dry_run()) return tx.exec_params1(kCountPrunable, retention_ms)[0].as<std::int64_t>();
    return static_cast<std::int64_t>(tx.exec_params(kPruneInstances, retention_ms).affected_rows());
  });
  if (ctx.dry_run() && pruned > 0) {
    ctx.emit(json{{"action", "prune_service_instances"}, {"rows", pruned}}.dump());
  } else if (pruned > 0) {
    spdlog::info("removed {} service_instances rows of processes gone for over {}h", pruned,
                 options.instance_retention.count() / 3'600'000);
  }

  return {.items = static_cast<std::int64_t>(policies.size()),
          .counts = {{"partitions_created", created},
                     {"partitions_dropped", dropped},
                     {"policy_errors", failed},
                     {"instances_pruned", pruned}}};
}

}  // namespace fleet::maintenance
