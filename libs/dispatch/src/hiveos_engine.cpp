#include <algorithm>
#include <sstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "dispatch/hiveos_channel.h"
#include "dispatch/hiveos_command.h"

namespace fleet::dispatch {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

constexpr std::size_t kMaxPayloadInResult = 4000;

std::string seconds_text(milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000);
  std::ostringstream out;
  out << static_cast<double>(ms) / 1000.0;  // 1.5, not 1.500000
  return out.str();
}

json dump_safe(const std::string& text) {
  // Device text may be anything: keep it valid UTF-8 for the jsonb column.
  return json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

struct HiveosEngine::Queued {
  CommandJob job;
  Channel::Done done;
};

// Commands for one (account, farm, command) sent together.
struct HiveosEngine::Batch {
  std::int64_t account = 0;
  std::int64_t farm = 0;
  hiveos::Command command;
  std::vector<Queued> jobs;
  Clock::time_point due;                  // end of the gathering
  std::optional<Clock::time_point> slot;  // reserved request slot
};

struct HiveosEngine::Awaiting {
  Queued queued;
  std::int64_t hiveos_command_id = 0;
  Clock::time_point deadline;
};

struct HiveosEngine::Watch {
  HiveosTarget target;
  std::vector<Awaiting> jobs;
  Clock::time_point next_poll;
  std::optional<Clock::time_point> slot;
  std::string last_error;  // of the last poll, for the deadline's message
};

struct HiveosEngine::AccountApi {
  std::string base_url;
  std::string token_enc;
  std::unique_ptr<hiveos::Api> api;
};

HiveosEngine::HiveosEngine(HiveosChannelOptions options, HiveosEnvironment env)
    : options_(std::move(options)), env_(std::move(env)) {}

HiveosEngine::~HiveosEngine() = default;

std::size_t HiveosEngine::held() const {
  std::size_t n = refused_.size();
  for (const auto& b : batches_)
    n += b->jobs.size();
  for (const auto& [key, w] : watches_)
    n += w->jobs.size();
  return n;
}

void HiveosEngine::add(CommandJob job, Channel::Done done, Clock::time_point now) {
  if (auto why = hiveos_refusal(job)) {
    refused_.emplace_back(std::move(done), Outcome::failed(*why));
    return;
  }
  hiveos::Command command = *hiveos_command_for(job);
  const HiveosTarget& t = *job.hiveos;
  for (auto& b : batches_) {
    if (b->account != t.account_id || b->farm != t.farm_id ||
        b->command.command != command.command || b->command.data_json != command.data_json ||
        b->jobs.size() >= options_.max_bulk) {
      continue;
    }
    const bool same_worker = std::any_of(b->jobs.begin(), b->jobs.end(), [&](const Queued& q) {
      return q.job.hiveos->worker_id == t.worker_id;
    });
    if (same_worker) continue;
    b->jobs.push_back({std::move(job), std::move(done)});
    return;
  }
  auto b = std::make_unique<Batch>();
  b->account = t.account_id;
  b->farm = t.farm_id;
  b->command = std::move(command);
  b->due = now + options_.gather;
  b->jobs.push_back({std::move(job), std::move(done)});
  batches_.push_back(std::move(b));
}

bool HiveosEngine::slot_ready(std::int64_t account, std::optional<Clock::time_point>& slot,
                              Clock::time_point now, std::string* error) {
  if (!slot) {
    if (env_.budget == nullptr) {
      slot = now;
    } else {
      auto wait = env_.budget->reserve(account);
      if (!wait.ok()) {
        *error = "the HiveOS request budget could not be reserved: " + wait.error().message();
        return false;
      }
      slot = now + std::max(milliseconds(0), *wait);
    }
  }
  return *slot <= now;
}

hiveos::Api* HiveosEngine::api_for(const HiveosTarget& t, std::string* error) {
  auto& entry = apis_[t.account_id];
  if (entry && entry->api && entry->base_url == t.base_url && entry->token_enc == t.token_enc) {
    return entry->api.get();
  }
  auto api = env_.open_api(t);
  if (!api.ok()) {
    *error = "HiveOS account " + t.account_name + ": " + api.error().message();
    entry.reset();
    return nullptr;
  }
  entry = std::make_unique<AccountApi>(AccountApi{t.base_url, t.token_enc, std::move(*api)});
  return entry->api.get();
}

void HiveosEngine::send(Batch& batch, Clock::time_point now, Finished& finished) {
  const HiveosTarget& target = *batch.jobs.front().job.hiveos;
  auto fail_all = [&](Outcome o) {
    for (auto& q : batch.jobs)
      finished.emplace_back(std::move(q.done), o);
    batch.jobs.clear();
  };
  std::string error;
  hiveos::Api* api = api_for(target, &error);
  if (api == nullptr) {
    fail_all(Outcome::failed(error));
    return;
  }
  std::vector<std::int64_t> ids;
  for (const auto& q : batch.jobs)
    ids.push_back(q.job.hiveos->worker_id);
  const bool bulk = ids.size() > 1;
  auto answer = bulk ? api->command_bulk(batch.farm, ids, batch.command)
                     : api->command(batch.farm, ids.front(), batch.command);
  json base{{"account", target.account_name},
            {"hiveos_farm_id", batch.farm},
            {"command", batch.command.command}};
  if (bulk) base["bulk_workers"] = ids.size();
  if (answer.index() == 1) {
    const hiveos::ApiError& e = std::get<1>(answer);
    json result = base;
    if (e.http_status != 0) result["http_status"] = e.http_status;
    const std::string what = "HiveOS account " + target.account_name + ": " + e.message;
    switch (e.kind) {
      case ErrorKind::kResourceExhausted: {
        const auto wait = e.retry_after.value_or(std::chrono::seconds(30));
        if (env_.budget != nullptr) {
          if (Status s = env_.budget->block(batch.account, wait); !s.ok())
            spdlog::warn("hiveos: recording Retry-After failed: {}", s.error().message());
        }
        result["retry_after_s"] = wait.count();
        fail_all(Outcome::retry(
            what + " (rate limited; Retry-After " + std::to_string(wait.count()) + " s; not sent)",
            result.dump()));
        return;
      }
      case ErrorKind::kUnauthenticated:
        fail_all(Outcome::failed(
            "HiveOS rejected the token of account " + target.account_name + " (401)",
            result.dump()));
        return;
      case ErrorKind::kUnavailable:
        // 521: Cloudflare could not reach HiveOS, so nothing was queued there.
        if (e.http_status == 521) {
          fail_all(Outcome::retry(what, result.dump()));
        } else {
          fail_all(Outcome::uncertain(what, result.dump()));
        }
        return;
      case ErrorKind::kDeadlineExceeded:
      case ErrorKind::kDataLoss:
        fail_all(Outcome::uncertain(what, result.dump()));
        return;
      default:
        fail_all(Outcome::failed(what, result.dump()));
        return;
    }
  }
  const auto& sent = std::get<0>(answer);
  for (auto& q : batch.jobs) {
    const auto worker = q.job.hiveos->worker_id;
    auto it = std::find_if(sent.begin(), sent.end(), [&](const hiveos::SentCommand& s) {
      return s.worker_id == worker && s.command_id != 0;
    });
    if (it == sent.end()) {
      finished.emplace_back(std::move(q.done),
                            Outcome::uncertain("HiveOS answered without a command id for worker " +
                                                   std::to_string(worker),
                                               base.dump()));
      continue;
    }
    json result = base;
    result["hiveos_command_id"] = it->command_id;
    if (env_.record_sent) {
      try {
        env_.record_sent(q.job.id, result.dump());
      } catch (const std::exception& ex) {
        spdlog::warn("hiveos: storing command {}'s HiveOS id: {}", q.job.id, ex.what());
      }
    }
    auto key = std::make_tuple(q.job.hiveos->account_id, q.job.hiveos->farm_id, worker);
    auto& watch = watches_[key];
    if (!watch) {
      watch = std::make_unique<Watch>();
      watch->next_poll = now + options_.poll_every;
    }
    watch->target = *q.job.hiveos;
    watch->jobs.push_back({std::move(q), it->command_id, now + options_.result_timeout});
  }
  batch.jobs.clear();
}

void HiveosEngine::poll(Watch& watch, Clock::time_point now, Finished& finished) {
  watch.next_poll = now + options_.poll_every;
  std::string error;
  hiveos::Api* api = api_for(watch.target, &error);
  if (api == nullptr) {
    watch.last_error = error;
    return;
  }
  auto answer = api->messages(watch.target.farm_id, watch.target.worker_id, std::nullopt);
  if (answer.index() == 1) {
    const hiveos::ApiError& e = std::get<1>(answer);
    watch.last_error = e.message;
    if (e.kind == ErrorKind::kResourceExhausted) {
      const auto wait = e.retry_after.value_or(std::chrono::seconds(30));
      if (env_.budget != nullptr) {
        if (Status s = env_.budget->block(watch.target.account_id, wait); !s.ok())
          spdlog::warn("hiveos: recording Retry-After failed: {}", s.error().message());
      }
    }
    return;
  }
  watch.last_error.clear();
  const auto& messages = std::get<0>(answer).items;
  auto& jobs = watch.jobs;
  for (auto it = jobs.begin(); it != jobs.end();) {
    auto m = std::find_if(messages.begin(), messages.end(), [&](const hiveos::Message& msg) {
      return msg.cmd_id && *msg.cmd_id == it->hiveos_command_id;
    });
    if (m == messages.end()) {
      ++it;
      continue;
    }
    json message{{"type", m->type}, {"title", dump_safe(m->title)}};
    message["command_result"] = m->command_result ? json(*m->command_result) : json();
    if (!m->payload.empty())
      message["payload"] = dump_safe(m->payload.substr(0, kMaxPayloadInResult));
    json result{{"account", watch.target.account_name},
                {"hiveos_farm_id", watch.target.farm_id},
                {"hiveos_command_id", it->hiveos_command_id},
                {"message", message}};
    if (m->type == "success" || m->type == "info" || m->type == "file") {
      finished.emplace_back(std::move(it->queued.done), Outcome::succeeded(result.dump()));
    } else {
      finished.emplace_back(
          std::move(it->queued.done),
          Outcome::failed("HiveOS reported " + m->type + ": " + m->title.substr(0, 500),
                          result.dump()));
    }
    it = jobs.erase(it);
  }
}

std::optional<HiveosEngine::Clock::time_point> HiveosEngine::run_due(Clock::time_point now) {
  Finished finished;
  finished.swap(refused_);

  // Sends: batches whose gathering is over, once their request slot has come.
  for (auto& b : batches_) {
    if (b->due > now || b->jobs.empty()) continue;
    std::string error;
    if (!slot_ready(b->account, b->slot, now, &error)) {
      if (!error.empty()) {
        for (auto& q : b->jobs)
          finished.emplace_back(std::move(q.done), Outcome::retry(error));
        b->jobs.clear();
      }
      continue;
    }
    send(*b, now, finished);
  }
  batches_.erase(std::remove_if(batches_.begin(), batches_.end(),
                                [](const auto& b) { return b->jobs.empty(); }),
                 batches_.end());

  // Results: deadlines first, then the polls that are due.
  for (auto it = watches_.begin(); it != watches_.end();) {
    Watch& w = *it->second;
    auto& jobs = w.jobs;
    for (auto j = jobs.begin(); j != jobs.end();) {
      if (j->deadline > now) {
        ++j;
        continue;
      }
      json result{{"account", w.target.account_name},
                  {"hiveos_farm_id", w.target.farm_id},
                  {"hiveos_command_id", j->hiveos_command_id}};
      std::string why = "no result from HiveOS within " + seconds_text(options_.result_timeout) +
                        " s (HiveOS command " + std::to_string(j->hiveos_command_id) + ")";
      if (!w.last_error.empty()) why += "; last poll: " + w.last_error;
      finished.emplace_back(std::move(j->queued.done), Outcome::failed(why, result.dump()));
      j = jobs.erase(j);
    }
    if (!jobs.empty() && w.next_poll <= now) {
      std::string error;
      if (slot_ready(w.target.account_id, w.slot, now, &error)) {
        w.slot.reset();
        poll(w, now, finished);
      } else if (!error.empty()) {
        w.last_error = error;
        w.next_poll = now + options_.poll_every;
      }
    }
    it = jobs.empty() ? watches_.erase(it) : std::next(it);
  }

  for (auto& [done, outcome] : finished)
    done(std::move(outcome));

  std::optional<Clock::time_point> next;
  auto consider = [&](Clock::time_point t) { next = next ? std::min(*next, t) : t; };
  if (!refused_.empty()) consider(now);
  for (const auto& b : batches_)
    consider(b->slot ? std::max(*b->slot, b->due) : b->due);
  for (const auto& [key, w] : watches_) {
    consider(w->slot ? std::max(*w->slot, w->next_poll) : w->next_poll);
    for (const auto& j : w->jobs)
      consider(j.deadline);
  }
  return next;
}

void HiveosEngine::abandon(const std::string& reason) {
  Finished finished;
  finished.swap(refused_);
  for (auto& b : batches_) {
    for (auto& q : b->jobs)
      finished.emplace_back(std::move(q.done), Outcome::retry(reason + " (not sent)"));
  }
  batches_.clear();
  for (auto& [key, w] : watches_) {
    for (auto& j : w->jobs) {
      json result{{"account", w->target.account_name}, {"hiveos_command_id", j.hiveos_command_id}};
      finished.emplace_back(std::move(j.queued.done),
                            Outcome::uncertain(reason + " (sent as HiveOS command " +
                                                   std::to_string(j.hiveos_command_id) + ")",
                                               result.dump()));
    }
  }
  watches_.clear();
  for (auto& [done, outcome] : finished)
    done(std::move(outcome));
}

}  // namespace fleet::dispatch
