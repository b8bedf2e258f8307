// miner-sim end to end: the built binary with a few hundred miners on loopback addresses, driven
// over real sockets (docs/tools/miner-sim.md).
#include <catch2/catch.hpp>

#include <set>

#include "sim_process.h"

using namespace fleet::test;
using nlohmann::json;
using Outcome = RawAnswer::Outcome;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr const char* kKey = "0123456789abcdef0123456789abcdef";

std::string unlock(const SimProcess& sim, int miner) {
  auto r = sim.post(miner, "/api/v1/unlock", R"({"pw":"admin"})");
  REQUIRE(r.status == 200);
  return r.json()["token"];
}

}  // namespace

TEST_CASE("miner-sim: every simulated address answers, empty addresses refuse", "[minersim][e2e]") {
  SimProcess sim(300, "127.21.1.1");
  REQUIRE(sim.ready());
  CHECK_THAT(
      sim.process().out(),
      Catch::Matchers::Contains("miner-sim: 300 miners on 127.21.1.1..127.21.2.44:" +
                                std::to_string(sim.port()) + ", control " + sim.control_url()));
  std::set<std::string> macs;
  for (int i : {0, 1, 2, 150, 254, 255, 299}) {
    auto info = sim.get(i, "/api/v1/info");
    REQUIRE(info.status == 200);
    const json j = info.json();
    CHECK(j["fw_name"] == "Vnish");
    CHECK(j["system"]["network_status"]["ip"] == sim.ip(i));
    macs.insert(j["system"]["network_status"]["mac"]);
  }
  CHECK(macs.size() == 7);
  CHECK(refuses(sim.ip(300), sim.port()));                              // one past the last miner
  CHECK(refuses("127.21.200.7", sim.port()));                           // nowhere near
  CHECK(refuses(sim.ip(0), sim.port() == 65535 ? 1 : sim.port() + 1));  // wrong port
  auto miners = sim.control("GET", "/miners");
  REQUIRE(miners.status == 200);
  CHECK(miners.json().size() == 300);
  CHECK(miners.json()[299]["ip"] == sim.ip(299));
  // Models round-robin: s19, s19jpro, s21.
  CHECK(sim.get(0, "/api/v1/model").json()["model"] == "s19");
  CHECK(sim.get(1, "/api/v1/model").json()["model"] == "s19jpro");
  CHECK(sim.get(2, "/api/v1/model").json()["chain"]["chips_per_chain"] == 108);
}

TEST_CASE("miner-sim: unlock, API key provisioning, key-protected summary, token expiry",
          "[minersim][e2e]") {
  SimProcess sim(5, "127.21.2.1", {"--token-ttl", "2", "--password", "s3cret"});
  REQUIRE(sim.ready());
  auto wrong = sim.post(0, "/api/v1/unlock", R"({"pw":"admin"})");
  CHECK(wrong.status == 403);
  CHECK(wrong.body == "Wrong password");
  auto ok = sim.post(0, "/api/v1/unlock", R"({"pw":"s3cret"})");
  REQUIRE(ok.status == 200);
  const std::string token = ok.json()["token"];

  CHECK(sim.get(0, "/api/v1/summary").status == 401);
  auto bad_key = sim.post(0, "/api/v1/apikeys",
                          R"({"key":"this-is-not-hex-this-is-not-hex!","description":"fleetward"})",
                          "", token);
  CHECK(bad_key.status == 422);
  CHECK(bad_key.body == "Wrong apikey format");
  auto added = sim.post(0, "/api/v1/apikeys",
                        json{{"key", kKey}, {"description", "fleetward"}}.dump(), "", token);
  CHECK(added.status == 200);
  CHECK(added.json()["status"] == "inserted");
  auto keys = request(sim.ip(0), sim.port(), "GET", "/api/v1/apikeys", "", "", token);
  CHECK(keys.json() ==
        json::parse(R"([{"key":"0123456789abcdef0123456789abcdef","description":"fleetward"}])"));
  auto summary = sim.get(0, "/api/v1/summary", kKey);
  REQUIRE(summary.status == 200);
  CHECK(summary.json()["miner"]["miner_status"]["miner_state"] == "mining");
  CHECK(sim.get(1, "/api/v1/summary", kKey).status == 401);  // keys are per miner

  std::this_thread::sleep_for(milliseconds(2300));  // --token-ttl 2
  CHECK(request(sim.ip(0), sim.port(), "GET", "/api/v1/apikeys", "", "", token).status == 401);
  CHECK(sim.get(0, "/api/v1/summary", kKey).status == 200);  // keys do not expire
  auto detail = sim.control("GET", "/miners/0");
  CHECK(detail.json()["api_keys"] == 1);
  CHECK(detail.json()["api_key_descriptions"] == json({"fleetward"}));
}

