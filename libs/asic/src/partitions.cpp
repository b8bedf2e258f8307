#include "asic/partitions.h"

#include <pqxx/pqxx>

namespace fleet::asic {

namespace {

constexpr const char* kCreate = "SELECT fleet_create_daily_partitions($1, 1, $2)";

constexpr const char* kSetRetention = R"sql(
INSERT INTO partition_policies (parent_table, retention_days) VALUES ($1, $2)
ON CONFLICT (parent_table) DO UPDATE SET retention_days = EXCLUDED.retention_days, updated_at = now()
 WHERE partition_policies.retention_days IS DISTINCT FROM EXCLUDED.retention_days
)sql";

constexpr const char* kDrop = "SELECT fleet_drop_expired_partitions($1, $2)";

}  // namespace

int ensure_partitions(pqxx::transaction_base& tx, const std::string& table, int retention_days,
                      int ahead_days) {
  tx.exec_params0(kSetRetention, table, retention_days);
  return tx.exec_params1(kCreate, table, ahead_days)[0].as<int>();
}

std::vector<std::string> drop_expired_partitions(pqxx::transaction_base& tx,
                                                 const std::string& table, int retention_days) {
  std::vector<std::string> out;
  for (const auto& row : tx.exec_params(kDrop, table, retention_days)) {
    out.push_back(row[0].as<std::string>());
  }
  return out;
}

}  // namespace fleet::asic
