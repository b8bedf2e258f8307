// discovery-worker against miner-sim and PostgreSQL: exactly the simulated miners are found and
// keyed, other devices are skipped, vanished miners go offline, moved ones are followed, rescans
// are honoured, --dry-run changes nothing.
#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include <httplib.h>

#include "core/strings.h"
#include "firmware/client.h"
#include "firmware/curl_transport.h"
#include "pipeline.h"
#include "secrets/secret_box.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

// Something else on the miners' port: a web server that is not Vnish firmware.
class OtherDevice {
 public:
  OtherDevice(const std::string& ip, int port, std::string info_body) {
    server_.Get("/api/v1/info",
                [body = std::move(info_body)](const httplib::Request&, httplib::Response& res) {
                  res.set_content(body, "application/json");
                });
    REQUIRE(server_.bind_to_port(ip.c_str(), port));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~OtherDevice() {
    server_.stop();
    thread_.join();
  }

 private:
  httplib::Server server_;
  std::thread thread_;
};

std::set<std::string> db_macs(TestDatabase& db) {
  std::set<std::string> out;
  for (const auto& m : split(db.scalar("SELECT string_agg(mac::text, ',') FROM miners"), ',')) {
    if (!m.empty()) out.insert(m);
  }
  return out;
}

}  // namespace

TEST_CASE("discovery finds exactly the simulated miners and provisions their keys",
          "[discovery][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 12, .base_ip = "127.21.1.1"});
  OtherDevice router("127.21.1.200", sim.port(), R"({"fw_name":"OpenWrt","model":"x"})");
  OtherDevice broken("127.21.1.201", sim.port(), "<html>not json</html>");

  auto r = discover(db, sim, {"--set", "discovery.manage_new=true"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Contains("miners=12"));
  CHECK_THAT(r.err, Contains("not_vnish=1"));
  CHECK_THAT(r.err, Contains("probe_failed=1"));
  const auto macs = sim.macs();
  CHECK(db_macs(db) == std::set<std::string>(macs.begin(), macs.end()));
  CHECK(db.count("SELECT 1 FROM workers WHERE kind = 'asic' AND status = 'online' AND managed "
                 "AND ip <<= '127.21.1.0/24'") == 12);
  // Every miner has our key, sealed; the simulator holds the same key under our description.
  CHECK(
      db.count("SELECT 1 FROM miners WHERE api_key_state = 'active' AND api_key_enc LIKE 'v2:%'") ==
      12);
  CHECK(db.count("SELECT 1 FROM miners WHERE api_key_enc ~ '[0-9a-f]{32}'") == 0);
  auto box = secrets::SecretBox::from_key_text(kSecretKey);
  REQUIRE(box.ok());
  const std::string sealed = db.scalar(
      "SELECT api_key_enc FROM miners m JOIN workers w ON "
      "w.id = m.worker_id WHERE host(w.ip) = '127.21.1.1'");
  const std::string mac = db.scalar(
      "SELECT m.mac::text FROM miners m JOIN workers w ON "
      "w.id = m.worker_id WHERE host(w.ip) = '127.21.1.1'");
  auto key = box->open(sealed, secrets::miner_secret_context(mac, "api_key"));
  REQUIRE(key.ok());
  auto transport = firmware::CurlTransport::create();
  REQUIRE(transport.ok());
  firmware::VnishClient client(**transport, {"127.21.1.1", sim.port()});
  client.set_api_key(*key);
  CHECK(client.auth_check().ok());
  CHECK(sim.get("/miners/0")["api_key_descriptions"] == nlohmann::json::array({"fleetward"}));
  // Models (alias -> full name) and their presets, bare and wrapped alike.
  CHECK(db.count("SELECT 1 FROM models WHERE jsonb_array_length(presets) > 0") ==
        db.count("SELECT DISTINCT model_alias FROM miners"));
  CHECK(db.scalar("SELECT full_name FROM models WHERE alias = 's19jpro'") == "Antminer S19j Pro");
  // No secret in the logs.
  CHECK(r.err.find(*key) == std::string::npos);

  SECTION("a second cycle reuses the keys and adds nothing") {
    sim.reset_stats();
    auto again = discover(db, sim);
    REQUIRE(again.code == 0);
    CHECK_THAT(again.err, Contains("new=0"));
    CHECK(db.count("miners") == 12);
    CHECK(db.scalar("SELECT api_key_enc FROM miners m JOIN workers w ON w.id = m.worker_id "
                    "WHERE host(w.ip) = '127.21.1.1'") == sealed);
    CHECK(sim.requests(0, "/api/v1/unlock") == 0);  // nothing to provision
  }
}

TEST_CASE("discovery marks a vanished miner offline and follows a changed IP", "[discovery][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 6, .base_ip = "127.21.2.1"});
  REQUIRE(discover(db, sim).code == 0);
  const std::string moved_id = db.scalar("SELECT id FROM workers WHERE host(ip) = '127.21.2.2'");
  const std::string gone_id = db.scalar("SELECT id FROM workers WHERE host(ip) = '127.21.2.3'");
  sim.post("/miners/1/move", {{"ip", "127.21.2.99"}});
  sim.post("/miners/2/offline");

  auto r = discover(db, sim);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Contains("offline=1"));
  CHECK_THAT(r.err, Contains("moved=1"));
  CHECK(db.scalar("SELECT host(ip) || ' ' || status FROM workers WHERE id = " + moved_id) ==
        "127.21.2.99 online");
  CHECK(db.scalar("SELECT coalesce(host(ip), 'NULL') || ' ' || status FROM workers WHERE id = " +
                  gone_id) == "NULL offline");
  CHECK(db.count("miners") == 6);  // the same identities, by MAC

  sim.post("/miners/2/online");
  REQUIRE(discover(db, sim).code == 0);
  CHECK(db.scalar("SELECT host(ip) || ' ' || status FROM workers WHERE id = " + gone_id) ==
        "127.21.2.3 online");
  // Both changes are in the worker's status history, each with why (migration 0040).
  CHECK(db.scalar("SELECT string_agg(to_status || ': ' || reason, ' | ' ORDER BY id) "
                  "FROM worker_status_history WHERE worker_id = " +
                  gone_id) ==
        "offline: did not answer the network scan of its subnet | "
        "online: found again by the network scan");
}

