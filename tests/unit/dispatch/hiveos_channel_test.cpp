// The hiveos channel's engine against a scripted HiveOS API and a scripted request budget, on a
// clock the test moves: what is sent (one multi-worker request per account, farm and command),
// how results are matched by cmd_id, deadlines, Retry-After and failure classes.
#include <catch2/catch.hpp>

#include <map>
#include <nlohmann/json.hpp>

#include "dispatch/hiveos_channel.h"
#include "dispatch/hiveos_command.h"

using namespace fleet;
using namespace fleet::dispatch;
using Catch::Matchers::Contains;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

namespace {

struct Sent {
  std::int64_t farm = 0;
  std::vector<std::int64_t> workers;
  std::string command;
  std::string data;
  bool bulk = false;
};

// Records every call; answers from what the test scripted.
struct Script {
  std::vector<Sent> sent;
  std::vector<std::pair<std::int64_t, std::int64_t>> polls;  // (farm, worker)
  std::int64_t next_command_id = 1000;
  std::optional<hiveos::ApiError> send_error;  // answers every send with this while set
  std::optional<hiveos::ApiError> poll_error;
  std::map<std::int64_t, std::vector<hiveos::Message>> messages;  // by HiveOS worker id
  int apis_opened = 0;
};

class FakeApi final : public hiveos::Api {
 public:
  explicit FakeApi(Script& s) : s_(s) {}
  hiveos::ApiResult<bool> auth_check() override { return true; }
  hiveos::ApiResult<hiveos::Parsed<hiveos::Farm>> farms() override {
    return hiveos::Parsed<hiveos::Farm>{};
  }
  hiveos::ApiResult<hiveos::Parsed<hiveos::Worker>> workers(std::int64_t) override {
    return hiveos::Parsed<hiveos::Worker>{};
  }
  hiveos::ApiResult<std::vector<hiveos::SentCommand>> command(std::int64_t farm,
                                                              std::int64_t worker,
                                                              const hiveos::Command& c) override {
    return answer({farm, {worker}, c.command, c.data_json, false});
  }
  hiveos::ApiResult<std::vector<hiveos::SentCommand>> command_bulk(
      std::int64_t farm, const std::vector<std::int64_t>& workers,
      const hiveos::Command& c) override {
    return answer({farm, workers, c.command, c.data_json, true});
  }
  hiveos::ApiResult<hiveos::Parsed<hiveos::Message>> messages(
      std::int64_t farm, std::int64_t worker, std::optional<std::int64_t>) override {
    s_.polls.emplace_back(farm, worker);
    if (s_.poll_error) return *s_.poll_error;
    hiveos::Parsed<hiveos::Message> out;
    out.items = s_.messages[worker];
    return out;
  }

 private:
  hiveos::ApiResult<std::vector<hiveos::SentCommand>> answer(Sent sent) {
    s_.sent.push_back(sent);
    if (s_.send_error) return *s_.send_error;
    std::vector<hiveos::SentCommand> out;
    for (auto w : sent.workers)
      out.push_back({.worker_id = w, .command_id = s_.next_command_id++});
    return out;
  }
  Script& s_;
};

// Reserve answers the scripted waits in turn (then 0); block() is recorded.
class FakeBudget final : public hiveos::Budget {
 public:
  Result<milliseconds> reserve(std::int64_t account) override {
    reserved.push_back(account);
    if (!waits.empty()) {
      auto w = waits.front();
      waits.erase(waits.begin());
      return w;
    }
    return milliseconds(0);
  }
  Status block(std::int64_t account, milliseconds d) override {
    blocked.emplace_back(account, d);
    return Status::success();
  }
  std::vector<milliseconds> waits;
  std::vector<std::int64_t> reserved;
  std::vector<std::pair<std::int64_t, milliseconds>> blocked;
};

CommandJob rig_job(std::int64_t id, std::int64_t hiveos_worker, const std::string& action,
                   std::int64_t farm = 55, std::int64_t account = 1) {
  CommandJob j;
  j.id = id;
  j.worker_id = 100 + id;
  j.worker_name = "rig-" + std::to_string(hiveos_worker);
  j.worker_kind = "rig";
  j.action = action;
  j.channel = "hiveos";
  j.hiveos = HiveosTarget{.account_id = account,
                          .account_name = "main",
                          .base_url = "http://127.0.0.1:1/api/v2",
                          .token_enc = "sealed",
                          .farm_id = farm,
                          .worker_id = hiveos_worker};
  return j;
}

struct Harness {
  Script script;
  FakeBudget budget;
  std::map<std::int64_t, Outcome> outcomes;  // by command id
  std::map<std::int64_t, std::string> recorded_sent;
  Clock::time_point now = Clock::time_point{} + std::chrono::hours(1000);
  HiveosChannelOptions options;
  std::unique_ptr<HiveosEngine> engine;

