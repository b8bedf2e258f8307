// The action-dispatcher's relay channel against a real mosquitto and relay-sim: power actions
// reach the controller and its acknowledgement is recorded; every failure mode ends with its
// reason and never repeats a power action.
#include <catch2/catch.hpp>

#include "dispatch_fixture.h"
#include "mosquitto.h"
#include "relay_sim.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

struct RelaySetup {
  TestDatabase db;
  std::unique_ptr<MosquittoBroker> broker = MosquittoBroker::start();
  std::unique_ptr<RelaySimProcess> sim;
  std::int64_t mains = 0;   // worker on rack-a channel 1 (fleetward layout, mains relay)
  std::int64_t button = 0;  // worker on plug channel 2 (Tasmota, power button)
  std::int64_t unmapped = 0;

  RelaySetup() {
    sim = std::make_unique<RelaySimProcess>(
        broker->address(),
        std::vector<std::string>{"--controller", "rack-a:fleetward:rack-a:4", "--controller",
                                 "plug:tasmota:plug-1:4", "--min-cycle-interval", "0s"});
    if (!sim->ready()) throw std::runtime_error("relay-sim did not connect");
    auto id = [&](const std::string& sql) { return std::stoll(db.scalar(sql)); };
    const auto rack =
        id("INSERT INTO relay_controllers (name, driver, topic, channels) VALUES ('rack-a', "
           "'fleetward', 'rack-a', 4) RETURNING id");
    const auto plug = id(
        "INSERT INTO relay_controllers (name, driver, topic, channels) VALUES ('plug', 'tasmota', "
        "'plug-1', 4) RETURNING id");
    mains =
        id("INSERT INTO workers (kind, name, status) VALUES ('asic', 'm-mains', 'online') "
           "RETURNING id");
    button =
        id("INSERT INTO workers (kind, name, status) VALUES ('asic', 'm-button', 'online') "
           "RETURNING id");
    unmapped =
        id("INSERT INTO workers (kind, name, status) VALUES ('asic', 'm-none', 'online') "
           "RETURNING id");
    db.exec(
        "INSERT INTO relay_mappings (worker_id, controller_id, channel, wiring, off_ms) "
        "VALUES (" +
        std::to_string(mains) + ", " + std::to_string(rack) + ", 1, 'mains', 1000)");
    db.exec(
        "INSERT INTO relay_mappings (worker_id, controller_id, channel, wiring, pulse_ms, "
        "hold_ms, off_ms) VALUES (" +
        std::to_string(button) + ", " + std::to_string(plug) +
        ", 2, 'power_button', 200, "
        "1000, 1000)");
  }

  std::vector<std::string> flags(std::vector<std::string> more = {}) const {
    std::vector<std::string> f = {"--set", "mqtt.port=" + std::to_string(broker->port()),
                                  "--set", "relay.ack_timeout=2s",
                                  "--set", "dispatch.firmware_threads=0"};
    f.insert(f.end(), more.begin(), more.end());
    return dispatcher_flags(f);
  }
  RunResult once(std::vector<std::string> more = {}) {
    auto args = flags(std::move(more));
    args.insert(args.begin(), "--once");
    return run(binary("action-dispatcher"), args, asic_env(db), std::chrono::seconds(60));
  }
  std::uint64_t count(const std::string& controller, int channel, const std::string& op) {
    const nlohmann::json view = sim->controller(controller);
    for (const auto& c : view["channels"]) {
      if (c["channel"] == channel) return c["counts"].value(op, std::uint64_t{0});
    }
    return 0;
  }
};

}  // namespace

