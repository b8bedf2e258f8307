// The action-dispatcher carrying commands out through the Vnish firmware API of miner-sim.
#include <catch2/catch.hpp>

#include "dispatch_fixture.h"
#include "gateway_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

TEST_CASE("a queued reboot reaches the miner, which goes away and comes back", "[dispatch][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 3, .base_ip = "127.23.1.1", .extra_args = {"--reboot-seconds", "2"}});
  prepare_miners(db, sim);
  const auto id = queue_command(db, miner_worker(db, "127.23.1.2"), "reboot");
  auto r = dispatch_once(db, {"--set", "dispatch.reboot_after=1"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(command_field(db, id, "state") == "succeeded");
  CHECK(command_field(db, id, "attempts") == "1");
  CHECK(command_field(db, id, "result->>'after'") == "1");
  CHECK(command_field(db, id, "sent_at IS NOT NULL AND finished_at >= sent_at") == "true");
  CHECK(sim.requests(1, "/api/v1/system/reboot") == 1);
  CHECK(sim.requests(0, "/api/v1/system/reboot") == 0);
  CHECK(eventually([&] { return sim.get("/miners/1")["online"] == false; },
                   std::chrono::seconds(10)));
  CHECK(eventually(
      [&] {
        auto m = sim.get("/miners/1");
        return m["online"] == true && m["rebooting"] == false;
      },
      std::chrono::seconds(15)));
}

TEST_CASE("a preset switch is verified by reading it back", "[dispatch][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 2, .base_ip = "127.23.2.1"});
  prepare_miners(db, sim);
  const auto w = miner_worker(db, "127.23.2.1");
  const std::string preset = db.scalar(
      "SELECT mo.presets->2->>'name' FROM miners m JOIN models mo ON mo.alias = m.model_alias "
      "WHERE m.worker_id = " +
      std::to_string(w));
  REQUIRE(!preset.empty());
  REQUIRE(sim.get("/miners/0")["preset"] != preset);
  const auto ok = queue_command(db, w, "set_preset", R"({"preset": ")" + preset + R"("})");
  // The firmware answers "saved" for a preset it does not have, and keeps the old one.
  const auto bogus =
      queue_command(db, miner_worker(db, "127.23.2.2"), "set_preset", R"({"preset": "9999"})");
  auto r = dispatch_once(db);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(command_field(db, ok, "state") == "succeeded");
  CHECK(command_field(db, ok, "result->>'verified'") == "true");
  CHECK(sim.get("/miners/0")["preset"] == preset);
  CHECK(command_field(db, bogus, "state") == "failed");
  CHECK_THAT(command_field(db, bogus, "last_error"),
             Contains("answered success but did not switch to preset '9999'"));
  CHECK(command_field(db, bogus, "result->>'verified'") == "false");
  // A final failure is something to tell people about.
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'command.failed' AND dedupe_key = "
                 "'command:" +
                 std::to_string(bogus) + ":failed'") == 1);
}

TEST_CASE("mining control and the locate LED reach the firmware once each", "[dispatch][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 4, .base_ip = "127.23.3.1"});
  prepare_miners(db, sim);
  struct Step {
    int miner;
    std::string action, path, params;
  };
  // Start follows a stop and resume a pause: the firmware refuses them otherwise.
  const std::vector<std::vector<Step>> rounds = {
      {{0, "restart_mining", "/api/v1/mining/restart", "{}"},
       {1, "stop_mining", "/api/v1/mining/stop", "{}"},
       {2, "pause_mining", "/api/v1/mining/pause", "{}"},
       {3, "find_miner", "/api/v1/find-miner", R"({"on": true})"}},
      {{1, "start_mining", "/api/v1/mining/start", "{}"},
       {2, "resume_mining", "/api/v1/mining/resume", "{}"}}};
  for (const auto& round : rounds) {
    if (&round != &rounds.front()) {
      // Stopping takes the firmware a moment.
      REQUIRE(eventually([&] { return sim.get("/miners/1")["miner_state"] == "stopped"; },
                         std::chrono::seconds(30)));
    }
    std::vector<std::int64_t> ids;
    for (const auto& s : round) {
      ids.push_back(queue_command(db, miner_worker(db, "127.23.3." + std::to_string(s.miner + 1)),
                                  s.action, s.params));
    }
    auto r = dispatch_once(db);
    INFO(r.err);
    REQUIRE(r.code == 0);
    for (std::size_t i = 0; i < round.size(); ++i) {
      INFO(round[i].action);
      CHECK(command_field(db, ids[i], "state") == "succeeded");
      CHECK(sim.requests(round[i].miner, round[i].path) == 1);
    }
  }
  CHECK(sim.get("/miners/3")["find_miner"] == true);
  CHECK(db.scalar("SELECT result->>'on' FROM commands WHERE action = 'find_miner'") == "true");
  SECTION("a refusal by the firmware is final, with its words") {
    const auto again = queue_command(db, miner_worker(db, "127.23.3.3"), "resume_mining");
    auto r = dispatch_once(db);
    CHECK(command_field(db, again, "state") == "failed");
    CHECK(command_field(db, again, "attempts") == "1");
    CHECK_THAT(command_field(db, again, "last_error"), Contains("failed-to-activate-resume-mode"));
  }
}

