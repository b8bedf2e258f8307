// The client's relay controllers and mappings, the power actions and command reasons, and
// `fleetctl api relays` over a scripted transport.
#include <catch2/catch.hpp>

#include <sstream>

#include <nlohmann/json.hpp>

#include "api_commands.h"
#include "fake_transport.h"

using namespace fleet;
using fleet::test::fake_options;
using fleet::test::FakeTransport;
using fleet::test::ok;
using nlohmann::json;

namespace {

const char* kControllers =
    R"({"items":[{"id":4,"name":"rack-a","driver":"fleetward","topic":"rack-a","channels":8,
    "site":null,"description":"","online":true,"availability_at":"2026-01-05T09:00:00Z",
    "created_at":"2026-01-05T09:00:00Z","updated_at":"2026-01-05T09:00:00Z","mapped_workers":1},
    {"id":12,"name":"4","driver":"tasmota","topic":"plug","channels":1,"site":"hall","description":"x",
    "online":null,"availability_at":null,"created_at":"2026-01-05T09:00:00Z",
    "updated_at":"2026-01-05T09:00:00Z","mapped_workers":0}],"next":null,"limit":1000})";

const char* kMapping =
    R"({"worker_id":7,"worker_name":"m7","worker_kind":"asic","controller_id":4,"controller_name":"rack-a",
    "controller_driver":"fleetward","controller_online":false,"controller_availability_at":null,"channel":3,
    "wiring":"power_button","pulse_ms":500,"hold_ms":6000,"off_ms":10000,
    "created_at":"2026-01-05T09:00:00Z","updated_at":"2026-01-05T09:00:00Z"})";

}  // namespace

TEST_CASE("client relays: controllers and mappings are parsed with their nulls") {
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest& r) {
    if (r.target.rfind("/api/relay-controllers", 0) == 0) return ok(kControllers);
    if (r.target == "/api/workers/7")
      return ok(std::string(R"({"id":7,"relay":)") + kMapping + "}");
    if (r.target == "/api/workers/8") return ok(R"({"id":8,"relay":null})");
    return ok(R"({"error":{"code":"not_found","message":"no"}})", 404);
  });
  client::Client c(fake_options(t));
  auto all = c.relays().controllers();
  REQUIRE(all.size() == 2);
  CHECK(all[0].online == true);
  CHECK(all[0].mapped_workers == 1);
  CHECK_FALSE(all[0].site.has_value());
  CHECK_FALSE(all[1].online.has_value());
  CHECK(all[1].site == "hall");

  auto m = c.relays().mapping(7);
  REQUIRE(m.has_value());
  CHECK(m->channel == 3);
  CHECK(m->wiring == "power_button");
  CHECK(m->controller_online == false);
  CHECK_FALSE(c.relays().mapping(8).has_value());
  CHECK_THROWS_AS(c.relays().mapping(9), client::NotFoundError);
}

TEST_CASE("client relays: a controller is found by id first, then by name") {
  auto t =
      std::make_shared<FakeTransport>([](const client::HttpRequest&) { return ok(kControllers); });
  client::Client c(fake_options(t));
  CHECK(c.relays().find_controller("4").name == "rack-a");  // id 4, though one is named "4"
  CHECK(c.relays().find_controller("12").name == "4");
  CHECK(c.relays().find_controller("rack-a").id == 4);
  CHECK_THROWS_AS(c.relays().find_controller("rack-z"), client::NotFoundError);
}

TEST_CASE("client relays: map sends the controller, channel, wiring and only the timings given") {
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest& r) {
    if (r.method == "PATCH") return ok(json::parse(kControllers)["items"][0].dump());
    return ok(kMapping);
  });
  client::Client c(fake_options(t));
  c.relays().map(7,
                 {.controller = "rack-a", .channel = 3, .wiring = "power_button", .pulse_ms = 300});
  REQUIRE(t->requests.size() == 1);
  CHECK(t->requests[0].method == "PUT");
  CHECK(t->requests[0].target == "/api/workers/7/relay");
  CHECK(json::parse(t->requests[0].body) == json{{"controller", "rack-a"},
                                                 {"channel", 3},
                                                 {"wiring", "power_button"},
                                                 {"pulse_ms", 300}});
  c.relays().map(7, {.controller_id = 4, .channel = 3, .wiring = "mains"});
  CHECK(json::parse(t->requests[1].body) ==
        json{{"controller_id", 4}, {"channel", 3}, {"wiring", "mains"}});
  c.relays().update_controller(4, {.site = ""});
  CHECK(t->requests[2].method == "PATCH");
  CHECK(json::parse(t->requests[2].body) == json{{"site", nullptr}});  // "" clears it
}