  Harness() {
    options.gather = milliseconds(200);
    options.poll_every = seconds(3);
    options.result_timeout = seconds(120);
    make();
  }
  void make() {
    HiveosEnvironment env;
    env.budget = &budget;
    env.open_api = [this](const HiveosTarget&) -> Result<std::unique_ptr<hiveos::Api>> {
      ++script.apis_opened;
      return std::unique_ptr<hiveos::Api>(new FakeApi(script));
    };
    env.record_sent = [this](std::int64_t id, const std::string& r) { recorded_sent[id] = r; };
    engine = std::make_unique<HiveosEngine>(options, env);
  }
  void add(CommandJob j) {
    const auto id = j.id;
    engine->add(
        std::move(j), [this, id](Outcome o) { outcomes.emplace(id, std::move(o)); }, now);
  }
  void advance(milliseconds d) {
    now += d;
    engine->run_due(now);
  }
};

hiveos::Message message(std::int64_t cmd_id, const std::string& type, const std::string& title) {
  hiveos::Message m;
  m.id = cmd_id + 5;
  m.cmd_id = cmd_id;
  m.type = type;
  m.title = title;
  m.command_result = type == "success" ? 0 : 1;
  return m;
}

}  // namespace

TEST_CASE("hiveos commands: what each action sends, and what is refused before sending",
          "[dispatch][hiveos]") {
  auto cmd = [](const std::string& action, const std::string& params = "{}", bool exec = false) {
    CommandJob j = rig_job(1, 7, action);
    j.params_json = params;
    j.hiveos->exec_enabled = exec;
    return hiveos_command_for(j);
  };
  CHECK(cmd("reboot")->command == "reboot");
  CHECK(cmd("reboot")->data_json == "{}");
  CHECK(cmd("shutdown")->command == "shutdown");
  CHECK(cmd("restart_mining")->command == "miner");
  CHECK(json::parse(cmd("restart_mining")->data_json) == json{{"action", "restart"}});
  CHECK(json::parse(cmd("stop_mining")->data_json) == json{{"action", "stop"}});
  CHECK(json::parse(cmd("start_mining")->data_json) == json{{"action", "start"}});
  CHECK_FALSE(cmd("set_preset", R"({"preset":"x"})").ok());
  CHECK_FALSE(cmd("power_cycle").ok());

  // exec: only when the account allows it, with a command of bounded length.
  auto refused = cmd("exec", R"({"cmd":"uptime"})", false);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message(), Contains("exec is not enabled"));
  auto allowed = cmd("exec", R"({"cmd":"uptime"})", true);
  REQUIRE(allowed.ok());
  CHECK(allowed->command == "exec");
  CHECK(json::parse(allowed->data_json) == json{{"cmd", "uptime"}});
  CHECK_FALSE(cmd("exec", "{}", true).ok());
  CHECK_FALSE(cmd("exec", R"({"cmd":""})", true).ok());
  CHECK_FALSE(cmd("exec", json{{"cmd", std::string(1001, 'x')}}.dump(), true).ok());

  CommandJob none = rig_job(1, 7, "reboot");
  none.hiveos.reset();
  CHECK_THAT(*hiveos_refusal(none), Contains("not a HiveOS worker"));
  CommandJob removed = rig_job(1, 7, "reboot");
  removed.hiveos->removed = true;
  CHECK_THAT(*hiveos_refusal(removed), Contains("removed from HiveOS"));
  CommandJob disabled = rig_job(1, 7, "reboot");
  disabled.hiveos->account_enabled = false;
  CHECK_THAT(*hiveos_refusal(disabled), Contains("disabled"));
  CHECK_FALSE(hiveos_refusal(rig_job(1, 7, "reboot")));
}