TEST_CASE("miner-sim: every fault kind from the command line behaves as documented",
          "[minersim][e2e][faults]") {
  SimProcess sim(40, "127.21.3.1", {"--api-key",        kKey,
                                    "--reboot-seconds", "6",
                                    "--fault",          "1:slow=1200",
                                    "--fault",          "2:reset",
                                    "--fault",          "3:timeout",
                                    "--fault",          "4:garbage",
                                    "--fault",          "5:truncated",
                                    "--fault",          "6:huge=8MiB",
                                    "--fault",          "7:deep=50000",
                                    "--fault",          "8:wrong_types",
                                    "--fault",          "9:revoked_key",
                                    "--fault",          "10:offline",
                                    "--fault",          "11:failing_chain=2",
                                    "--fault",          "12:reboot",
                                    "--fault",          "13:cut_transfer",
                                    "--fault",          "14:failure",
                                    "--fault",          "15:garbage@/api/v1/summary",
                                    "--fault",          "16:fan_lost=1",
                                    "--fault",          "20-29:slow=100"});
  REQUIRE(sim.ready());
  // reboot (checked first: it ends after --reboot-seconds): gone now, back later.
  CHECK(refuses(sim.ip(12), sim.port()));
  const auto summary = [&](int i, milliseconds timeout = seconds(5)) {
    return sim.get(i, "/api/v1/summary", kKey, timeout);
  };
  REQUIRE(summary(0).status == 200);
  CHECK(summary(0).elapsed < milliseconds(1000));

  auto slow = summary(1);
  CHECK(slow.status == 200);
  CHECK(slow.elapsed >= milliseconds(1150));
  CHECK(slow.valid_json());

  auto reset = summary(2);
  CHECK(to_string(reset.outcome) == std::string("reset"));

  auto hung = summary(3, milliseconds(1500));
  CHECK(to_string(hung.outcome) == std::string("timeout"));

  auto garbage = summary(4);
  CHECK(garbage.status == 200);
  CHECK_FALSE(garbage.valid_json());

  auto truncated = summary(5);
  CHECK(truncated.status == 200);
  CHECK(static_cast<long long>(truncated.body.size()) == truncated.content_length);
  CHECK_FALSE(truncated.valid_json());

  auto huge = summary(6, seconds(20));
  REQUIRE(huge.status == 200);
  CHECK(huge.content_length == 8 * 1024 * 1024);
  CHECK(huge.body.size() == 8u * 1024 * 1024);
  CHECK(huge.json()["miner"]["miner_type"].is_string());

  auto deep = summary(7);
  CHECK(deep.status == 200);
  CHECK(deep.body == std::string(50000, '[') + std::string(50000, ']'));

  auto wrong = summary(8);
  REQUIRE(wrong.status == 200);
  CHECK(wrong.json()["miner"]["hr_realtime"].is_string());
  CHECK(wrong.json()["miner"]["chains"].is_object());

  CHECK(summary(9).status == 401);  // the --api-key was forgotten
  CHECK(refuses(sim.ip(10), sim.port()));

  auto chain = summary(11);
  REQUIRE(chain.status == 200);
  CHECK(chain.json()["miner"]["chains"][1]["status"]["state"] == "failure");
  CHECK(chain.json()["miner"]["chains"][0]["status"]["state"] == "mining");

  auto cut = summary(13);
  CHECK(to_string(cut.outcome) == std::string("closed early"));
  CHECK(cut.content_length > 0);
  CHECK(static_cast<long long>(cut.body.size()) < cut.content_length);

  CHECK(sim.get(14, "/api/v1/status").json()["miner_state"] == "failure");
  CHECK(summary(14).json()["miner"]["chains"] == json::array());

  CHECK(sim.get(15, "/api/v1/info").valid_json());  // only /summary is broken
  CHECK_FALSE(summary(15).valid_json());

  CHECK(summary(16).json()["miner"]["cooling"]["fans"][1]["status"] == "lost");

  // The rebooted miner is back with a fresh uptime, initializing.
  REQUIRE(eventually([&] { return sim.get(12, "/api/v1/info").status == 200; }, seconds(10)));
  CHECK(sim.get(12, "/api/v1/info").json()["system"]["uptime"] == "0:00");
  CHECK(sim.get(12, "/api/v1/status").json()["miner_state"] == "initializing");

  const json listed = sim.control("GET", "/miners").json();
  CHECK(listed[1]["faults"] == json({"slow=1200"}));
  CHECK(listed[10]["faults"] == json({"offline"}));
  CHECK(listed[10]["online"] == false);
  CHECK(listed[9]["faults"] == json::array());  // events are not kept
  CHECK(listed[25]["faults"] == json({"slow=100"}));
  CHECK(listed[30]["faults"] == json::array());
}

