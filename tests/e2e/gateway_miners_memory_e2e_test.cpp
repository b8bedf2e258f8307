// GET /api/miners from the gateway's copy of miner_list (issue 15.9, miner_list_model.h): the
// same pages as the database gives, changes made anywhere on them, a client's own writes at once.
#include <signal.h>

#include <catch2/catch.hpp>

#include "gateway_fixture.h"

using namespace fleet::test;
using nlohmann::json;

namespace {

// `n` miners as discovery and the poller leave them: every fifth unmanaged, every seventh without
// an IP, every third of another model, every fourth never polled, every eleventh with a poll
// error that names a password.
void seed(TestDatabase& db, int n) {
  db.exec(
      "INSERT INTO models (alias, full_name, presets, max_preset) VALUES "
      "('s19jpro', 'Antminer S19j Pro', '[]', NULL), ('s21', 'Antminer S21', '[]', NULL)");
  db.exec(
      "INSERT INTO workers (kind, name, ip, status, managed, last_seen_at) "
      "SELECT 'asic', 'miner-' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE '127.61.0.0'::inet + g "
      "END, 'online', g % 5 <> 0, now() FROM generate_series(1, " +
      std::to_string(n) + ") g");
  db.exec(
      "INSERT INTO miners (worker_id, mac, model_alias, fw_version, api_key_state, "
      "last_poll_error) SELECT id, ('02:00:00:00:' || lpad(to_hex(id / 256 % 256), 2, '0') || "
      "':' || lpad(to_hex(id % 256), 2, '0'))::macaddr, CASE WHEN id % 3 = 0 THEN 's21' ELSE "
      "'s19jpro' END, '1.2.6', 'active', CASE WHEN id % 11 = 0 THEN 'login failed: "
      "password=hunter2' END FROM workers");
  db.exec(
      "INSERT INTO statuses (worker_id, observed_at, miner_state, hashrate_ths, hashrate_ratio, "
      "power_w, efficiency_jth, chip_temp_max, pcb_temp_max, fan_rpm_min, chips_red, "
      "chips_orange) SELECT worker_id, now(), 'mining', 95 + worker_id % 10, 0.98, 3250, 31.5, "
      "71.5, 60, 4200, 0, 2 FROM miners WHERE worker_id % 4 <> 0");
  db.exec(
      "UPDATE miners m SET latest_status_id = s.id, last_status_at = s.observed_at "
      "FROM statuses s WHERE s.worker_id = m.worker_id");
}

// A series of the gateway's /metrics (0 when absent).
double metric(GatewayFixture& gw, const std::string& series) {
  const std::string text = gw.request("GET", "/metrics").raw;
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + series.size() + 2));
}

const std::string kFromMemory = R"(fleet_gateway_miner_pages_total{from="memory"})";
const std::string kLoads = "fleet_gateway_miner_list_loads_total";

// Asks for a page until one comes from memory (the gateway's counter of such pages grows with
// it) and `accept` takes it; fails after 10 s. Returns the page's text.
std::string page_from_memory(
    GatewayFixture& gw, const std::string& query,
    const std::function<bool(const json&)>& accept = [](const json&) { return true; }) {
  std::string body;
  const bool ok = eventually(
      [&] {
        const double before = metric(gw, kFromMemory);
        auto answer = gw.as("viewer", "GET", "/api/miners?" + query);
        body = answer.raw;
        return answer.status == 200 && metric(gw, kFromMemory) > before && accept(answer.body);
      },
      std::chrono::seconds(10));
  INFO(query << ": " << body.substr(0, 300));
  REQUIRE(ok);
  return body;
}

// The page's item with this id (null when absent).
json item(const json& page, std::int64_t id) {
  for (const auto& m : page["items"])
    if (m["id"] == id) return m;
  return nullptr;
}

std::int64_t first_id(TestDatabase& db) {
  return std::stoll(db.scalar("SELECT min(worker_id) FROM miners"));
}

