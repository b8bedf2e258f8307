#include "db/watch.h"

#include <pqxx/pqxx>

namespace fleet::db {
namespace {

// Restarted now when the last cycle is older than the gap ($2 ms). The first watch of a service
// starts from its instances' last cycle (service_instances): a service upgraded to this version
// after the system was down has a gap to make up for too; one that never ran has none.
constexpr const char* kRecord = R"sql(
INSERT INTO watches AS w (name, watching_since, last_cycle_at)
SELECT $1, CASE WHEN prev.at < now() - $2 * interval '1 millisecond' THEN now() END, now()
  FROM (SELECT max(last_cycle_at) AS at FROM service_instances WHERE service = $1) prev
ON CONFLICT (name) DO UPDATE
   SET watching_since = CASE WHEN w.last_cycle_at < now() - $2 * interval '1 millisecond'
                             THEN now() ELSE w.watching_since END,
       last_cycle_at = now()
RETURNING (extract(epoch FROM now() - watching_since) * 1000)::bigint
)sql";

constexpr const char* kPeek = R"sql(
SELECT CASE WHEN w.name IS NULL
            THEN CASE WHEN prev.at < now() - $2 * interval '1 millisecond' THEN 0::bigint END
            WHEN w.last_cycle_at < now() - $2 * interval '1 millisecond' THEN 0::bigint
            ELSE (extract(epoch FROM now() - w.watching_since) * 1000)::bigint END
  FROM (SELECT max(last_cycle_at) AS at FROM service_instances WHERE service = $1) prev
  LEFT JOIN watches w ON w.name = $1
)sql";

}  // namespace

std::optional<std::chrono::milliseconds> record_watch(pqxx::transaction_base& tx,
                                                      const std::string& name,
                                                      std::chrono::milliseconds gap, bool dry_run) {
  const auto f = tx.exec_params1(dry_run ? kPeek : kRecord, name, gap.count())[0];
  if (f.is_null()) return std::nullopt;
  return std::chrono::milliseconds(f.as<std::int64_t>());
}

}  // namespace fleet::db