TEST_CASE("miner-sim: a share of miners gets a fault, chosen by the seed", "[minersim][e2e]") {
  SimProcess sim(200, "127.21.4.1", {"--fault", "10%:timeout", "--seed", "7"});
  REQUIRE(sim.ready());
  const json listed = sim.control("GET", "/miners").json();
  std::vector<int> faulty;
  for (const auto& m : listed) {
    if (!m["faults"].empty()) faulty.push_back(m["index"]);
  }
  CHECK(faulty.size() == 20);
  auto hung = sim.get(faulty[0], "/api/v1/info", "", milliseconds(800));
  CHECK(to_string(hung.outcome) == std::string("timeout"));
}

TEST_CASE("miner-sim: the control API injects and clears faults, takes miners offline",
          "[minersim][e2e][control]") {
  SimProcess sim(10, "127.21.5.1", {"--api-key", kKey});
  REQUIRE(sim.ready());
  CHECK(sim.control("POST", "/miners/3/faults", R"({"kind":"garbage"})").status == 204);
  CHECK_FALSE(sim.get(3, "/api/v1/info").valid_json());
  CHECK(sim.control("POST", "/miners/3/faults", R"({"kind":"slow","arg":700})").status == 204);
  CHECK(sim.get(3, "/api/v1/info").elapsed >= milliseconds(650));
  CHECK(sim.control("GET", "/miners/3").json()["faults"] == json({"garbage", "slow=700"}));
  CHECK(sim.control("DELETE", "/miners/3/faults?kind=slow").status == 204);
  CHECK(sim.control("DELETE", "/miners/3/faults").status == 204);
  auto clean = sim.get(3, "/api/v1/info");
  CHECK(clean.valid_json());
  CHECK(clean.elapsed < milliseconds(500));

  CHECK(sim.control("POST", "/miners/4/offline").status == 204);
  CHECK(refuses(sim.ip(4), sim.port()));
  CHECK(sim.control("GET", "/miners/4").json()["online"] == false);
  CHECK(sim.control("POST", "/miners/4/online").status == 204);
  CHECK(sim.get(4, "/api/v1/info").status == 200);

  CHECK(sim.control("POST", "/miners/5/faults", R"({"kind":"revoked_key"})").status == 204);
  CHECK(sim.get(5, "/api/v1/summary", kKey).status == 401);
  // Re-provisioning works after a revocation.
  const std::string token = unlock(sim, 5);
  CHECK(sim.post(5, "/api/v1/apikeys", json{{"key", kKey}, {"description", "fleetward"}}.dump(), "",
                 token)
            .json()["status"] == "inserted");
  CHECK(sim.get(5, "/api/v1/summary", kKey).status == 200);

  CHECK(sim.control("POST", "/faults", R"({"selector":"6-7","kind":"failing_chain","arg":3})")
            .status == 204);
  CHECK(sim.get(6, "/api/v1/summary", kKey).json()["miner"]["chains"][2]["status"]["state"] ==
        "failure");
  CHECK(sim.control("POST", "/miners/6/faults", R"({"kind":"failing_chain","arg":9})").status ==
        400);
  CHECK(sim.control("DELETE", "/faults").status == 204);
  CHECK(sim.get(7, "/api/v1/summary", kKey).json()["miner"]["chains"][2]["status"]["state"] ==
        "mining");

  CHECK(sim.control("POST", "/miners/8/reboot", R"({"seconds":2})").status == 204);
  CHECK(refuses(sim.ip(8), sim.port()));
  CHECK(sim.control("GET", "/miners/8").json()["rebooting"] == true);
  CHECK(eventually([&] { return sim.get(8, "/api/v1/info").status == 200; }, seconds(6)));

  CHECK(sim.control("GET", "/miners/99").status == 404);
  CHECK(sim.control("POST", "/miners/1/faults", R"({"kind":"nope"})").status == 400);
}