TEST_CASE("firmware failures end with a clear reason", "[dispatch][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 3, .base_ip = "127.23.4.1"});
  prepare_miners(db, sim);
  SECTION("a firmware answering garbage fails the command") {
    sim.post("/miners/0/faults", {{"kind", "garbage"}, {"path", "/api/v1/settings"}});
    const auto id = queue_command(db, miner_worker(db, "127.23.4.1"), "set_preset",
                                  R"({"preset": "disabled"})");
    auto r = dispatch_once(db);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(command_field(db, id, "state") == "failed");
    CHECK_THAT(command_field(db, id, "last_error"), Contains("garbage"));
  }
  SECTION("an unreachable miner is retried with backoff, then given up") {
    sim.fault(1, "offline");
    const auto id =
        queue_command(db, miner_worker(db, "127.23.4.2"), "restart_mining", "{}", "firmware", 3);
    // Each run sends what is due; the retries come due after their backoff.
    REQUIRE(eventually(
        [&] {
          dispatch_once(db);
          return command_field(db, id, "state") == "failed";
        },
        std::chrono::seconds(30)));
    CHECK(command_field(db, id, "attempts") == "3");
    CHECK_THAT(command_field(db, id, "last_error"), Contains("gave up after 3 attempts"));
    // Nothing reached the miner: the failed attempts do not count against its limits.
    CHECK(command_field(db, id, "sent_at IS NULL") == "true");
  }
  SECTION("a rejected API key is re-provisioned and the command carried out") {
    const std::string before = db.scalar(
        "SELECT m.api_key_enc FROM miners m JOIN workers w ON w.id = m.worker_id "
        "WHERE host(w.ip) = '127.23.4.3'");
    sim.fault(2, "revoked_key");
    const auto id = queue_command(db, miner_worker(db, "127.23.4.3"), "restart_mining");
    auto r = dispatch_once(db);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(command_field(db, id, "state") == "succeeded");
    CHECK(db.scalar("SELECT m.api_key_enc FROM miners m JOIN workers w ON w.id = m.worker_id "
                    "WHERE host(w.ip) = '127.23.4.3'") != before);
    CHECK(sim.requests(2, "/api/v1/mining/restart") == 2);  // rejected once, then accepted
  }
}

TEST_CASE("two dispatchers carry every command out exactly once", "[dispatch][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 6, .base_ip = "127.23.5.1"});
  prepare_miners(db, sim);
  std::vector<std::int64_t> ids;
  for (int round = 0; round < 10; ++round) {
    for (int i = 1; i <= 6; ++i) {
      ids.push_back(
          queue_command(db, miner_worker(db, "127.23.5." + std::to_string(i)), "restart_mining"));
    }
  }
  auto flags = dispatcher_flags({"--set", "dispatch.batch=7"});
  flags.insert(flags.begin(), "--once");
  Process a(binary("action-dispatcher"), flags, asic_env(db));
  Process b(binary("action-dispatcher"), flags, asic_env(db));
  REQUIRE(a.wait(std::chrono::seconds(60)) == 0);
  REQUIRE(b.wait(std::chrono::seconds(60)) == 0);
  CHECK(db.count("SELECT 1 FROM commands WHERE state = 'succeeded' AND attempts = 1") == 60);
  long long total = 0;
  for (int i = 0; i < 6; ++i)
    total += sim.requests(i, "/api/v1/mining/restart");
  CHECK(total == 60);
  // Both took part (each claims in small batches).
  CHECK(db.count("SELECT DISTINCT claimed_by FROM commands") == 2);
}