TEST_CASE("power actions reach the relay controller and its acknowledgement is recorded",
          "[dispatch][relay][e2e]") {
  RelaySetup s;
  const auto cycle = queue_command(s.db, s.mains, "power_cycle", "{}", "relay");
  const auto press = queue_command(s.db, s.button, "power_cycle", "{}", "relay");
  auto r = s.once();
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(command_field(s.db, cycle, "state") == "succeeded");
  CHECK(command_field(s.db, cycle, "result->>'controller'") == "rack-a");
  CHECK(command_field(s.db, cycle, "result->'steps'->0->>'op'") == "cycle");
  CHECK(command_field(s.db, cycle, "result->'steps'->0->'state'->>'req_id'") ==
        "cmd-" + std::to_string(cycle) + "-1");
  CHECK(s.count("rack-a", 1, "cycle") == 1);
  // Power button wiring: forced off (hold), a pause, then a press (Tasmota PulseTime + POWER).
  CHECK(command_field(s.db, press, "state") == "succeeded");
  CHECK(command_field(s.db, press, "jsonb_array_length(result->'steps')") == "2");
  // Tasmota knows only timed pulses (PulseTime): the hold is a long one, then the short press.
  CHECK(s.count("plug", 2, "pulse") == 2);
  {
    const nlohmann::json plug = s.sim->controller("plug");
    for (const auto& c : plug["channels"]) {
      if (c["channel"] == 2) CHECK(c["last_pulse_ms"] == 200);
    }
  }

  SECTION("a worker without a mapping is skipped, naming the missing mapping") {
    const auto id = queue_command(s.db, s.unmapped, "power_cycle", "{}", "relay");
    s.once();
    CHECK(command_field(s.db, id, "state") == "skipped");
    CHECK_THAT(command_field(s.db, id, "skip_reason"), Contains("no relay mapping"));
  }
}

TEST_CASE("a dropped acknowledgement fails with its reason and is never repeated",
          "[dispatch][relay][e2e]") {
  RelaySetup s;
  REQUIRE(s.sim->post("/controllers/rack-a/faults", R"({"drop_acks": true})") == 200);
  const auto id = queue_command(s.db, s.mains, "power_cycle", "{}", "relay", 5);
  auto r = s.once();
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(command_field(s.db, id, "state") == "failed");
  CHECK_THAT(command_field(s.db, id, "last_error"),
             Contains("no acknowledgement from controller rack-a"));
  CHECK(command_field(s.db, id, "result->>'uncertain'") == "true");
  CHECK(command_field(s.db, id, "attempts") == "1");
  CHECK(s.count("rack-a", 1, "cycle") == 1);  // it did act; the answer was lost
}

TEST_CASE("a controller's last will fails its commands fast and is recorded",
          "[dispatch][relay][e2e]") {
  RelaySetup s;
  // A running dispatcher hears the controller go away and records it.
  Process d(binary("action-dispatcher"), s.flags({"--set", "relay.controller_refresh=200ms"}),
            asic_env(s.db));
  REQUIRE(eventually(
      [&] {
        return s.db.scalar("SELECT online FROM relay_controllers WHERE name = 'rack-a'") == "t";
      },
      std::chrono::seconds(15)));
  REQUIRE(s.sim->post("/controllers/rack-a/away") == 200);
  REQUIRE(eventually(
      [&] {
        return s.db.scalar("SELECT online FROM relay_controllers WHERE name = 'rack-a'") == "f";
      },
      std::chrono::seconds(15)));
  const auto id = queue_command(s.db, s.mains, "power_on", "{}", "relay");
  REQUIRE(eventually([&] { return command_field(s.db, id, "state") == "failed"; },
                     std::chrono::seconds(15)));
  CHECK_THAT(command_field(s.db, id, "last_error"), Contains("controller rack-a is offline"));
  CHECK(s.count("rack-a", 1, "on") == 0);
  // Back: commands go through again.
  REQUIRE(s.sim->post("/controllers/rack-a/back") == 200);
  REQUIRE(eventually(
      [&] {
        return s.db.scalar("SELECT online FROM relay_controllers WHERE name = 'rack-a'") == "t";
      },
      std::chrono::seconds(15)));
  const auto again = queue_command(s.db, s.mains, "power_on", "{}", "relay");
  CHECK(eventually([&] { return command_field(s.db, again, "state") == "succeeded"; },
                   std::chrono::seconds(15)));
}