TEST_CASE("miner-sim: request statistics per endpoint and per miner", "[minersim][e2e][control]") {
  SimProcess sim(5, "127.21.6.1", {"--api-key", kKey});
  REQUIRE(sim.ready());
  for (int i = 0; i < 3; ++i)
    sim.get(1, "/api/v1/summary", kKey);
  sim.get(2, "/api/v1/info");
  sim.get(2, "/api/v1/nope");
  json stats = sim.control("GET", "/stats").json();
  CHECK(stats["requests"]["/api/v1/summary"] == 3);
  CHECK(stats["requests"]["/api/v1/info"] == 1);
  CHECK(stats["requests"]["other"] == 1);
  CHECK(stats["per_miner"]["1"]["/api/v1/summary"] == 3);
  CHECK_FALSE(stats["per_miner"].contains("0"));
  CHECK(sim.control("POST", "/stats/reset").status == 204);
  stats = sim.control("GET", "/stats").json();
  CHECK(stats["requests"].empty());
}

TEST_CASE("miner-sim: a moved miner answers at its new address only", "[minersim][e2e][control]") {
  SimProcess sim(5, "127.21.7.1");
  REQUIRE(sim.ready());
  const std::string mac = sim.get(2, "/api/v1/info").json()["system"]["network_status"]["mac"];
  CHECK(sim.control("POST", "/miners/2/move", R"({"ip":"127.21.7.200"})").status == 204);
  CHECK(refuses(sim.ip(2), sim.port()));
  auto moved = request("127.21.7.200", sim.port(), "GET", "/api/v1/info");
  REQUIRE(moved.status == 200);
  CHECK(moved.json()["system"]["network_status"]["mac"] == mac);
  CHECK(moved.json()["system"]["network_status"]["ip"] == "127.21.7.200");
  CHECK(sim.control("GET", "/miners/2").json()["ip"] == "127.21.7.200");
  CHECK(sim.control("POST", "/miners/2/move", json{{"ip", sim.ip(3)}}.dump()).status == 409);
  CHECK(sim.control("POST", "/miners/2/move", R"({"ip":"10.0.0.1"})").status == 400);
  // The old address can be taken by another miner now.
  CHECK(sim.control("POST", "/miners/4/move", json{{"ip", sim.ip(2)}}.dump()).status == 204);
  CHECK(sim.get(2, "/api/v1/info").json()["system"]["network_status"]["ip"] == sim.ip(2));
}

TEST_CASE("miner-sim: POST /system/reboot answers, then the miner reboots", "[minersim][e2e]") {
  SimProcess sim(3, "127.21.8.1", {"--api-key", kKey, "--reboot-seconds", "2"});
  REQUIRE(sim.ready());
  auto r = sim.post(1, "/api/v1/system/reboot", R"({"after":1})", kKey);
  REQUIRE(r.status == 200);
  CHECK(r.json() == json::parse(R"({"after":1})"));
  CHECK(sim.get(1, "/api/v1/info").status == 200);  // still up during "after"
  CHECK(eventually([&] { return refuses(sim.ip(1), sim.port()); }, seconds(3)));
  CHECK(eventually([&] { return sim.get(1, "/api/v1/info").status == 200; }, seconds(5)));
  CHECK(sim.get(1, "/api/v1/summary", kKey).status == 200);  // keys survive a reboot
}

