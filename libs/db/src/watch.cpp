#include "db/watch.h"

#include <pqxx/pqxx>

namespace fleet::db {
namespace {

// Restarted now when the last cycle is older than the gap ($2 ms).
constexpr const char* kRecord = R"sql(
INSERT INTO watches AS w (name, watching_since, last_cycle_at) VALUES ($1, NULL, now())
ON CONFLICT (name) DO UPDATE
   SET watching_since = CASE WHEN w.last_cycle_at < now() - $2 * interval '1 millisecond'
                             THEN now() ELSE w.watching_since END,
       last_cycle_at = now()
RETURNING (extract(epoch FROM now() - watching_since) * 1000)::bigint
)sql";

constexpr const char* kPeek = R"sql(
SELECT (SELECT (extract(epoch FROM now() - CASE
                  WHEN last_cycle_at < now() - $2 * interval '1 millisecond' THEN now()
                  ELSE watching_since END) * 1000)::bigint
          FROM watches WHERE name = $1)
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
