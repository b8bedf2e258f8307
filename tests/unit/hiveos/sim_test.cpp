// hiveos-sim's fleet model: payloads the client maps, auth, faults, commands that become
// messages, and the control API's changes (rename, move, remove, overheat, stale).
#include <catch2/catch.hpp>

#include <ctime>
#include <thread>

#include <zlib.h>

#include "encoding.h"
#include "fleet.h"
#include "hiveos/metrics.h"
#include "hiveos/parse.h"

using namespace fleet;
using namespace fleet::hiveossim;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

Reply get(Fleet& f, const std::string& path, const std::string& token = "sim-token") {
  return f.handle("GET", path, {}, "Bearer " + token, "");
}

}  // namespace

TEST_CASE("hiveos-sim serves farms and workers the mappers read", "[hiveos][sim]") {
  Fleet f({.farms = 2, .workers_per_farm = 3, .asic_share = 0.5, .seed = 7});
  auto farms = hiveos::parse_farms(get(f, "/farms").body);
  REQUIRE(farms.ok());
  REQUIRE(farms.value().items.size() == 2);
  const auto farm = farms.value().items[0].id;
  auto workers =
      hiveos::parse_workers(get(f, "/farms/" + std::to_string(farm) + "/workers").body, farm);
  REQUIRE(workers.ok());
  REQUIRE(workers.value().items.size() == 3);
  CHECK(workers.value().dropped == 0);
  for (const auto& w : workers.value().items) {
    CHECK(w.stats.online == true);
    CHECK(w.stats.stats_time.has_value());
    CHECK_FALSE(w.hashrates.empty());
    if (w.platform == 1) {
      CHECK(w.gpus.size() == 6);
    } else {
      CHECK(w.boards.size() == 3);
    }
  }
  CHECK(get(f, "/farms", "wrong").status == 401);
  CHECK(f.handle("GET", "/farms", {}, "", "").status == 401);
  CHECK(get(f, "/farms/999/workers").status == 404);
}

TEST_CASE("hiveos-sim injects faults and logs every request", "[hiveos][sim]") {
  Fleet f({.farms = 1, .workers_per_farm = 1});
  CHECK(f.control("POST", "/control/faults", R"({"count": 2, "status": 429, "retry_after": "4"})")
            .status == 204);
  auto a = get(f, "/farms");
  CHECK(a.status == 429);
  CHECK(a.retry_after == "4");
  CHECK(get(f, "/farms").status == 429);
  CHECK(get(f, "/farms").status == 200);
  auto log = json::parse(f.control("GET", "/control/requests", "").body)["requests"];
  REQUIRE(log.size() == 3);
  CHECK(log[0]["status"] == 429);
  CHECK(log[2]["status"] == 200);
  CHECK(f.control("POST", "/control/tokens", R"({"revoke": "sim-token"})").status == 204);
  CHECK(get(f, "/farms").status == 401);
}

TEST_CASE("hiveos-sim turns commands into messages with the command id after the delay",
          "[hiveos][sim]") {
  Fleet f({.farms = 1, .workers_per_farm = 2, .command_delay = 50ms, .reboot_offline = 100ms});
  auto sent = f.handle("POST", "/farms/101/workers/1001/command", {}, "Bearer sim-token",
                       R"({"command":"reboot"})");
  REQUIRE(sent.status == 201);
  auto ids = hiveos::parse_command_response(sent.body, 1001);
  REQUIRE(ids.ok());
  const auto cmd = ids.value()[0].command_id;
  // Offline while rebooting.
  auto during = hiveos::parse_workers(get(f, "/farms/101/workers").body, 101);
  CHECK(during.value().items[0].stats.online == false);
  CHECK(hiveos::parse_messages(get(f, "/farms/101/workers/1001/messages").body)
            .value()
            .items.empty());
  std::this_thread::sleep_for(200ms);
  auto msgs = hiveos::parse_messages(get(f, "/farms/101/workers/1001/messages").body);
  REQUIRE(msgs.value().items.size() == 1);
  CHECK(msgs.value().items[0].cmd_id == cmd);
  CHECK(msgs.value().items[0].type == "success");
  auto after = hiveos::parse_workers(get(f, "/farms/101/workers").body, 101);
  CHECK(after.value().items[0].stats.online == true);
  // Bulk: one request, one command id per worker.
  auto bulk = f.handle(
      "POST", "/farms/101/workers/command", {}, "Bearer sim-token",
      R"({"worker_ids": [1001, 1002], "data": {"command": "miner", "data": {"action": "stop"}}})");
  REQUIRE(bulk.status == 200);
  CHECK(hiveos::parse_commands_response(bulk.body).value().size() == 2);
  auto log = json::parse(f.control("GET", "/control/commands", "").body)["commands"];
  REQUIRE(log.size() == 2);
  CHECK(log[1]["bulk"] == true);
  CHECK(log[1]["worker_ids"] == json::array({1001, 1002}));
  // Bad commands are refused like HiveOS does.
  CHECK(f.handle("POST", "/farms/101/workers/1001/command", {}, "Bearer sim-token",
                 R"({"command":"fly"})")
            .status == 422);
  CHECK(f.handle("POST", "/farms/101/workers/9/command", {}, "Bearer sim-token",
                 R"({"command":"reboot"})")
            .status == 404);
}