TEST_CASE("commands arriving together for one farm and command go as ONE multi-worker request",
          "[dispatch][hiveos]") {
  Harness h;
  h.add(rig_job(1, 11, "reboot"));
  h.add(rig_job(2, 12, "reboot"));
  h.add(rig_job(3, 13, "reboot"));
  h.add(rig_job(4, 14, "reboot", /*farm=*/56));  // another farm: its own request
  h.add(rig_job(5, 15, "shutdown"));             // another command: its own request
  h.advance(milliseconds(100));
  CHECK(h.script.sent.empty());  // still gathering
  h.advance(milliseconds(100));
  REQUIRE(h.script.sent.size() == 3);
  CHECK(h.script.sent[0].bulk);
  CHECK(h.script.sent[0].farm == 55);
  CHECK(h.script.sent[0].command == "reboot");
  CHECK(h.script.sent[0].workers == std::vector<std::int64_t>{11, 12, 13});
  CHECK_FALSE(h.script.sent[1].bulk);
  CHECK(h.script.sent[1].farm == 56);
  CHECK(h.script.sent[2].command == "shutdown");
  CHECK(h.budget.reserved.size() == 3);  // one slot per request, not per worker
  CHECK(h.script.apis_opened == 1);      // one client per account
  // The HiveOS ids are stored at once, before any result.
  REQUIRE(h.recorded_sent.count(2));
  CHECK(json::parse(h.recorded_sent[2])["hiveos_command_id"] == 1001);
  CHECK(h.outcomes.empty());
  CHECK(h.engine->held() == 5);
}

TEST_CASE("results are matched by cmd_id in the worker's messages", "[dispatch][hiveos]") {
  Harness h;
  h.add(rig_job(1, 11, "reboot"));
  h.add(rig_job(2, 12, "reboot"));
  h.advance(milliseconds(200));  // sent: HiveOS ids 1000 (worker 11), 1001 (worker 12)
  REQUIRE(h.script.sent.size() == 1);

  // A message for another command is not a result.
  h.script.messages[11] = {message(999, "success", "old reboot")};
  h.advance(seconds(3));
  CHECK(h.script.polls.size() == 2);  // one poll per worker with a command in flight
  CHECK(h.outcomes.empty());

  h.script.messages[11].push_back(message(1000, "success", "Rebooting"));
  h.script.messages[12] = {message(1001, "danger", "Reboot failed: not permitted")};
  h.advance(seconds(3));
  REQUIRE(h.outcomes.size() == 2);
  const Outcome& ok = h.outcomes.at(1);
  CHECK(ok.kind == Outcome::Kind::kSucceeded);
  json r = json::parse(ok.result_json);
  CHECK(r["hiveos_command_id"] == 1000);
  CHECK(r["message"]["type"] == "success");
  CHECK(r["message"]["title"] == "Rebooting");
  CHECK(r["message"]["command_result"] == 0);
  const Outcome& bad = h.outcomes.at(2);
  CHECK(bad.kind == Outcome::Kind::kFailed);
  CHECK_THAT(bad.reason, Contains("Reboot failed: not permitted"));
  CHECK(h.engine->held() == 0);
  // Nothing left to poll.
  const auto polls = h.script.polls.size();
  h.advance(seconds(30));
  CHECK(h.script.polls.size() == polls);
}

TEST_CASE("no result within the deadline fails the command", "[dispatch][hiveos]") {
  Harness h;
  h.options.result_timeout = seconds(10);
  h.make();
  h.add(rig_job(1, 11, "restart_mining"));
  h.advance(milliseconds(200));
  for (int i = 0; i < 3; ++i)
    h.advance(seconds(3));
  CHECK(h.outcomes.empty());
  h.advance(seconds(1));  // 10.2 s after sending
  REQUIRE(h.outcomes.count(1));
  CHECK(h.outcomes.at(1).kind == Outcome::Kind::kFailed);
  CHECK_THAT(h.outcomes.at(1).reason, Contains("no result from HiveOS within 10 s"));
}

TEST_CASE("a deadline that is not whole seconds is written as a short decimal",
          "[dispatch][hiveos]") {
  Harness h;
  h.options.result_timeout = milliseconds(1500);
  h.make();
  h.add(rig_job(1, 11, "reboot"));
  h.advance(milliseconds(200));
  h.advance(milliseconds(1500));
  REQUIRE(h.outcomes.count(1));
  CHECK_THAT(h.outcomes.at(1).reason, Contains("within 1.5 s"));
}

TEST_CASE("every request waits for its slot of the account's budget", "[dispatch][hiveos]") {
  Harness h;
  h.budget.waits = {seconds(5)};  // the first request must wait 5 s
  h.add(rig_job(1, 11, "reboot"));
  auto next = h.engine->run_due(h.now + milliseconds(200));
  h.now += milliseconds(200);
  CHECK(h.script.sent.empty());
  REQUIRE(next);
  CHECK(*next == h.now + seconds(5));
  h.advance(milliseconds(4900));
  CHECK(h.script.sent.empty());
  CHECK(h.budget.reserved.size() == 1);  // reserved once, not again on every pass
  h.advance(milliseconds(100));
  CHECK(h.script.sent.size() == 1);
  // Polls go through the budget too.
  h.advance(seconds(3));
  CHECK(h.budget.reserved.size() == 2);
  CHECK(h.script.polls.size() == 1);
}

