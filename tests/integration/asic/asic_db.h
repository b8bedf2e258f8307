// Helpers for the ASIC pipeline's database tests: miners inserted straight into the schema.
#pragma once

#include <string>

#include "pgtest.h"

namespace fleet::test {

// A managed, online miner with an IP, of a model with max_preset set (so it is due for polls).
// Returns its worker id.
inline long long add_miner(TestDatabase& db, int n, const std::string& model = "s19",
                           bool managed = true) {
  db.exec("INSERT INTO models (alias, full_name, max_preset, num_chains) VALUES ('" + model +
          "', 'Antminer', '3250', 3) ON CONFLICT DO NOTHING");
  const std::string id =
      db.scalar("INSERT INTO workers (kind, name, ip, status, managed) VALUES ('asic', 'm" +
                std::to_string(n) + "', '10.9.0." + std::to_string(n) + "', 'online', " +
                (managed ? "true" : "false") + ") RETURNING id");
  char mac[32];
  snprintf(mac, sizeof mac, "aa:bb:cc:00:%02x:%02x", (n >> 8) & 0xFF, n & 0xFF);
  db.exec("INSERT INTO miners (worker_id, mac, model_alias, api_key_enc, api_key_state) VALUES (" +
          id + ", '" + mac + "', '" + model + "', 'v1:sealed', 'active')");
  return std::stoll(id);
}

}  // namespace fleet::test