TEST_CASE("miner-sim: HTTP/1.1 keep-alive, pipelining, close and malformed requests",
          "[minersim][e2e][http]") {
  SimProcess sim(2, "127.21.9.1");
  REQUIRE(sim.ready());
  RawConnection c(sim.ip(0), sim.port());
  REQUIRE(c.connected());
  c.send(http_message("GET", "/api/v1/info", "", "", "", /*close=*/false));
  CHECK(c.read_answer().status == 200);
  c.send(http_message("GET", "/api/v1/status", "", "", "", false));
  auto second = c.read_answer();
  CHECK(second.status == 200);
  CHECK(second.json().contains("miner_state"));
  // Two requests in one write: two answers, in order.
  c.send(http_message("GET", "/api/v1/model", "", "", "", false) +
         http_message("POST", "/api/v1/unlock", R"({"pw":"x"})", "", "", false));
  CHECK(c.read_answer().json().contains("full_name"));
  CHECK(c.read_answer().status == 403);
  // Connection: close is honoured.
  c.send(http_message("GET", "/api/v1/info", "", "", "", true));
  CHECK(c.read_answer().status == 200);
  CHECK(c.closed_by_peer(seconds(2)));

  RawConnection bad(sim.ip(1), sim.port());
  bad.send("NONSENSE\r\n\r\n");
  CHECK(bad.read_answer().status == 400);
  CHECK(bad.closed_by_peer(seconds(2)));
  auto big = raw_exchange(sim.ip(1), sim.port(),
                          "POST /api/v1/unlock HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n");
  CHECK(big.status == 413);
  // A chunked body works.
  auto chunked = raw_exchange(sim.ip(1), sim.port(),
                              "POST /api/v1/unlock HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "e\r\n{\"pw\":\"admin\"}\r\n0\r\n\r\n");
  CHECK(chunked.status == 200);
}

TEST_CASE("miner-sim: SIGTERM stops it cleanly, bad flags exit 2 naming the flag",
          "[minersim][e2e]") {
  {
    SimProcess sim(50, "127.21.10.1");
    REQUIRE(sim.ready());
    sim.process().signal(SIGTERM);
    CHECK(sim.process().wait(seconds(5)) == 0);
    CHECK_FALSE(std::filesystem::exists(sim.ready_file()));
    CHECK(refuses(sim.ip(0), sim.port()));
  }
  auto bad_fault = run(binary("miner-sim"), {"--count", "3", "--fault", "1:sloww"});
  CHECK(bad_fault.code == 2);
  CHECK_THAT(bad_fault.err, Catch::Matchers::Contains("did you mean slow"));
  auto bad_ip = run(binary("miner-sim"), {"--base-ip", "10.0.0.1", "--port", "18099"});
  CHECK(bad_ip.code == 2);
  CHECK_THAT(bad_ip.err, Catch::Matchers::Contains("--base-ip"));
  auto bad_model = run(binary("miner-sim"), {"--models", "s9"});
  CHECK(bad_model.code == 2);
  CHECK_THAT(bad_model.err, Catch::Matchers::Contains("unknown model 's9'"));
  auto out_of_range = run(binary("miner-sim"), {"--count", "3", "--fault", "7:timeout"});
  CHECK(out_of_range.code == 2);
  CHECK_THAT(out_of_range.err, Catch::Matchers::Contains("out of range"));
  auto unknown = run(binary("miner-sim"), {"--bogus"});
  CHECK(unknown.code == 2);
}

TEST_CASE("miner-sim: an address already in use fails the start with exit 1", "[minersim][e2e]") {
  SimProcess first(2, "127.21.11.1");
  REQUIRE(first.ready());
  auto second =
      run(binary("miner-sim"),
          {"--count", "2", "--base-ip", "127.21.11.2", "--port", std::to_string(first.port())}, {},
          seconds(10));
  CHECK(second.code == 1);
  CHECK_THAT(second.err, Catch::Matchers::Contains("127.21.11.2:" + std::to_string(first.port())));
  CHECK_THAT(second.err, Catch::Matchers::Contains("in use"));
}

TEST_CASE(
    "miner-sim: idle keep-alive connections close after --idle-timeout, over the "
    "connection budget the least recently used idle one goes",
    "[minersim][e2e][http]") {
  // Two threads: miners 0, 2 and 4 share a loop, whose share of --max-connections 4 is 2.
  SimProcess sim(6, "127.21.12.1", {"--idle-timeout", "2", "--max-connections", "4"});
  REQUIRE(sim.ready());
  RawConnection a(sim.ip(0), sim.port());
  a.send(http_message("GET", "/api/v1/status", "", "", "", false));
  REQUIRE(a.read_answer().status == 200);
  std::this_thread::sleep_for(milliseconds(100));
  RawConnection b(sim.ip(2), sim.port());
  b.send(http_message("GET", "/api/v1/status", "", "", "", false));
  REQUIRE(b.read_answer().status == 200);
  // A third connection on the same loop: `a`, the least recently used idle one, is closed.
  RawConnection c(sim.ip(4), sim.port());
  c.send(http_message("GET", "/api/v1/status", "", "", "", false));
  CHECK(c.read_answer().status == 200);
  CHECK(a.closed_by_peer(seconds(1)));
  CHECK_FALSE(b.closed_by_peer(milliseconds(200)));
  // Idle connections go after the idle timeout.
  CHECK(b.closed_by_peer(seconds(4)));
  CHECK(c.closed_by_peer(seconds(4)));
}

TEST_CASE("miner-sim: SIGTERM stops it cleanly even with hung and delayed requests open",
          "[minersim][e2e]") {
  SimProcess sim(4, "127.21.13.1", {"--fault", "1:timeout", "--fault", "2:slow=60000"});
  REQUIRE(sim.ready());
  RawConnection hung(sim.ip(1), sim.port());
  hung.send(http_message("GET", "/api/v1/info", "", "", "", false));
  RawConnection slow(sim.ip(2), sim.port());
  slow.send(http_message("GET", "/api/v1/info", "", "", "", false));
  std::this_thread::sleep_for(milliseconds(200));
  const auto t0 = std::chrono::steady_clock::now();
  sim.process().signal(SIGTERM);
  CHECK(sim.process().wait(seconds(5)) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < seconds(2));
}

TEST_CASE("miner-sim: --churn makes miners reboot, drop out, move and lose chains on their own",
          "[minersim][e2e]") {
  SimProcess sim(60, "127.21.14.1", {"--churn", "900", "--reboot-seconds", "2"});
  REQUIRE(sim.ready());
  bool offline_seen = false, moved_seen = false, fault_seen = false;
  eventually(
      [&] {
        for (const auto& m : sim.control("GET", "/miners").json()) {
          if (!m["online"].get<bool>()) offline_seen = true;
          if (m["ip"] != sim.ip(m["index"].get<int>())) moved_seen = true;
          for (const auto& f : m["faults"]) {
            if (f.get<std::string>().rfind("failing_chain=", 0) == 0) fault_seen = true;
          }
        }
        return offline_seen && moved_seen && fault_seen;
      },
      seconds(15));
  CHECK(offline_seen);
  CHECK(moved_seen);
  CHECK(fault_seen);
  // A moved miner answers at the address the control API reports.
  for (const auto& m : sim.control("GET", "/miners").json()) {
    if (m["online"].get<bool>() && m["ip"] != sim.ip(m["index"].get<int>())) {
      auto info = request(m["ip"].get<std::string>(), sim.port(), "GET", "/api/v1/info");
      if (info.ok()) CHECK(info.json()["system"]["network_status"]["ip"] == m["ip"]);
      break;
    }
  }
}