TEST_CASE("with the broker gone a command is retried, and goes out when it returns",
          "[dispatch][relay][e2e]") {
  RelaySetup s;
  Process d(binary("action-dispatcher"),
            s.flags({"--set", "dispatch.retry_initial=300ms", "--set", "dispatch.retry_max=1s"}),
            asic_env(s.db));
  REQUIRE(eventually([&] { return d.err().find("Starting continuous loop") != std::string::npos; },
                     std::chrono::seconds(20)));
  s.broker->stop();
  const auto id = queue_command(s.db, s.mains, "power_off", "{}", "relay", 50);
  REQUIRE(eventually([&] { return std::stoi(command_field(s.db, id, "attempts")) >= 2; },
                     std::chrono::seconds(20)));
  CHECK(command_field(s.db, id, "state") == "queued");
  CHECK(command_field(s.db, id, "sent_at IS NULL") == "true");  // nothing reached it
  s.broker->restart();
  CHECK(eventually([&] { return command_field(s.db, id, "state") == "succeeded"; },
                   std::chrono::seconds(30)));
  CHECK(s.count("rack-a", 1, "off") == 1);
}

TEST_CASE("a dispatcher killed while waiting for an acknowledgement never repeats the cycle",
          "[dispatch][relay][e2e]") {
  RelaySetup s;
  REQUIRE(s.sim->post("/controllers/rack-a/faults", R"({"ack_delay_ms": 60000})") == 200);
  const auto id = queue_command(s.db, s.mains, "power_cycle", "{}", "relay");
  Process d(binary("action-dispatcher"),
            s.flags({"--set", "dispatch.lease=3s", "--set", "relay.ack_timeout=120s"}),
            asic_env(s.db));
  REQUIRE(eventually([&] { return s.count("rack-a", 1, "cycle") == 1; }, std::chrono::seconds(20)));
  d.signal(SIGKILL);
  d.wait(std::chrono::seconds(5));
  REQUIRE(s.sim->post("/controllers/rack-a/faults", R"({"ack_delay_ms": 0})") == 200);
  REQUIRE(eventually(
      [&] {
        s.once();
        return command_field(s.db, id, "state") == "failed";
      },
      std::chrono::seconds(30)));
  CHECK(command_field(s.db, id, "result->>'uncertain'") == "true");
  CHECK(s.count("rack-a", 1, "cycle") == 1);
}

TEST_CASE("garbage on the state topics changes nothing", "[dispatch][relay][e2e]") {
  RelaySetup s;
  const std::string host = "127.0.0.1", port = std::to_string(s.broker->port());
  auto pub = [&](const std::string& topic, const std::string& payload) {
    return run("/usr/bin/mosquitto_pub", {"-h", host, "-p", port, "-t", topic, "-m", payload});
  };
  Process d(binary("action-dispatcher"), s.flags(), asic_env(s.db));
  REQUIRE(eventually(
      [&] {
        return s.db.scalar("SELECT online FROM relay_controllers WHERE name = 'rack-a'") == "t";
      },
      std::chrono::seconds(15)));
  const std::string state = "fleetward/relay/rack-a/1/state";
  CHECK(pub(state, "{not json").code == 0);
  CHECK(pub(state, std::string(100'000, '[')).code == 0);
  CHECK(pub(state,
            R"({"on":true,"req_id":"cmd-999-1","ts":1,"last_action":"on","result":"ok","x":1})")
            .code == 0);
  CHECK(pub(state, R"({"on":"yes","req_id":7})").code == 0);
  CHECK(pub("fleetward/relay/rack-a/99/state", R"({"on":true})").code == 0);
  CHECK(pub("fleetward/relay/rack-a/status", "maybe").code == 0);
  CHECK(pub("stat/plug-1/POWER2", "SIDEWAYS").code == 0);
  // Still online, still working, and nothing was acknowledged by the garbage.
  const auto id = queue_command(s.db, s.mains, "power_on", "{}", "relay");
  CHECK(eventually([&] { return command_field(s.db, id, "state") == "succeeded"; },
                   std::chrono::seconds(15)));
  CHECK(s.db.scalar("SELECT online FROM relay_controllers WHERE name = 'rack-a'") == "t");
  CHECK(d.running());
}