TEST_CASE("hiveos-sim's control API renames, moves, removes, overheats and stales workers",
          "[hiveos][sim]") {
  Fleet f({.farms = 2, .workers_per_farm = 1});
  CHECK(f.control("POST", "/control/workers/1001", R"({"name": "renamed", "temp": 95})").status ==
        200);
  auto w = hiveos::parse_workers(get(f, "/farms/101/workers").body, 101).value().items.at(0);
  CHECK(w.name == "renamed");
  CHECK(w.max_temp_c == 95);
  CHECK(std::count(w.stats.problems.begin(), w.stats.problems.end(), "overheat") == 1);
  CHECK(f.control("POST", "/control/workers/1001", R"({"farm_id": 102})").status == 200);
  CHECK(hiveos::parse_workers(get(f, "/farms/101/workers").body, 101).value().items.empty());
  CHECK(hiveos::parse_workers(get(f, "/farms/102/workers").body, 102).value().items.size() == 2);
  CHECK(f.control("POST", "/control/workers/1002", R"({"stale": true, "stale_s": 3600})").status ==
        200);
  auto stale = hiveos::parse_worker(get(f, "/farms/102/workers/1002").body, 102).value();
  CHECK(stale.stats.online == true);
  CHECK_FALSE(hiveos::is_live(stale, std::time(nullptr), 300));
  CHECK(f.control("DELETE", "/control/workers/1002", "").status == 204);
  CHECK(get(f, "/farms/102/workers/1002").status == 404);
  CHECK(f.control("POST", "/control/reset", "").status == 204);
  CHECK(hiveos::parse_workers(get(f, "/farms/101/workers").body, 101).value().items.size() == 1);
}

TEST_CASE("hiveos-sim gzips for clients that accept gzip, at its own level", "[hiveos][sim]") {
  CHECK(accepts_gzip("gzip"));
  CHECK(accepts_gzip("deflate, gzip"));
  CHECK(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  CHECK(accepts_gzip("x-gzip"));
  CHECK(accepts_gzip("*"));
  CHECK_FALSE(accepts_gzip(""));
  CHECK_FALSE(accepts_gzip("br"));
  CHECK_FALSE(accepts_gzip("identity"));
  CHECK_FALSE(accepts_gzip("gzip;q=0"));
  CHECK_FALSE(accepts_gzip("gzip; q=0.000, br"));
  CHECK_FALSE(accepts_gzip("*;q=0"));

  Fleet f({.farms = 1, .workers_per_farm = 20, .seed = 3});
  const std::string body = get(f, "/farms/101/workers").body;
  REQUIRE(body.size() > 10000);
  for (int level : {1, 6}) {
    auto gz = gzip(body, level);
    REQUIRE(gz.has_value());
    REQUIRE(gz->size() > 18);
    CHECK(static_cast<unsigned char>((*gz)[0]) == 0x1f);  // a gzip member
    CHECK(static_cast<unsigned char>((*gz)[1]) == 0x8b);
    CHECK(gz->size() < body.size() / 4);
    // Inflated back, byte for byte.
    z_stream zs{};
    REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
    std::string out(body.size() + 16, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(gz->data());
    zs.avail_in = static_cast<uInt>(gz->size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    CHECK(inflate(&zs, Z_FINISH) == Z_STREAM_END);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    CHECK(out == body);
  }
}
