// The escalation ladder end to end (issue 10.6): a rule that keeps firing on a simulated miner
// walks restart mining -> reboot -> relay power cycle, each step carried out by the dispatcher, and
// says once that the ladder is exhausted; a miner that recovers after the first step stops its
// ladder.
#include <catch2/catch.hpp>

#include "dispatch_fixture.h"
#include "mosquitto.h"
#include "relay_sim.h"

using namespace fleet;
using namespace fleet::test;

TEST_CASE("the escalation ladder runs end to end and stops for a miner that recovers",
          "[dispatch][escalation][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 2, .base_ip = "127.25.1.1", .extra_args = {"--reboot-seconds", "1"}});
  prepare_miners(db, sim);
  auto broker = MosquittoBroker::start();
  RelaySimProcess relays(broker->address(), {"--controller", "rack-a:fleetward:rack-a:4",
                                             "--min-cycle-interval", "0s"});
  REQUIRE(relays.ready());
  const auto hot = miner_worker(db, "127.25.1.1");
  const auto recovers = miner_worker(db, "127.25.1.2");
  db.exec(
      "INSERT INTO relay_controllers (id, name, driver, topic, channels) VALUES "
      "(1, 'rack-a', 'fleetward', 'rack-a', 4)");
  for (auto [worker, channel] : {std::pair{hot, 1}, std::pair{recovers, 2}}) {
    db.exec(
        "INSERT INTO relay_mappings (worker_id, controller_id, channel, wiring, off_ms) "
        "VALUES (" +
        std::to_string(worker) + ", 1, " + std::to_string(channel) + ", 'mains', 1000)");
    db.exec("INSERT INTO metrics_latest (worker_id, metric, value, observed_at) VALUES (" +
            std::to_string(worker) + ", 'chip_temp_max', 95, now())");
  }
  db.exec(
      "INSERT INTO rules (name, condition, severity, actions) VALUES ('asic-hot', "
      "'chip_temp_max > 90', 'critical', '[{\"action\": \"restart_mining\"}, {\"action\": "
      "\"reboot\", \"after\": \"5s\"}, {\"action\": \"power_cycle\", \"after\": \"10s\"}]')");

  Process dispatcher(
      binary("action-dispatcher"),
      dispatcher_flags({"--set", "mqtt.port=" + std::to_string(broker->port()), "--set",
                        "relay.ack_timeout=3s", "--set", "dispatch.reboot_after=0"}),
      asic_env(db));
  Process evaluator(
      binary("alert-evaluator"),
      {"--interval", "0.5", "--health-port", "0", "--set", "alerts.worker_cooldown=0s", "--set",
       "alerts.fleet_rate_limit=1000", "--set", "alerts.escalation_exhausted_after=5s"},
      worker_env(db));
  auto commands_of = [&](std::int64_t worker, const std::string& state) {
    return db.scalar(
        "SELECT coalesce(string_agg(action, ',' ORDER BY step), '') FROM commands "
        "WHERE worker_id = " +
        std::to_string(worker) + " AND state = '" + state + "'");
  };
  // The second miner recovers as soon as its first step has been carried out.
  REQUIRE(eventually([&] { return commands_of(recovers, "succeeded") == "restart_mining"; },
                     std::chrono::seconds(20)));
  db.exec("UPDATE metrics_latest SET value = 60, observed_at = now() WHERE worker_id = " +
          std::to_string(recovers));

  REQUIRE(eventually(
      [&] {
        return db.count(
                   "SELECT 1 FROM notifications WHERE event = 'alert.escalation_exhausted' "
                   "AND worker_id = " +
                   std::to_string(hot)) == 1;
      },
      std::chrono::seconds(60)));
  INFO(evaluator.err());
  INFO(dispatcher.err());
  CHECK(commands_of(hot, "succeeded") == "restart_mining,reboot,power_cycle");
  CHECK(sim.requests(0, "/api/v1/mining/restart") == 1);
  CHECK(sim.requests(0, "/api/v1/system/reboot") == 1);
  const nlohmann::json rack = relays.controller("rack-a");
  CHECK(rack["channels"][0]["counts"]["cycle"] == 1);
  CHECK(rack["channels"][1]["counts"]["cycle"] == 0);
  // The recovered miner's ladder stopped after its first step, its alert resolved.
  CHECK(db.count("SELECT 1 FROM commands WHERE worker_id = " + std::to_string(recovers)) == 1);
  CHECK(db.count("SELECT 1 FROM alerts WHERE worker_id = " + std::to_string(recovers) +
                 " AND state = 'resolved'") == 1);
  CHECK(sim.requests(1, "/api/v1/system/reboot") == 0);
  // Exhausted once, however long it keeps firing.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'alert.escalation_exhausted'") == 1);
}
