// Shared set-up of the client e2e tests: a gateway with miners, and clients for it.
#pragma once

#include "client/client.h"
#include "gateway_fixture.h"

namespace fleet::test {

inline client::ClientOptions client_options(const GatewayFixture& gw) {
  client::ClientOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(gw.port);
  o.max_retries = 0;
  return o;
}

// A client logged in as `user` ("admin", "operator", "viewer").
inline client::Client login_client(const GatewayFixture& gw, const std::string& user) {
  client::ClientOptions o = client_options(gw);
  o.username = user;
  o.password = GatewayFixture::kPassword;
  return client::Client(o);
}

// `count` ASIC miners (worker ids 1..count); every third is managed, every fifth offline (no
// IP); model s19jpro with presets 2900 and 3250.
inline void seed_miners(TestDatabase& db, int count) {
  db.exec(
      "INSERT INTO models (alias, full_name, presets) VALUES ('s19jpro', 'Antminer S19j Pro', "
      "'[{\"name\": \"2900\", \"pretty\": \"2900 W\"}, {\"name\": \"3250\"}]')");
  db.exec(
      "INSERT INTO workers (id, kind, name, status, managed, ip) SELECT i, 'asic', 'miner-' || i, "
      "CASE WHEN i % 5 = 0 THEN 'offline' ELSE 'online' END, i % 3 = 0, "
      "CASE WHEN i % 5 = 0 THEN NULL ELSE ('127.0.' || (i / 250 + 1) || '.' || (i % 250 + "
      "1))::inet END "
      "FROM generate_series(1, " +
      std::to_string(count) + ") i");
  db.exec("SELECT setval('workers_id_seq', 100000)");
  db.exec(
      "INSERT INTO miners (worker_id, mac, model_alias) SELECT i, ('02:00:00:00:' || lpad(to_hex(i "
      "/ 256), 2, '0') "
      "|| ':' || lpad(to_hex(i % 256), 2, '0'))::macaddr, 's19jpro' FROM generate_series(1, " +
      std::to_string(count) + ") i");
}

}  // namespace fleet::test
