#include "dispatch/relay_channel.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/duration.h"
#include "db/session.h"
#include "dispatch/relay_plan.h"
#include "relay/channel.h"

namespace fleet::dispatch {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

relay::Op op_of(RelayOp op) {
  switch (op) {
    case RelayOp::kPulse:
      return relay::Op::kPulse;
    case RelayOp::kHold:
      return relay::Op::kHold;
    case RelayOp::kCycle:
      return relay::Op::kCycle;
    case RelayOp::kOn:
      return relay::Op::kOn;
    case RelayOp::kOff:
      return relay::Op::kOff;
  }
  return relay::Op::kPulse;
}

relay::ControllerRef ref_of(const RelayTarget& t) {
  relay::ControllerRef r;
  r.id = t.controller_id;
  r.name = t.controller_name;
  r.driver = relay::driver_from(t.driver).value_or(relay::Driver::kFleetward);
  r.topic = t.topic;
  return r;
}

const char* const kControllers = "SELECT id, name, driver, topic, channels FROM relay_controllers";
const char* const kAvailability = R"SQL(
UPDATE relay_controllers c SET online = o.online, availability_at = now()
  FROM jsonb_to_recordset($1::jsonb) AS o(id bigint, online boolean)
 WHERE c.id = o.id AND c.online IS DISTINCT FROM o.online
)SQL";

class RelayDispatchChannel final : public Channel {
 public:
  RelayDispatchChannel(std::unique_ptr<relay::RelayChannel> channel, MqttSettings settings,
                       db::ConnectionOptions database)
      : channel_(std::move(channel)),
        settings_(std::move(settings)),
        session_(std::move(database)),
        thread_([this] { run(); }) {}

  ~RelayDispatchChannel() override { shutdown(milliseconds(0)); }

  void execute(CommandJob job, Done done) override {
    if (!job.relay) {
      defer(milliseconds(0), [done] {
        done(Outcome::failed("no relay mapping: map the worker to a relay controller channel"));
      });
      return;
    }
    auto plan = relay_plan(job.action, job.params_json, *job.relay);
    if (!plan.ok()) {
      defer(milliseconds(0), [done, why = plan.error().message()] { done(Outcome::failed(why)); });
      return;
    }
    ensure_controller(ref_of(*job.relay));
    auto run = std::make_shared<Run>(Run{std::move(job), std::move(*plan), std::move(done)});
    {
      std::lock_guard lock(mu_);
      ++running_;
    }
    step(run, 0);
  }