TEST_CASE("a known miner whose port answers but whose API times out is not marked offline",
          "[discovery][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 4, .base_ip = "127.21.6.1"});
  {
    // Ample time for the first pass, which must know all four miners for the checks below. This
    // test failed once under the whole suite at -j2 (its output was not kept); a miner missed here
    // is the likely cause, and the REQUIREs now say so if it happens again.
    auto first = discover(db, sim, {"--set", "firmware.request_timeout=10s"});
    INFO(first.err);
    REQUIRE(first.code == 0);
    REQUIRE(db.count("workers") == 4);
  }
  const std::string busy_id = db.scalar("SELECT id FROM workers WHERE host(ip) = '127.21.6.2'");
  sim.fault(1, "timeout");  // accepts the connection, never answers (an overloaded control board)
  auto r = discover(db, sim);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Contains("probe_failed=1"));
  CHECK_THAT(r.err, Contains("offline=0"));
  CHECK(db.scalar("SELECT host(ip) || ' ' || status FROM workers WHERE id = " + busy_id) ==
        "127.21.6.2 online");
  // Gone for real (nothing accepts on the port): offline as before.
  sim.post("/miners/1/offline");
  REQUIRE(discover(db, sim).code == 0);
  CHECK(db.scalar("SELECT coalesce(host(ip), 'NULL') || ' ' || status FROM workers WHERE id = " +
                  busy_id) == "NULL offline");
}

TEST_CASE("a rescan request is honoured at the next cycle", "[discovery][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 3, .base_ip = "127.21.3.1"});
  REQUIRE(discover(db, sim).code == 0);
  const std::string id = db.scalar("SELECT id FROM workers WHERE host(ip) = '127.21.3.2'");
  db.exec(
      "UPDATE miners SET next_poll_at = now() + interval '1 hour', consecutive_failures = 5 "
      "WHERE worker_id = " +
      id);
  db.exec("INSERT INTO miner_rescan_requests (worker_id, requested_by) VALUES (" + id +
          ", 'test')");
  sim.reset_stats();
  auto r = discover(db, sim);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(db.scalar("SELECT outcome FROM miner_rescan_requests") ==
        "found at 127.21.3.2; model, key and polls refreshed");
  CHECK(db.count("SELECT 1 FROM miner_rescan_requests WHERE handled_at IS NULL") == 0);
  CHECK(db.scalar("SELECT (next_poll_at <= now()) || ' ' || consecutive_failures FROM miners "
                  "WHERE worker_id = " +
                  id) == "true 0");
  CHECK(sim.requests(1, "/api/v1/auth-check") == 1);  // its key was verified
  CHECK(sim.requests(1, "/api/v1/model") == 1);       // its model re-read
}

TEST_CASE("discovery --dry-run reports what it would do and writes nothing", "[discovery][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 4, .base_ip = "127.21.4.1"});
  const std::string before = table_fingerprint(db);
  std::vector<std::string> args = {"--dry-run", "--set", "discovery.networks=" + sim.network(),
                                   "--set", "discovery.port=" + std::to_string(sim.port())};
  auto r = run(binary("discovery-worker"), args, asic_env(db));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(table_fingerprint(db) == before);
  int adds = 0, provisions = 0;
  for (const auto& line : split(std::string(trim(r.out)), '\n')) {
    auto j = nlohmann::json::parse(line);
    if (j.value("action", "") == "add_miner") ++adds;
    if (j.value("action", "") == "provision_api_key") ++provisions;
  }
  CHECK(adds == 4);
  CHECK(provisions == 4);
  CHECK(sim.requests(0, "/api/v1/unlock") == 0);  // nothing sent that changes a miner
}

TEST_CASE("discovery refuses bad networks and a missing secret key", "[discovery][e2e]") {
  TestDatabase db;
  auto bad = run(binary("discovery-worker"),
                 {"--config-check", "--set", "discovery.networks=10.0.0.5/24"}, asic_env(db));
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Contains("discovery.networks"));
  CHECK_THAT(bad.err, Contains("did you mean 10.0.0.0/24"));
  auto env = asic_env(db);
  env.env.erase("FLEET_SECRET_KEY");
  env.unset_env.push_back("FLEET_SECRET_KEY");
  auto no_key = run(binary("discovery-worker"),
                    {"--config-check", "--set", "discovery.networks=10.0.0.0/24"}, env);
  CHECK(no_key.code == 2);
  CHECK_THAT(no_key.err, Contains("FLEET_SECRET_KEY"));
  auto ok = run(binary("discovery-worker"),
                {"--config-check", "--set", "discovery.networks=10.0.0.0/24"}, asic_env(db));
  INFO(ok.err);
  CHECK(ok.code == 0);
}