TEST_CASE("a dispatcher killed between send and record never repeats a non-idempotent command",
          "[dispatch][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 2, .base_ip = "127.23.6.1"});
  prepare_miners(db, sim);
  // The miner takes the reboot and never answers: the dispatcher is still waiting when killed.
  sim.post("/miners/0/faults", {{"kind", "timeout"}, {"path", "/api/v1/system/reboot"}});
  sim.post("/miners/1/faults", {{"kind", "timeout"}, {"path", "/api/v1/settings"}});
  const auto reboot = queue_command(db, miner_worker(db, "127.23.6.1"), "reboot");
  const std::string preset = db.scalar(
      "SELECT mo.presets->1->>'name' FROM miners m JOIN models mo ON mo.alias = m.model_alias "
      "WHERE host((SELECT ip FROM workers WHERE id = m.worker_id)) = '127.23.6.2'");
  const auto idempotent = queue_command(db, miner_worker(db, "127.23.6.2"), "set_preset",
                                        R"({"preset": ")" + preset + R"("})");
  Process first(
      binary("action-dispatcher"),
      dispatcher_flags({"--set", "dispatch.lease=3s", "--set", "firmware.request_timeout=60s"}),
      asic_env(db));
  REQUIRE(eventually(
      [&] {
        return sim.requests(0, "/api/v1/system/reboot") == 1 &&
               sim.requests(1, "/api/v1/settings") >= 1;
      },
      std::chrono::seconds(20)));
  CHECK(command_field(db, reboot, "state") == "sent");
  first.signal(SIGKILL);
  first.wait(std::chrono::seconds(5));
  sim.clear_faults(0);
  sim.clear_faults(1);
  // Another dispatcher rescues both once the lease has run out.
  REQUIRE(eventually(
      [&] {
        dispatch_once(db);
        return command_field(db, reboot, "state") != "sent" &&
               command_field(db, idempotent, "state") == "succeeded";
      },
      std::chrono::seconds(30)));
  CHECK(command_field(db, reboot, "state") == "failed");
  CHECK(command_field(db, reboot, "result->>'uncertain'") == "true");
  CHECK_THAT(command_field(db, reboot, "last_error"), Contains("not sent twice"));
  CHECK(sim.requests(0, "/api/v1/system/reboot") == 1);
  CHECK(command_field(db, idempotent, "attempts") == "2");
  CHECK(sim.get("/miners/1")["preset"] == preset);
}

TEST_CASE("a new command wakes a waiting dispatcher and SIGTERM waits for commands in flight",
          "[dispatch][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 2, .base_ip = "127.23.7.1"});
  prepare_miners(db, sim);
  // Polling alone would take a minute: the NOTIFY is what wakes it.
  Process d(binary("action-dispatcher"), dispatcher_flags({"--interval", "60"}), asic_env(db));
  REQUIRE(eventually([&] { return d.err().find("Starting continuous loop") != std::string::npos; },
                     std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // past its first, empty cycle
  const auto woke = queue_command(db, miner_worker(db, "127.23.7.1"), "restart_mining");
  CHECK(eventually([&] { return command_field(db, woke, "state") == "succeeded"; },
                   std::chrono::seconds(15)));

  sim.post("/miners/1/faults", {{"kind", "slow"}, {"arg", 1500}});
  const auto slow = queue_command(db, miner_worker(db, "127.23.7.2"), "restart_mining");
  REQUIRE(eventually([&] { return command_field(db, slow, "state") == "sent"; },
                     std::chrono::seconds(15)));
  d.signal(SIGTERM);
  CHECK(d.wait(std::chrono::seconds(20)) == 0);
  CHECK(command_field(db, slow, "state") == "succeeded");
}

TEST_CASE("a dry run prints what it would send and changes nothing", "[dispatch][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 1, .base_ip = "127.23.8.1"});
  prepare_miners(db, sim);
  const auto id = queue_command(db, miner_worker(db, "127.23.8.1"), "reboot");
  const std::string before = table_fingerprint(db);
  auto args = dispatcher_flags();
  args.insert(args.begin(), "--dry-run");
  auto r = run(binary("action-dispatcher"), args, asic_env(db));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("\"command_id\":" + std::to_string(id)));
  CHECK_THAT(r.out, Contains("\"decision\":\"send\""));
  CHECK(table_fingerprint(db) == before);
  CHECK(command_field(db, id, "state") == "queued");
  CHECK(sim.requests(0, "/api/v1/system/reboot") == 0);
}

TEST_CASE("a reboot asked for through the API reaches the miner and its life shows in the API",
          "[dispatch][gateway][e2e]") {
  GatewayFixture gw;
  MinerSim sim({.count = 1, .base_ip = "127.23.9.1", .extra_args = {"--reboot-seconds", "3"}});
  prepare_miners(gw.db, sim);
  Process dispatcher(binary("action-dispatcher"),
                     dispatcher_flags({"--set", "dispatch.reboot_after=1"}), asic_env(gw.db));
  const auto worker = miner_worker(gw.db, "127.23.9.1");
  auto queued = gw.as("operator", "POST", "/api/workers/" + std::to_string(worker) + "/commands",
                      R"({"action": "reboot", "confirm": true})");
  REQUIRE(queued.status == 201);
  const std::string path = "/api/commands/" + std::to_string(queued.body["id"].get<long long>());
  ApiAnswer done;
  REQUIRE(eventually(
      [&] {
        done = gw.as("viewer", "GET", path);
        return done.body.value("state", "") == "succeeded";
      },
      std::chrono::seconds(20)));
  CHECK(done.body["attempts"] == 1);
  CHECK(done.body["result"]["after"] == 1);
  CHECK(done.body["finished_at"].is_string());
  CHECK(sim.requests(0, "/api/v1/system/reboot") == 1);
  // The miner goes away for its reboot and comes back.
  CHECK(eventually([&] { return sim.get("/miners/0")["online"] == false; },
                   std::chrono::seconds(10)));
  CHECK(
      eventually([&] { return sim.get("/miners/0")["online"] == true; }, std::chrono::seconds(15)));
}
