// The control API's routes, bodies and errors, against a recording fake fleet.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "control_api.h"
#include "sim_fixtures.h"

using namespace fleet;
using namespace fleet::minersim;
using namespace fleet::minersim::test;
using nlohmann::json;

namespace {

class FakeFleet final : public FleetControl {
 public:
  int count() const override { return 3; }
  std::vector<MinerView> list() override {
    std::vector<MinerView> out;
    for (int i = 0; i < 3; ++i) {
      MinerView v;
      v.index = i;
      v.ip = "127.20.0." + std::to_string(i + 1);
      v.faults = {"slow=2000"};
      out.push_back(v);
    }
    return out;
  }
  Result<MinerView> get(int index) override {
    MinerView v = list()[index];
    v.api_keys = 2;
    v.preset = "disabled";
    v.miner_state = "mining";
    return v;
  }
  Status add_fault(int index, const Fault& fault) override {
    calls.push_back("add " + std::to_string(index) + " " + describe(fault));
    return {};
  }
  Status clear_faults(int index, std::optional<FaultKind> kind) override {
    calls.push_back("clear " + std::to_string(index) +
                    (kind ? " " + std::string(to_string(*kind)) : ""));
    return {};
  }
  Status set_online(int index, bool online) override {
    calls.push_back((online ? "online " : "offline ") + std::to_string(index));
    return {};
  }
  Status reboot(int index, std::optional<std::chrono::seconds> down) override {
    calls.push_back("reboot " + std::to_string(index) + " " +
                    (down ? std::to_string(down->count()) : "default"));
    return {};
  }
  Status move(int index, uint32_t ip) override {
    if (ip == 0x7f140001) return Error(ErrorKind::kAlreadyExists, "taken by miner 0");
    calls.push_back("move " + std::to_string(index) + " " + format_ip(ip));
    return {};
  }
  Result<std::vector<int>> add_fault_bulk(const Selector& selector, const Fault& fault) override {
    calls.push_back("bulk " + selector.text + " " + describe(fault));
    return std::vector<int>{0, 2};
  }
  void clear_all_faults() override { calls.push_back("clear all"); }
  StatsView stats() override {
    StatsView s;
    s.requests["/api/v1/summary"] = 5;
    s.per_miner[1]["/api/v1/summary"] = 5;
    return s;
  }
  void reset_stats() override { calls.push_back("reset stats"); }

  std::vector<std::string> calls;
};

struct Answer {
  int status;
  json body;
};

Answer ask(ControlApi& api, const std::string& method, const std::string& target,
           const std::string& body = "") {
  minersim::http::Request req;
  req.method = method;
  req.target = target;
  const auto q = target.find('?');
  req.path = std::string_view(req.target).substr(0, q);
  if (q != std::string::npos) req.query = std::string_view(req.target).substr(q + 1);
  req.body = body;
  minersim::http::Response out;
  api.handle(req, out);
  const std::string text = body_of(out);
  return {out.status, text.empty() ? json() : json::parse(text)};
}

}  // namespace

TEST_CASE("miner-sim: control API: listing and inspecting miners", "[minersim][control]") {
  FakeFleet fleet;
  ControlApi api(fleet, 10);
  auto list = ask(api, "GET", "/miners");
  CHECK(list.status == 200);
  REQUIRE(list.body.size() == 3);
  CHECK(list.body[1]["ip"] == "127.20.0.2");
  CHECK(list.body[1]["faults"] == json({"slow=2000"}));
  for (const char* k : {"index", "ip", "mac", "model", "fw_version", "online", "faults"}) {
    CHECK(list.body[0].contains(k));
  }
  auto one = ask(api, "GET", "/miners/2");
  CHECK(one.status == 200);
  CHECK(one.body["api_keys"] == 2);
  CHECK(one.body["preset"] == "disabled");
  CHECK(one.body["miner_state"] == "mining");
  CHECK(ask(api, "GET", "/miners/3").status == 404);
  CHECK(ask(api, "GET", "/miners/x").status == 404);
  CHECK(ask(api, "POST", "/miners").status == 405);
  CHECK(ask(api, "GET", "/nope").status == 404);
}

