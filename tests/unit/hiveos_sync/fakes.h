// A scripted hiveos::Api, a recording Budget and a recording SyncSink for hiveos-sync's cycle
// tests: each request pops the next scripted answer (or gets the default one).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hiveos/api.h"
#include "hiveos/budget.h"
#include "sync_sink.h"

namespace fleet::test {

using hiveos::ApiError;
using hiveos::ApiResult;

inline hiveos::Worker rig(std::int64_t id, std::int64_t farm, const std::string& name,
                          std::int64_t stats_time, bool online = true) {
  hiveos::Worker w;
  w.id = id;
  w.farm_id = farm;
  w.name = name;
  w.platform = 1;
  w.ip_addresses = {"not-an-ip", "192.168.0." + std::to_string(id % 250)};
  w.stats.online = online;
  w.stats.stats_time = stats_time;
  w.stats.gpus_online = 2;
  w.stats.gpus_offline = 0;
  w.stats.power_draw_w = 300;
  w.max_temp_c = 70;
  w.max_fan_percent = 55;
  w.hashrates.push_back({.miner = "t-rex",
                         .algo = "ethash",
                         .coin = "ETH",
                         .ths = 0.0001,
                         .accepted = 10,
                         .rejected = 1});
  hiveos::Gpu g;
  g.bus_number = 1;
  g.model = "GeForce GTX 1050 Ti";
  g.temp_c = 70;
  w.gpus.push_back(g);
  return w;
}

inline ApiError error(ErrorKind kind, int status, std::string message,
                      std::optional<std::chrono::seconds> retry_after = std::nullopt) {
  return ApiError{.kind = kind,
                  .message = std::move(message),
                  .http_status = status,
                  .retry_after = retry_after};
}

class FakeApi final : public hiveos::Api {
 public:
  // Answers, popped one per call; when a queue is empty the last answer given is repeated.
  std::deque<ApiResult<hiveos::Parsed<hiveos::Farm>>> farm_answers;
  std::map<std::int64_t, std::deque<ApiResult<hiveos::Parsed<hiveos::Worker>>>> worker_answers;
  std::vector<std::string> calls;  // "farms", "workers 12"

  void set_farms(const std::vector<std::pair<std::int64_t, std::string>>& farms) {
    hiveos::Parsed<hiveos::Farm> p;
    for (const auto& [id, name] : farms)
      p.items.push_back({.id = id, .name = name});
    farm_answers = {p};
  }
  void set_workers(std::int64_t farm, std::vector<hiveos::Worker> workers) {
    hiveos::Parsed<hiveos::Worker> p;
    p.items = std::move(workers);
    worker_answers[farm] = {p};
  }

  ApiResult<bool> auth_check() override { return true; }
  ApiResult<hiveos::Parsed<hiveos::Farm>> farms() override {
    calls.push_back("farms");
    return pop(farm_answers);
  }
  ApiResult<hiveos::Parsed<hiveos::Worker>> workers(std::int64_t farm_id) override {
    calls.push_back("workers " + std::to_string(farm_id));
    auto it = worker_answers.find(farm_id);
    if (it == worker_answers.end()) return error(ErrorKind::kNotFound, 404, "HTTP 404");
    return pop(it->second);
  }
  ApiResult<std::vector<hiveos::SentCommand>> command(std::int64_t, std::int64_t,
                                                      const hiveos::Command&) override {
    return error(ErrorKind::kInternal, 0, "not used");
  }
  ApiResult<std::vector<hiveos::SentCommand>> command_bulk(std::int64_t,
                                                           const std::vector<std::int64_t>&,
                                                           const hiveos::Command&) override {
    return error(ErrorKind::kInternal, 0, "not used");
  }
  ApiResult<hiveos::Parsed<hiveos::Message>> messages(std::int64_t, std::int64_t,
                                                      std::optional<std::int64_t>) override {
    return error(ErrorKind::kInternal, 0, "not used");
  }

 private:
  template <class T>
  static T pop(std::deque<T>& q) {
    T v = q.front();
    if (q.size() > 1) q.pop_front();
    return v;
  }
};

class FakeBudget final : public hiveos::Budget {
 public:
  std::deque<std::chrono::milliseconds> waits;  // popped per reserve; 0 when empty
  int reserved = 0;
  std::vector<std::pair<std::int64_t, std::chrono::milliseconds>> blocks;

  Result<std::chrono::milliseconds> reserve(std::int64_t) override {
    ++reserved;
    if (waits.empty()) return std::chrono::milliseconds(0);
    auto w = waits.front();
    waits.pop_front();
    return w;
  }
  Status block(std::int64_t account_id, std::chrono::milliseconds d) override {
    blocks.emplace_back(account_id, d);
    return Status::success();
  }
};

class RecordingSink final : public hiveos_sync::SyncSink {
 public:
  std::vector<std::int64_t> farms_saved;
  std::map<std::int64_t, std::vector<hiveos_sync::WorkerRow>> farm_rows;
  std::vector<std::int64_t> farm_order;
  std::optional<std::set<std::int64_t>> ok_seen;
  std::optional<std::string> failing_reason;
  std::set<std::int64_t> failing_seen;
  std::int64_t removed = 0;  // what finish_ok answers

  void save_farms(const hiveos_sync::Account&, const std::vector<hiveos::Farm>& farms) override {
    for (const auto& f : farms)
      farms_saved.push_back(f.id);
  }
  hiveos_sync::FarmWrite save_farm(const hiveos_sync::Account&, const hiveos::Farm& farm,
                                   const std::vector<hiveos_sync::WorkerRow>& rows) override {
    farm_rows[farm.id] = rows;
    farm_order.push_back(farm.id);
    return {.workers = static_cast<std::int64_t>(rows.size())};
  }
  std::int64_t finish_ok(const hiveos_sync::Account&, const std::set<std::int64_t>& seen,
                         std::int64_t) override {
    ok_seen = seen;
    return removed;
  }
  void finish_failing(const hiveos_sync::Account&, const std::string& reason,
                      const std::set<std::int64_t>& seen) override {
    failing_reason = reason;
    failing_seen = seen;
  }
};

}  // namespace fleet::test
