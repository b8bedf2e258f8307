// The hiveos channel of the dispatcher: commands for HiveOS workers (workers with a `rigs` row)
// sent through the HiveOS API v2 of their account (external-apis.md §3.3, hiveos_command.h).
//
//   gather    commands that arrive together for one (account, farm, command) go as ONE
//             multi-worker request (POST /farms/{id}/workers/command); a single one as
//             POST /farms/{id}/workers/{wid}/command
//   budget    every request (send or poll) first reserves a slot of the account's request budget
//             (hiveos::Budget, shared by every process through PostgreSQL) and waits for it; a
//             429 / 403 "Too many requests" blocks the account for its Retry-After
//   track     HiveOS answers with a command id per worker (stored in commands.result at once);
//             the worker's messages are read every poll_every until one carries that cmd_id:
//             success / info / file -> succeeded, warning / danger -> failed with its title; none
//             within result_timeout -> failed "no result from HiveOS within <n> s"
//
// Send failures: 429 -> retry (not sent; the budget waits out Retry-After); 401 -> failed (the
// token is rejected); 521 (Cloudflare: HiveOS not reached) -> retry; other 5xx, timeouts and
// unreadable answers -> uncertain (HiveOS may have queued it); other 4xx -> failed with HiveOS's
// message.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/result.h"
#include "db/connection_options.h"
#include "dispatch/job.h"
#include "hiveos/api.h"
#include "hiveos/budget.h"
#include "secrets/secret_box.h"

namespace fleet::dispatch {

struct HiveosChannelOptions {
  int threads = 2;  // accounts are spread over this many threads; one account stays on one
  // Commands for one (account, farm, command) queued within this of the first go as one request.
  std::chrono::milliseconds gather{250};
  std::chrono::milliseconds poll_every{std::chrono::seconds(3)};  // reading a worker's messages
  std::chrono::milliseconds result_timeout{std::chrono::seconds(120)};
  std::size_t max_bulk = 200;  // workers per multi-worker request
  std::chrono::milliseconds http_timeout{std::chrono::seconds(15)};
  bool verify_tls = true;
};

// What the engine needs from outside: tests script all of it.
struct HiveosEnvironment {
  // An API client for the account (kept per account while base_url and token_enc stay the same).
  // An error (the token does not open) fails the account's commands with its message.
  std::function<Result<std::unique_ptr<hiveos::Api>>(const HiveosTarget&)> open_api;
  hiveos::Budget* budget = nullptr;  // not owned
  // Stores a sent command's HiveOS id in commands.result ({"hiveos_command_id": ...}) before its
  // result is known, so an operator sees it while it is tracked. May be empty.
  std::function<void(std::int64_t command_id, const std::string& result_json)> record_sent;
};

// The channel's logic, single-threaded and driven by the caller's clock: add() queues, run_due()
// does what is due (sends, polls, deadlines) and reports finished jobs through their Done.
class HiveosEngine {
 public:
  using Clock = std::chrono::steady_clock;

  HiveosEngine(HiveosChannelOptions options, HiveosEnvironment env);
  ~HiveosEngine();
  HiveosEngine(const HiveosEngine&) = delete;
  HiveosEngine& operator=(const HiveosEngine&) = delete;

  // Queues `job`; never calls `done` itself (a refused job is reported by the next run_due()).
  void add(CommandJob job, Channel::Done done, Clock::time_point now);
  // Does what is due at `now`. Returns when something is next due; nullopt when nothing is held.
  std::optional<Clock::time_point> run_due(Clock::time_point now);
  // Reports every held job: not sent -> retry, sent -> uncertain; both with `reason`.
  void abandon(const std::string& reason);
  // Jobs held (queued, sent and awaiting their result).
  std::size_t held() const;

 private:
  struct Queued;
  struct Batch;
  struct Awaiting;
  struct Watch;
  struct AccountApi;
  using Finished = std::vector<std::pair<Channel::Done, Outcome>>;

  // Reserves the request slot of `account` once; true when its time has come.
  bool slot_ready(std::int64_t account, std::optional<Clock::time_point>& slot,
                  Clock::time_point now, std::string* error);
  hiveos::Api* api_for(const HiveosTarget& target, std::string* error);
  void send(Batch& batch, Clock::time_point now, Finished& finished);
  void poll(Watch& watch, Clock::time_point now, Finished& finished);

  HiveosChannelOptions options_;
  HiveosEnvironment env_;
  Finished refused_;
  std::vector<std::unique_ptr<Batch>> batches_;
  // (account, HiveOS farm, HiveOS worker) -> the commands sent to it awaiting their result.
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, std::unique_ptr<Watch>> watches_;
  std::map<std::int64_t, std::unique_ptr<AccountApi>> apis_;
};

// The channel with its threads started: tokens opened with `box`, the request budget and the
// commands' results in `database` (a connection per thread).
Result<std::unique_ptr<Channel>> make_hiveos_channel(HiveosChannelOptions options,
                                                     secrets::SecretBox box,
                                                     db::ConnectionOptions database);

}  // namespace fleet::dispatch