TEST_CASE("miner-sim: control API: faults per miner and in bulk", "[minersim][control]") {
  FakeFleet fleet;
  ControlApi api(fleet, 10);
  CHECK(ask(api, "POST", "/miners/1/faults", R"({"kind":"slow","arg":1500})").status == 204);
  CHECK(ask(api, "POST", "/miners/1/faults", R"({"kind":"huge","arg":"2MiB"})").status == 204);
  CHECK(ask(api, "POST", "/miners/1/faults", R"({"kind":"garbage","path":"/api/v1/summary"})")
            .status == 204);
  CHECK(ask(api, "POST", "/miners/1/faults", R"({"kind":"reboot"})").status == 204);
  auto bad = ask(api, "POST", "/miners/1/faults", R"({"kind":"slo"})");
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body["error"].get<std::string>(), Catch::Matchers::Contains("field 'kind'"));
  CHECK(ask(api, "POST", "/miners/1/faults", R"({"arg":1})").status == 400);
  CHECK(ask(api, "POST", "/miners/1/faults", R"({"kind":"slow","arg":true})").status == 400);
  CHECK(ask(api, "POST", "/miners/1/faults", R"({"kind":"reset","arg":1})").status == 400);
  CHECK(ask(api, "POST", "/miners/1/faults", "not json").status == 400);
  CHECK(ask(api, "DELETE", "/miners/1/faults").status == 204);
  CHECK(ask(api, "DELETE", "/miners/1/faults?kind=slow").status == 204);
  CHECK(ask(api, "DELETE", "/miners/1/faults?kind=bogus").status == 400);
  CHECK(ask(api, "POST", "/faults", R"({"selector":"10%","kind":"timeout"})").status == 204);
  CHECK(ask(api, "POST", "/faults", R"({"selector":"x","kind":"timeout"})").status == 400);
  CHECK(ask(api, "POST", "/faults", R"({"kind":"timeout"})").status == 400);
  CHECK(ask(api, "DELETE", "/faults").status == 204);
  CHECK(fleet.calls == std::vector<std::string>{"add 1 slow=1500", "add 1 huge=2097152",
                                                "add 1 garbage@/api/v1/summary", "add 1 reboot=10",
                                                "clear 1", "clear 1 slow", "bulk 10% timeout",
                                                "clear all"});
}

TEST_CASE("miner-sim: control API: offline, online, reboot, move", "[minersim][control]") {
  FakeFleet fleet;
  ControlApi api(fleet, 10);
  CHECK(ask(api, "POST", "/miners/0/offline").status == 204);
  CHECK(ask(api, "POST", "/miners/0/online").status == 204);
  CHECK(ask(api, "POST", "/miners/0/reboot").status == 204);
  CHECK(ask(api, "POST", "/miners/0/reboot", R"({"seconds":3})").status == 204);
  CHECK(ask(api, "POST", "/miners/0/reboot", R"({"seconds":-3})").status == 400);
  CHECK(ask(api, "GET", "/miners/0/reboot").status == 405);
  CHECK(ask(api, "POST", "/miners/2/move", R"({"ip":"127.20.9.9"})").status == 204);
  auto taken = ask(api, "POST", "/miners/2/move", R"({"ip":"127.20.0.1"})");
  CHECK(taken.status == 409);
  CHECK(ask(api, "POST", "/miners/2/move", R"({"ip":"300.1.1.1"})").status == 400);
  CHECK(ask(api, "POST", "/miners/2/move", R"({})").status == 400);
  CHECK(fleet.calls == std::vector<std::string>{"offline 0", "online 0", "reboot 0 default",
                                                "reboot 0 3", "move 2 127.20.9.9"});
}

TEST_CASE("miner-sim: control API: request statistics", "[minersim][control]") {
  FakeFleet fleet;
  ControlApi api(fleet, 10);
  auto stats = ask(api, "GET", "/stats");
  CHECK(stats.status == 200);
  CHECK(stats.body["requests"]["/api/v1/summary"] == 5);
  CHECK(stats.body["per_miner"]["1"]["/api/v1/summary"] == 5);
  CHECK(ask(api, "POST", "/stats/reset").status == 204);
  CHECK(fleet.calls.back() == "reset stats");
  CHECK(ask(api, "GET", "/health").body["status"] == "ok");
}
