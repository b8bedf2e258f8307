// Daily partitions of the ASIC history tables, kept by the writers themselves as well as by
// maintenance-worker, so ingest never fails for a missing partition when maintenance is not
// running, and the writer's configured retention becomes the table's partition policy.
#pragma once

#include <string>
#include <vector>

#include <pqxx/transaction_base>

namespace fleet::asic {

// Creates missing partitions of `table` from yesterday to `ahead_days` ahead and sets its
// partition_policies retention to `retention_days`. Returns partitions created.
int ensure_partitions(pqxx::transaction_base& tx, const std::string& table, int retention_days,
                      int ahead_days = 2);

// Drops partitions of `table` older than `retention_days`; returns their names.
std::vector<std::string> drop_expired_partitions(pqxx::transaction_base& tx,
                                                 const std::string& table, int retention_days);

}  // namespace fleet::asic
