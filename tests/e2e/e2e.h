// Helpers shared by the end-to-end tests, which run the built binaries against real PostgreSQL.
#pragma once

#include <signal.h>

#include <string>
#include <thread>

#include "pgtest.h"
#include "process.h"

namespace fleet::test {

// A migrated database with the test_marks table the test-worker writes.
inline void add_test_marks(TestDatabase& db) {
  db.exec(
      "CREATE TABLE test_marks (id bigserial PRIMARY KEY, instance text NOT NULL, "
      "fenced boolean NOT NULL, at timestamptz NOT NULL DEFAULT now())");
}

inline Process::Options worker_env(const TestDatabase& db,
                                   std::map<std::string, std::string> extra = {}) {
  Process::Options o;
  o.env = std::move(extra);
  o.env["DATABASE_URL"] = db.url();
  o.unset_env = {"POSTGRES_SERVER", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"};
  return o;
}

// Sum of the live rows of every table in the public schema: a cheap "did anything change".
inline std::string table_fingerprint(TestDatabase& db) {
  return db.scalar(
      "SELECT string_agg(t || '=' || n, ',' ORDER BY t) FROM ("
      " SELECT c.relname AS t, (xpath('/row/n/text()', query_to_xml("
      "   format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1]::text AS n"
      " FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace"
      " WHERE s.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition) q");
}

}  // namespace fleet::test
