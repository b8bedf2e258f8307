// A whole hiveos-sync cycle over PostgreSQL with a scripted Api: accounts loaded and their
// tokens opened (sealed under the account's context), disabled accounts left alone, a token that
// cannot be opened makes the account failing, and /ready's detail names the failing accounts.
#include <catch2/catch.hpp>

#include <stop_token>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "db/session.h"
#include "fakes.h"
#include "pgtest.h"
#include "sync_cycle.h"

using namespace fleet;
using namespace fleet::test;
using json = nlohmann::json;

namespace {

class Context final : public runtime::CycleContext {
 public:
  explicit Context(const TestDatabase& db)
      : session_(db::ConnectionOptions{.conninfo = db.url()}) {}
  db::Session& db() override { return session_; }
  bool dry_run() const override { return false; }
  std::stop_token stop_token() const override { return stop_.get_token(); }
  void progress() override {}
  bool sleep_for(std::chrono::milliseconds) override { return true; }
  void emit(std::string_view) override {}
  const db::LeaderLease* lease() const override { return nullptr; }
  Clock& clock() override { return Clock::real(); }

 private:
  db::Session session_;
  std::stop_source stop_;
};

std::int64_t count(const runtime::CycleReport& r, const std::string& name) {
  for (const auto& [n, v] : r.counts) {
    if (n == name) return v;
  }
  return -1;
}

std::string add_account(TestDatabase& db, const secrets::SecretBox& box, const std::string& name,
                        const std::string& token, bool enabled = true) {
  const std::string id = db.scalar(
      "INSERT INTO hiveos_accounts (name, base_url, token_enc, created_by, enabled) VALUES ('" +
      name + "', 'http://127.0.0.1:1/api/v2', '', 'test', " + (enabled ? "true" : "false") +
      ") RETURNING id");
  const std::string sealed = box.seal(token, secrets::hiveos_token_context(std::stoll(id)));
  db.exec("UPDATE hiveos_accounts SET token_enc = '" + sealed + "' WHERE id = " + id);
  return id;
}

}  // namespace

TEST_CASE("a cycle syncs every enabled account with its own opened token",
          "[hiveos_sync][integration]") {
  spdlog::set_level(spdlog::level::warn);
  TestDatabase db;
  auto box = secrets::SecretBox::from_key_text(secrets::generate_key_text());
  REQUIRE(box.ok());
  const auto good = add_account(db, *box, "good", "token-good");
  add_account(db, *box, "off", "token-off", /*enabled=*/false);
  const auto moved = add_account(db, *box, "moved", "token-moved");
  // A token copied from another row does not open under this account's context.
  db.exec(
      "UPDATE hiveos_accounts SET token_enc = (SELECT token_enc FROM hiveos_accounts WHERE "
      "id = " +
      good + ") WHERE id = " + moved);

  std::vector<std::string> tokens;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  hiveos_sync::SyncDeps deps{
      .box = *box,
      .api =
          [&](const hiveos_sync::Account&, const std::string& token) {
            tokens.push_back(token);
            auto api = std::make_unique<FakeApi>();
            api->set_farms({{10, "alpha"}});
            api->set_workers(10, {rig(1, 10, "rig-1", now - 5), rig(2, 10, "rig-2", now - 5)});
            return api;
          },
      .budget = std::make_unique<FakeBudget>()};
  hiveos_sync::SyncCycle cycle({}, std::move(deps));
  Context ctx(db);
  const auto report = cycle.run_cycle(ctx);

  CHECK(tokens == std::vector<std::string>{"token-good"});
  CHECK(count(report, "accounts") == 2);
  CHECK(count(report, "accounts_ok") == 1);
  CHECK(count(report, "accounts_failing") == 1);
  CHECK(count(report, "requests") == 2);
  CHECK(count(report, "workers") == 2);
  CHECK(report.items == 2);
  CHECK(db.scalar("SELECT state FROM hiveos_accounts WHERE id = " + good) == "ok");
  CHECK(db.scalar("SELECT state FROM hiveos_accounts WHERE name = 'off'") == "pending");
  CHECK(
      db.scalar("SELECT state || ': ' || state_reason FROM hiveos_accounts WHERE id = " + moved) ==
      "failing: the stored token cannot be opened (was secrets.key changed?)");
  CHECK(db.count("SELECT 1 FROM workers WHERE status = 'pending'") == 2);

  auto detail = json::parse(cycle.ready_detail());
  REQUIRE(detail["failing_accounts"].size() == 1);
  CHECK(detail["failing_accounts"][0]["name"] == "moved");
  CHECK(detail["failing_accounts"][0]["reason"] ==
        "the stored token cannot be opened (was secrets.key changed?)");
  // No token in what /ready shows.
  CHECK(cycle.ready_detail().find("token-") == std::string::npos);
}
