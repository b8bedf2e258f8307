// Logins under attack: parallel password checks bounded in memory and database connections,
// user names slowed rather than locked, trusted proxies, login audit (issues 16.4, 16.5, 16.8).
#include <fstream>
#include <regex>
#include <thread>

#include <catch2/catch.hpp>

#include "gateway_fixture.h"
#include "raw_http.h"

using namespace fleet::test;

namespace {

long status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// The api-gateway container's memory limit in the shipped Kubernetes manifest, in kB.
long manifest_memory_limit_kb() {
  std::ifstream in(std::string(FLEETTEST_SOURCE_DIR) + "/deploy/k8s/api-gateway.yaml");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(R"(limits:\s*\{[^}]*memory:\s*(\d+)Mi)"))) return -1;
  return std::stol(m[1].str()) * 1024;
}

RawAnswer login_from(int port, const std::string& source_ip, const std::string& user,
                     const std::string& password, const std::string& extra_header = "") {
  const std::string body = nlohmann::json{{"username", user}, {"password", password}}.dump();
  RawConnection c("127.0.0.1", port, source_ip);
  c.send("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         extra_header + "Content-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body);
  return c.read_answer(std::chrono::seconds(60));
}

}  // namespace

TEST_CASE(
    "20 parallel logins stay inside the manifest's memory limit and leave the API "
    "answering (issue 16.4)",
    "[gateway][login][e2e]") {
  const long limit_kb = manifest_memory_limit_kb();
  REQUIRE(limit_kb > 0);
  GatewayFixture gw;
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < 20; ++i) {
    // From 20 addresses, so the per-client throttle does not stop them before the hash.
    clients.emplace_back([&, i] {
      // Twenty names: the per-user slow-down does not stop them before the hash either.
      RawAnswer a = login_from(gw.port, "127.0.3." + std::to_string(i + 1),
                               i == 0 ? "admin" : "user" + std::to_string(i), "wrong password");
      if (a.ok() && (a.status == 401 || a.status == 503)) ++answered;
    });
  }
  // Meanwhile authenticated calls still get a database connection.
  int ok = 0;
  for (int i = 0; i < 10; ++i) {
    if (gw.as("viewer", "GET", "/api/summary").status == 200) ++ok;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& t : clients)
    t.join();
  CHECK(answered == 20);
  CHECK(ok == 10);
  const long peak_kb = status_kb(gw.gateway->pid(), "VmHWM");
  INFO("peak RSS " << peak_kb << " kB, manifest limit " << limit_kb << " kB");
  CHECK(peak_kb < limit_kb);
  // Every attempt was counted, none lost to a race between parallel checks.
  CHECK(gw.db.count("SELECT 1 FROM auth_failures") == 20);
}

TEST_CASE("failures for one user name slow its logins but do not lock the owner out (issue 16.5)",
          "[gateway][login][e2e]") {
  GatewayFixture gw({"--set", "gateway.login_max_failures=3"});
  for (int i = 0; i < 3; ++i) {
    CHECK(login_from(gw.port, "127.0.4." + std::to_string(i + 1), "admin", "guess").status == 401);
  }
  // Right after: slowed, with a short retry.
  RawAnswer slowed = login_from(gw.port, "127.0.4.9", "admin", GatewayFixture::kPassword);
  CHECK(slowed.status == 429);
  CHECK(slowed.json()["error"]["retry_after"].get<int>() <= 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  // The owner, from another address, gets in (before: locked out for the whole window).
  CHECK(login_from(gw.port, "127.0.4.10", "admin", GatewayFixture::kPassword).status == 200);
}

TEST_CASE(
    "behind a trusted proxy each client is throttled by its own address, a spoofed "
    "X-Forwarded-For from anyone else is ignored (issue 16.5)",
    "[gateway][login][e2e]") {
  GatewayFixture gw(
      {"--set", "gateway.login_max_failures=2", "--set", "gateway.trusted_proxies=127.0.5.1"});
  auto via_proxy = [&](const std::string& client, const std::string& user) {
    return login_from(gw.port, "127.0.5.1", user, "guess", "X-Forwarded-For: " + client + "\r\n");
  };
  CHECK(via_proxy("198.51.100.1", "u1").status == 401);
  CHECK(via_proxy("198.51.100.1", "u2").status == 401);
  CHECK(via_proxy("198.51.100.1", "u3").status == 429);  // that client is throttled...
  CHECK(via_proxy("198.51.100.2", "u4").status == 401);  // ...the next one behind the proxy is not
  CHECK(gw.db.count("SELECT 1 FROM auth_failures WHERE client = '198.51.100.1'") == 2);

  // Not a trusted proxy: a new X-Forwarded-For on every try does not escape the throttle.
  for (int i = 0; i < 2; ++i) {
    login_from(gw.port, "127.0.5.2", "v" + std::to_string(i), "guess",
               "X-Forwarded-For: 203.0.113." + std::to_string(i) + "\r\n");
  }
  CHECK(
      login_from(gw.port, "127.0.5.2", "v9", "guess", "X-Forwarded-For: 203.0.113.99\r\n").status ==
      429);
}

TEST_CASE("logins are audited, failed and successful (issue 16.8)", "[gateway][login][e2e]") {
  GatewayFixture gw;  // its constructor logged in admin, operator and viewer
  CHECK(gw.login("viewer", "not it").status == 401);
  CHECK(gw.login("nobody", "not it").status == 401);
  const std::string logins = "SELECT 1 FROM audit_log WHERE action = 'POST /api/auth/login' AND ";
  CHECK(gw.db.count(logins + "status = 200") == 3);
  CHECK(gw.db.count(logins + "status = 401 AND target = 'viewer' AND actor_user_id IS NOT NULL") ==
        1);
  CHECK(gw.db.count(logins + "status = 401 AND target = 'nobody' AND actor_user_id IS NULL") == 1);
}

TEST_CASE(
    "calls refused for bad credentials are audited, a flood of them only up to a budget "
    "(issue 16.8)",
    "[gateway][login][e2e]") {
  GatewayFixture gw;
  httplib::Headers bad{{"Authorization", "Bearer not-a-token"}};
  CHECK(gw.request("GET", "/api/summary", "", bad).status == 401);
  CHECK(gw.request("POST", "/api/rules", "{}", {{"X-API-Key", "fwk_nope"}}).status == 401);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE status = 401 AND actor = 'anonymous' AND "
                    "action IN ('GET /api/summary', 'POST /api/rules')") == 2);
  // 300 more as fast as they go (well under a second here): at most 20 rows a second are written.
  for (int i = 0; i < 300; ++i)
    gw.request("GET", "/api/summary", "", bad);
  const long long rows = gw.db.count("SELECT 1 FROM audit_log WHERE status = 401");
  CHECK(rows < 302);
  CHECK(rows >= 20);
}