// Every miner, after a cursor: never the response cache.
const std::string kAll = "limit=1000&after=0";

// A gateway on `n` seeded miners whose copy has answered a page.
struct Fleet {
  explicit Fleet(int n) {
    seed(gw.db, n);
    id = first_id(gw.db);
    page_from_memory(gw, kAll);
  }
  GatewayFixture gw;
  std::int64_t id = 0;  // the first miner's
};

}  // namespace

TEST_CASE("pages from memory are the bytes the database gives for every filter and cursor",
          "[gateway][miners][e2e]") {
  GatewayFixture memory;
  seed(memory.db, 300);
  // A second gateway on the same database that asks it for every page.
  GatewayFixture database(
      {"--set", "gateway.miners_in_memory=false", "--set", "database.url=" + memory.db.url()});
  const std::string after = std::to_string(first_id(memory.db) + 49);
  for (const std::string& query : std::vector<std::string>{
           "limit=1000", "limit=7", "limit=7&after=" + after, "managed=false&limit=5",
           "online=false", "online=true&managed=true&limit=13&after=" + after, "model=s21&limit=9",
           "model=s19jpro&online=false&managed=false", "model=nope", "after=999999", "limit=1"}) {
    const std::string from_memory = page_from_memory(memory, query);
    const auto from_database = database.as("viewer", "GET", "/api/miners?" + query);
    INFO(query);
    REQUIRE(from_database.status == 200);
    CHECK(from_memory == from_database.raw);
  }
  // A whole walk in pages of 17, page by page.
  std::string cursor;
  int pages = 0;
  do {
    const std::string query = "limit=17" + (cursor.empty() ? "" : "&after=" + cursor);
    const std::string from_memory = page_from_memory(memory, query);
    CHECK(from_memory == database.as("viewer", "GET", "/api/miners?" + query).raw);
    const json page = json::parse(from_memory);
    cursor = page["next"].is_null() ? "" : page["next"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 30);
  CHECK(pages == 18);  // 300 miners

  const std::string all = page_from_memory(memory, "limit=1000");
  CHECK(json::parse(all)["items"].size() == 300);
  CHECK(all.find("login failed") != std::string::npos);
  CHECK(all.find("hunter2") == std::string::npos);
  // The second gateway never answered from memory; a search never does.
  CHECK(metric(database, kFromMemory) == 0);
  const double before = metric(memory, kFromMemory);
  CHECK(memory.as("viewer", "GET", "/api/miners?q=miner-1").body["items"].size() > 0);
  CHECK(metric(memory, kFromMemory) == before);
}

TEST_CASE("a change committed anywhere reaches the pages from memory", "[gateway][miners][e2e]") {
  Fleet fleet(40);
  auto& gw = fleet.gw;
  const std::int64_t id = fleet.id;
  page_from_memory(gw, kAll, [](const json& p) { return p["items"].size() == 40; });

  gw.db.exec("UPDATE workers SET name = 'renamed-elsewhere' WHERE id = " + std::to_string(id));
  page_from_memory(gw, kAll,
                   [&](const json& p) { return item(p, id)["name"] == "renamed-elsewhere"; });

  gw.db.exec("UPDATE models SET full_name = 'Antminer S21 Hydro' WHERE alias = 's21'");
  page_from_memory(gw, kAll, [&](const json& p) {
    return item(p, id + 2)["model_name"] == "Antminer S21 Hydro";
  });

  gw.db.exec("DELETE FROM miners WHERE worker_id = " + std::to_string(id + 1));
  page_from_memory(gw, kAll, [&](const json& p) {
    return p["items"].size() == 39 && item(p, id + 1).is_null();
  });

  gw.db.exec(
      "WITH w AS (INSERT INTO workers (kind, name, status, managed) VALUES ('asic', 'newcomer', "
      "'offline', true) RETURNING id) INSERT INTO miners (worker_id, mac, api_key_state) "
      "SELECT id, '02:00:00:00:ff:01', 'missing' FROM w");
  const std::int64_t newcomer = std::stoll(gw.db.scalar("SELECT max(worker_id) FROM miners"));
  page_from_memory(gw, kAll, [&](const json& p) {
    return item(p, newcomer)["name"] == "newcomer" && item(p, newcomer)["latest"].is_null();
  });

  // TRUNCATE leaves no rows to compare: the gateway loads the list again.
  gw.db.exec("TRUNCATE workers CASCADE");
  page_from_memory(gw, kAll, [](const json& p) { return p["items"].empty(); });
}

TEST_CASE("a transaction still open during a catch-up is fetched after it commits",
          "[gateway][miners][e2e]") {
  Fleet fleet(10);
  auto& gw = fleet.gw;
  const std::int64_t id = fleet.id;

  pqxx::connection conn(gw.db.url());
  pqxx::work slow(conn);
  slow.exec("UPDATE workers SET name = 'slow-writer' WHERE id = " + std::to_string(id));
  // A change through the gateway: the next page from memory follows a catch-up whose snapshot
  // has the open transaction in progress (its id below the snapshot's xmax).
  REQUIRE(
      gw.as("operator", "PATCH", "/api/miners/" + std::to_string(id + 1), R"({"managed": false})")
          .status == 200);
  page_from_memory(gw, kAll, [&](const json& p) {
    return item(p, id + 1)["managed"] == false && item(p, id)["name"] != "slow-writer";
  });
  slow.commit();
  page_from_memory(gw, kAll, [&](const json& p) { return item(p, id)["name"] == "slow-writer"; });
}

TEST_CASE("a client reads its own writes from the gateway at once", "[gateway][miners][e2e]") {
  Fleet fleet(10);
  auto& gw = fleet.gw;
  const std::int64_t id = fleet.id + 1;
  const std::string page = "/api/miners?limit=1&after=" + std::to_string(id - 1);
  // The notifications stay undelivered while the listener's server process is stopped: the
  // gateway must know of its own writes without them.
  const int listener = std::stoi(gw.db.scalar(
      "SELECT pid FROM pg_stat_activity WHERE application_name LIKE '%(miners list) (listen)'"));
  REQUIRE(::kill(listener, SIGSTOP) == 0);
  struct Resume {
    int pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  } resume{listener};
  for (int i = 0; i < 30; ++i) {
    const bool managed = i % 2 == 1;
    const std::string body = std::string(R"({"managed": )") + (managed ? "true" : "false") + "}";
    REQUIRE(gw.as("operator", "PATCH", "/api/miners/" + std::to_string(id), body).status == 200);
    const auto answer = gw.as("viewer", "GET", page);
    INFO("write " << i);
    REQUIRE(answer.body["items"].size() == 1);
    CHECK(answer.body["items"][0]["managed"] == managed);
  }
  // And the copy is current again afterwards.
  page_from_memory(gw, "limit=1&after=" + std::to_string(id - 1),
                   [](const json& p) { return p["items"][0]["managed"] == true; });
}

TEST_CASE("after its listener reconnects the gateway loads the list again",
          "[gateway][miners][e2e]") {
  Fleet fleet(10);
  auto& gw = fleet.gw;
  const std::int64_t id = fleet.id;
  const double loads = metric(gw, kLoads);
  REQUIRE(loads >= 1);
  // The change and the end of the listener's session commit together: its notification goes to
  // a session that is gone.
  gw.db.exec(
      "WITH gone AS (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
      "application_name LIKE '%(miners list) (listen)') UPDATE workers SET name = 'while-away' "
      "WHERE id = " +
      std::to_string(id) + " AND (SELECT count(*) FROM gone) >= 0");
  page_from_memory(gw, kAll, [&](const json& p) { return item(p, id)["name"] == "while-away"; });
  CHECK(eventually([&] { return metric(gw, kLoads) > loads; }, std::chrono::seconds(10)));
}