TEST_CASE("send failures: 429 retry with Retry-After recorded, 401 failed, 5xx uncertain",
          "[dispatch][hiveos]") {
  Harness h;
  SECTION("429: not sent, retried; the account is blocked for Retry-After") {
    h.script.send_error =
        hiveos::ApiError{.kind = ErrorKind::kResourceExhausted,
                         .message = "HTTP 429 from POST /farms/55/workers/command",
                         .http_status = 429,
                         .retry_after = seconds(17)};
    h.add(rig_job(1, 11, "reboot"));
    h.add(rig_job(2, 12, "reboot"));
    h.advance(milliseconds(200));
    REQUIRE(h.outcomes.size() == 2);
    CHECK(h.outcomes.at(1).kind == Outcome::Kind::kRetry);
    CHECK_THAT(h.outcomes.at(1).reason, Contains("Retry-After 17 s"));
    REQUIRE(h.budget.blocked.size() == 1);
    CHECK(h.budget.blocked[0] == std::pair<std::int64_t, milliseconds>{1, seconds(17)});
  }
  SECTION("401: failed, the token is named as the cause") {
    h.script.send_error = hiveos::ApiError{
        .kind = ErrorKind::kUnauthenticated, .message = "HTTP 401", .http_status = 401};
    h.add(rig_job(1, 11, "reboot"));
    h.advance(milliseconds(200));
    CHECK(h.outcomes.at(1).kind == Outcome::Kind::kFailed);
    CHECK_THAT(h.outcomes.at(1).reason, Contains("rejected the token"));
  }
  SECTION("500 after sending: uncertain; 521 (HiveOS not reached): retry") {
    h.script.send_error = hiveos::ApiError{
        .kind = ErrorKind::kUnavailable, .message = "HTTP 500", .http_status = 500};
    h.add(rig_job(1, 11, "reboot"));
    h.advance(milliseconds(200));
    CHECK(h.outcomes.at(1).kind == Outcome::Kind::kUncertain);
    h.script.send_error = hiveos::ApiError{
        .kind = ErrorKind::kUnavailable, .message = "HTTP 521", .http_status = 521};
    h.add(rig_job(2, 12, "reboot"));
    h.advance(milliseconds(200));
    CHECK(h.outcomes.at(2).kind == Outcome::Kind::kRetry);
  }
  SECTION("a refused job is reported by the next pass, never inside add()") {
    CommandJob j = rig_job(1, 11, "exec");
    j.params_json = R"({"cmd":"rm -rf /"})";
    h.add(j);
    CHECK(h.outcomes.empty());
    h.advance(milliseconds(0));
    REQUIRE(h.outcomes.count(1));
    CHECK(h.outcomes.at(1).kind == Outcome::Kind::kFailed);
    CHECK_THAT(h.outcomes.at(1).reason, Contains("exec is not enabled"));
    CHECK(h.script.sent.empty());
  }
}

TEST_CASE("a 429 while polling blocks the account and polling goes on until the deadline",
          "[dispatch][hiveos]") {
  Harness h;
  h.options.result_timeout = seconds(20);
  h.make();
  h.add(rig_job(1, 11, "reboot"));
  h.advance(milliseconds(200));
  h.script.poll_error = hiveos::ApiError{.kind = ErrorKind::kResourceExhausted,
                                         .message = "HTTP 429 from GET messages",
                                         .http_status = 429,
                                         .retry_after = seconds(9)};
  h.advance(seconds(3));
  REQUIRE(h.budget.blocked.size() == 1);
  CHECK(h.budget.blocked[0].second == seconds(9));
  h.script.poll_error.reset();
  h.script.messages[11] = {message(1000, "info", "Reboot queued")};
  h.advance(seconds(3));
  REQUIRE(h.outcomes.count(1));
  CHECK(h.outcomes.at(1).kind == Outcome::Kind::kSucceeded);
}

TEST_CASE("abandoning: unsent commands retry, sent ones are uncertain", "[dispatch][hiveos]") {
  Harness h;
  h.add(rig_job(1, 11, "reboot"));
  h.advance(milliseconds(200));     // sent
  h.add(rig_job(2, 12, "reboot"));  // still gathering
  h.engine->abandon("stopping");
  REQUIRE(h.outcomes.size() == 2);
  CHECK(h.outcomes.at(1).kind == Outcome::Kind::kUncertain);
  CHECK_THAT(h.outcomes.at(1).reason, Contains("HiveOS command 1000"));
  CHECK(h.outcomes.at(2).kind == Outcome::Kind::kRetry);
  CHECK(h.engine->held() == 0);
}