TEST_CASE(
    "client commands: power actions need confirm, and commands carry held_reason and the press "
    "length") {
  for (const char* a : {"power_cycle", "power_off", "power_on", "power_button"})
    CHECK(client::needs_confirm(a));
  CHECK_FALSE(client::needs_confirm("restart_mining"));
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest&) {
    return ok(
        R"({"id":5,"worker_id":7,"worker_name":"m7","action":"power_button","params":{"ms":300},
      "channel":"relay","origin":"user","state":"queued","held_reason":"rate limit","attempts":0,
      "max_attempts":3,"requested_by":"ops","sent_at":null})",
        201);
  });
  client::Client c(fake_options(t));
  auto cmd = c.commands().queue(7, {.action = "power_button", .press_ms = 300, .confirm = true});
  CHECK(json::parse(t->requests[0].body)["params"] == json{{"ms", 300}});
  CHECK(cmd.held_reason == "rate limit");
  CHECK(cmd.max_attempts == 3);
  CHECK(cli::command_reason(cmd) == "held: rate limit");
  cmd.state = "skipped";
  cmd.skip_reason = "daily cap";
  cmd.last_error = "timeout";
  CHECK(cli::command_reason(cmd) == "skipped: daily cap; error: timeout");
}

TEST_CASE("fleetctl api command exec: needs --yes and --cmd, sends the command as params.cmd") {
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest&) {
    return ok(
        R"({"id":9,"worker_id":7,"worker_name":"rig7","action":"exec","params":{"cmd":"nvidia-smi"},
      "channel":"hiveos","origin":"user","state":"queued","attempts":0,"max_attempts":1,
      "requested_by":"ops","sent_at":null})",
        201);
  });
  client::Client c(fake_options(t));
  std::ostringstream out, err;
  CHECK(cli::api_command(c, {.worker_id = 7, .action = "exec", .cmd = "nvidia-smi"}, out, err) ==
        2);
  CHECK(err.str().find("runs a shell command on worker 7; add --yes") != std::string::npos);
  CHECK(cli::api_command(c, {.worker_id = 7, .action = "exec", .yes = true}, out, err) == 2);
  CHECK(err.str().find("exec needs --cmd") != std::string::npos);
  CHECK(cli::api_command(c, {.worker_id = 7, .action = "restart_mining", .cmd = "ls"}, out, err) ==
        2);
  CHECK(err.str().find("--cmd is for exec only") != std::string::npos);
  CHECK(cli::api_command(
            c, {.worker_id = 7, .action = "exec", .cmd = std::string(1001, 'x'), .yes = true}, out,
            err) == 2);
  CHECK(t->requests.empty());
  CHECK(cli::api_command(c, {.worker_id = 7, .action = "exec", .cmd = "nvidia-smi", .yes = true},
                         out, err) == 0);
  REQUIRE(t->requests.size() == 1);
  const auto body = json::parse(t->requests[0].body);
  CHECK(body["params"] == json{{"cmd", "nvidia-smi"}});
  CHECK(body["confirm"] == true);
  CHECK(out.str().find("exec") != std::string::npos);
}

TEST_CASE("fleetctl api relays: power actions need --yes, map resolves names, lists print") {
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest& r) {
    if (r.target.rfind("/api/relay-controllers", 0) == 0) return ok(kControllers);
    if (r.target.rfind("/api/workers?", 0) == 0) {
      return ok(
          R"({"items":[{"id":70,"kind":"asic","name":"m7-old","status":"online","managed":true,"labels":{}},
                 {"id":7,"kind":"asic","name":"m7","status":"online","managed":true,"labels":{}}],"next":null,"limit":1000})");
    }
    if (r.target.rfind("/api/relay-mappings", 0) == 0)
      return ok(std::string(R"({"items":[)") + kMapping + "]}");
    return ok(kMapping);
  });
  client::Client c(fake_options(t));
  std::ostringstream out, err;
  CHECK(cli::api_command(c, {.worker_id = 7, .action = "power_off"}, out, err) == 2);
  CHECK(err.str().find("switches the power of worker 7; add --yes") != std::string::npos);
  CHECK(cli::api_command(c, {.worker_id = 7, .action = "reboot", .press_ms = 100, .yes = true}, out,
                         err) == 2);
  CHECK(t->requests.empty());

  CHECK(cli::api_relay_map(
            c, {.worker = "m7", .controller = "rack-a", .channel = 3, .wiring = "power_button"},
            out) == 0);
  const auto& put = t->requests.back();
  CHECK(put.method == "PUT");
  CHECK(put.target == "/api/workers/7/relay");  // the exact name, not "m7-old"
  CHECK(json::parse(put.body)["controller_id"] == 4);
  CHECK(out.str().find("worker 7 (m7) is on rack-a channel 3") != std::string::npos);

  std::ostringstream list;
  CHECK(cli::api_relays_list(c, "", false, list) == 0);
  CHECK(list.str().find("rack-a") != std::string::npos);
  CHECK(list.str().find("press 500 ms, hold 6000 ms") != std::string::npos);
  CHECK(list.str().find("offline") != std::string::npos);
  std::ostringstream controllers;
  CHECK(cli::api_relay_controllers_list(c, false, controllers) == 0);
  CHECK(controllers.str().find("unknown") != std::string::npos);  // never heard from
  std::ostringstream nothing, why;
  CHECK(cli::api_relay_controller_update(c, "rack-a", {}, nothing, why) == 2);
  CHECK(why.str().find("nothing to change") != std::string::npos);
}