  void shutdown(milliseconds timeout) override {
    {
      std::unique_lock lock(mu_);
      idle_.wait_for(lock, timeout, [&] { return running_ == 0; });
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    // Completes anything still waiting for an acknowledgement (kNoAck / kNotSent).
    channel_.reset();
    // Runs waiting between steps never started their next step: the first one was acknowledged.
    std::multimap<steady_clock::time_point, std::function<void()>> left;
    {
      std::lock_guard lock(mu_);
      left.swap(timers_);
    }
    for (auto& [at, fn] : left)
      fn();
  }

 private:
  struct Run {
    CommandJob job;
    std::vector<RelayStep> steps;
    Done done;
    json states = json::array();
  };

  void finish(const std::shared_ptr<Run>& run, Outcome o) {
    run->done(std::move(o));
    std::lock_guard lock(mu_);
    --running_;
    if (running_ == 0) idle_.notify_all();
  }

  void step(const std::shared_ptr<Run>& run, std::size_t i) {
    const RelayStep& s = run->steps[i];
    const RelayTarget& t = *run->job.relay;
    relay::RelayRequest request;
    request.controller = ref_of(t);
    request.channel = t.channel;
    request.op = op_of(s.op);
    request.duration = s.duration;
    request.request_id =
        i == 0 ? run->job.request_id : run->job.request_id + "." + std::to_string(i + 1);
    request.ack_timeout = settings_.ack_timeout;
    if (!channel_) {
      finish(run, Outcome::retry("the relay channel is stopping"));
      return;
    }
    channel_->send(std::move(request),
                   [this, run, i](relay::RelayResult r) { on_result(run, i, std::move(r)); });
  }

  void on_result(const std::shared_ptr<Run>& run, std::size_t i, relay::RelayResult r) {
    const RelayTarget& t = *run->job.relay;
    const std::string what = std::string(to_string(run->steps[i].op));
    json result{{"controller", t.controller_name}, {"channel", t.channel}, {"wiring", t.wiring}};
    switch (r.kind) {
      case relay::RelayResult::Kind::kAcknowledged: {
        json state = json::parse(r.state_json, nullptr, false);
        run->states.push_back({{"op", what}, {"state", state.is_discarded() ? json() : state}});
        if (i + 1 < run->steps.size()) {
          const auto wait = run->steps[i + 1].wait_before;
          defer(wait, [this, run, i] { step(run, i + 1); });
          return;
        }
        result["steps"] = run->states;
        finish(run, Outcome::succeeded(result.dump()));
        return;
      }
      case relay::RelayResult::Kind::kNotSent:
        if (i == 0) {
          finish(run, Outcome::retry(r.reason, result.dump()));
        } else {
          result["steps"] = run->states;
          finish(run, Outcome::failed(what + " could not be sent after " +
                                          std::string(to_string(run->steps[0].op)) +
                                          " was acknowledged: " + r.reason,
                                      result.dump()));
        }
        return;
      case relay::RelayResult::Kind::kControllerOffline:
        finish(run, Outcome::failed(r.reason, result.dump()));
        return;
      case relay::RelayResult::Kind::kNoAck:
        result["steps"] = run->states;
        finish(run, Outcome::uncertain(r.reason, result.dump()));
        return;
      case relay::RelayResult::Kind::kRefused:
        result["steps"] = run->states;
        finish(run, Outcome::failed(r.reason, result.dump()));
        return;
    }
  }

  // Runs fn on the channel's thread after `delay`.
  void defer(milliseconds delay, std::function<void()> fn) {
    {
      std::lock_guard lock(mu_);
      timers_.emplace(steady_clock::now() + delay, std::move(fn));
    }
    cv_.notify_all();
  }

  void ensure_controller(const relay::ControllerRef& ref) {
    std::lock_guard lock(mu_);
    if (known_.count(ref.id)) return;
    known_.insert(ref.id);
    controllers_.push_back(ref);
    if (channel_) channel_->set_controllers(controllers_);
  }

  void refresh_controllers() {
    std::vector<relay::ControllerRef> all;
    session_.transact([&](pqxx::transaction_base& tx) {
      for (const auto& r : tx.exec(kControllers)) {
        relay::ControllerRef ref;
        ref.id = r[0].as<std::int64_t>();
        ref.name = r[1].as<std::string>();
        ref.driver = relay::driver_from(r[2].as<std::string>()).value_or(relay::Driver::kFleetward);
        ref.topic = r[3].as<std::string>();
        ref.channels = r[4].as<int>();
        all.push_back(std::move(ref));
      }
    });
    std::lock_guard lock(mu_);
    known_.clear();
    for (const auto& c : all)
      known_.insert(c.id);
    controllers_ = std::move(all);
    if (channel_) channel_->set_controllers(controllers_);
  }

  void write_availability() {
    auto changes = channel_->take_availability_changes();
    if (changes.empty()) return;
    json rows = json::array();
    for (const auto& [id, online] : changes) {
      spdlog::info("relay controller {} is {}", id, online ? "online" : "offline");
      rows.push_back({{"id", id}, {"online", online}});
    }
    session_.transact(
        [&](pqxx::transaction_base& tx) { tx.exec_params(kAvailability, rows.dump()); });
  }

  void run() {
    std::optional<steady_clock::time_point> last_refresh;
    while (true) {
      std::vector<std::function<void()>> due;
      {
        std::unique_lock lock(mu_);
        auto next = steady_clock::now() + milliseconds(200);
        if (!timers_.empty()) next = std::min(next, timers_.begin()->first);
        cv_.wait_until(lock, next, [&] {
          return stopping_ || (!timers_.empty() && timers_.begin()->first <= steady_clock::now());
        });
        if (stopping_) return;
        const auto now = steady_clock::now();
        while (!timers_.empty() && timers_.begin()->first <= now) {
          due.push_back(std::move(timers_.begin()->second));
          timers_.erase(timers_.begin());
        }
      }
      for (auto& fn : due)
        fn();
      const auto now = steady_clock::now();
      try {
        if (!last_refresh || now - *last_refresh >= settings_.controller_refresh) {
          last_refresh = now;
          refresh_controllers();
        }
        write_availability();
      } catch (const std::exception& e) {
        spdlog::warn("relay controllers: {}", e.what());
      }
    }
  }

  std::unique_ptr<relay::RelayChannel> channel_;
  MqttSettings settings_;
  db::Session session_;

  std::mutex mu_;
  std::condition_variable cv_, idle_;
  std::multimap<steady_clock::time_point, std::function<void()>> timers_;
  std::vector<relay::ControllerRef> controllers_;
  std::set<std::int64_t> known_;
  int running_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace

Result<std::unique_ptr<Channel>> make_relay_channel(const MqttSettings& s,
                                                    db::ConnectionOptions database,
                                                    std::string client_id) {
  relay::RelayChannel::Options o;
  o.broker.host = s.host;
  o.broker.port = s.port;
  o.broker.client_id = s.client_id.empty() ? std::move(client_id) : s.client_id;
  o.broker.username = s.username;
  o.broker.password = s.password;
  o.broker.keepalive = std::chrono::duration_cast<std::chrono::seconds>(s.keepalive);
  o.broker.tls.enabled = s.tls;
  o.broker.tls.ca_file = s.ca_file;
  o.broker.tls.cert_file = s.cert_file;
  o.broker.tls.key_file = s.key_file;
  o.topic_prefix = s.topic_prefix;
  auto channel = relay::RelayChannel::start(std::move(o));
  if (!channel.ok()) return channel.error();
  database.application_name = "fleetward action-dispatcher (relay)";
  return std::unique_ptr<Channel>(
      new RelayDispatchChannel(std::move(*channel), s, std::move(database)));
}

}  // namespace fleet::dispatch
