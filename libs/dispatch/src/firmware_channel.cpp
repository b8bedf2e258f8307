#include "dispatch/firmware_channel.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "firmware/client.h"
#include "firmware/provisioning.h"

namespace fleet::dispatch {
namespace {

using json = nlohmann::json;
using firmware::HttpResponse;
using firmware::TransportFailure;

// Remembers how the last request on the transport ended, so a failed call can be told apart:
// did anything reach the miner?
class WatchedTransport final : public firmware::HttpTransport {
 public:
  explicit WatchedTransport(firmware::HttpTransport& inner) : inner_(inner) {}
  void submit(firmware::HttpRequest request, Callback done) override {
    inner_.submit(std::move(request), [this, done = std::move(done)](HttpResponse r) {
      last_failure = r.failure;
      last_status = r.status;
      if (r.failure == TransportFailure::kNone && r.status == 401) saw_unauthorized = true;
      done(std::move(r));
    });
  }
  void run(const RunHooks& hooks) override { inner_.run(hooks); }
  std::size_t pending() const override { return inner_.pending(); }

  TransportFailure last_failure = TransportFailure::kNone;
  int last_status = 0;
  bool saw_unauthorized = false;  // the API key was rejected at least once

 private:
  firmware::HttpTransport& inner_;
};

std::optional<firmware::MiningAction> mining_action(const std::string& action) {
  using firmware::MiningAction;
  if (action == "restart_mining") return MiningAction::kRestart;
  if (action == "start_mining") return MiningAction::kStart;
  if (action == "stop_mining" || action == "shutdown") return MiningAction::kStop;
  if (action == "pause_mining") return MiningAction::kPause;
  if (action == "resume_mining") return MiningAction::kResume;
  return std::nullopt;
}

// What a failed call means for the command.
Outcome from_error(const Error& e, const WatchedTransport& t, std::string_view what) {
  const std::string reason = std::string(what) + ": " + e.message();
  json result{{"http_status", t.last_status}};
  switch (t.last_failure) {
    case TransportFailure::kRefused:
    case TransportFailure::kConnectTimeout:
      return Outcome::retry(reason, result.dump());
    case TransportFailure::kTimeout:
    case TransportFailure::kReset:
    case TransportFailure::kCancelled:
    case TransportFailure::kOther:
      return Outcome::uncertain(reason, result.dump());
    case TransportFailure::kTooLarge:
    case TransportFailure::kNone:
      break;
  }
  if (e.kind() == ErrorKind::kDataLoss) {
    result["uncertain"] = true;
    return Outcome::failed(
        std::string(what) + ": the firmware answered garbage (" + e.message() + ")", result.dump());
  }
  // The firmware answered and refused (Vnish says why in a 500 {"err"}: e.g. resume when not
  // paused): final. A gateway error (502-504) or 429 is worth another attempt.
  if ((t.last_status > 500 && t.last_status < 600) || e.kind() == ErrorKind::kResourceExhausted) {
    return Outcome::retry(reason, result.dump());
  }
  return Outcome::failed(reason, result.dump());
}

}  // namespace

Outcome carry_out_firmware(firmware::HttpTransport& transport,
                           const FirmwareChannelOptions& options, const secrets::SecretBox& box,
                           const CommandJob& job) {
  if (!job.miner) {
    return Outcome::failed("worker " + job.worker_name +
                           " has no known firmware address (offline or not discovered)");
  }
  const MinerTarget& m = *job.miner;
  WatchedTransport t(transport);
  firmware::VnishClient client(t, {.host = m.ip, .port = m.port}, options.api);

  std::string password = options.default_password;
  if (m.unlock_pass_enc) {
    auto p = box.open(*m.unlock_pass_enc, secrets::miner_secret_context(m.mac, "unlock_password"));
    if (p.ok()) password = *p;
  }
  client.set_password(password);
  std::optional<std::string> new_key_enc;
  bool have_key = false;
  if (m.api_key_enc) {
    auto k = box.open(*m.api_key_enc, secrets::miner_secret_context(m.mac, "api_key"));
    if (k.ok()) {
      client.set_api_key(*k);
      have_key = true;
    }
  }
  auto reprovision = [&]() -> Status {
    auto key = firmware::provision(t,
                                   {.miner = {.host = m.ip, .port = m.port},
                                    .password = password,
                                    .description = options.key_description},
                                   options.api);
    if (!key.ok()) return key.error();
    client.set_api_key(key->key);
    new_key_enc = box.seal(key->key, secrets::miner_secret_context(m.mac, "api_key"));
    return Status{};
  };
  if (!have_key && options.reprovision) {
    if (Status s = reprovision(); !s.ok()) {
      return from_error(s.error(), t, "provisioning an API key");
    }
  }

  // Runs `call`; a rejected key is re-provisioned once and the call repeated.
  auto with_auth = [&](auto call) {
    auto r = call();
    if (!r.ok() && r.error().kind() == ErrorKind::kUnauthenticated && options.reprovision &&
        !new_key_enc) {
      if (Status s = reprovision(); !s.ok()) return decltype(r)(s.error());
      r = call();
    }
    return r;
  };
  auto done = [&](Outcome o) {
    // The client got through by unlocking with the password after the key was rejected: put a
    // working key back (as the status-poller would), so the next call needs no unlock.
    if (o.kind == Outcome::Kind::kSucceeded && t.saw_unauthorized && !new_key_enc &&
        options.reprovision) {
      if (Status s = reprovision(); !s.ok()) {
        spdlog::warn("command {}: re-provisioning the API key of {} failed: {}", job.id,
                     job.worker_name, s.error().message());
      }
    }
    o.new_api_key_enc = new_key_enc;
    return o;
  };

  const json params = json::parse(job.params_json, nullptr, false);
  if (auto mining = mining_action(job.action)) {
    auto r = with_auth([&] {
      Status s = client.mining(*mining);
      return s.ok() ? Result<bool>(true) : Result<bool>(s.error());
    });
    if (!r.ok()) return done(from_error(r.error(), t, std::string(firmware::path_of(*mining))));
    json result{{"http_status", t.last_status}};
    if (job.action == "shutdown") {
      result["note"] = "Vnish has no power-off call: mining stopped, the controller stays up";
    }
    return done(Outcome::succeeded(result.dump()));
  }
  if (job.action == "reboot") {
    auto r = with_auth([&] { return client.reboot(options.reboot_after_seconds); });
    if (!r.ok()) return done(from_error(r.error(), t, "/system/reboot"));
    const std::int64_t after = r->value_or(options.reboot_after_seconds);
    return done(Outcome::succeeded(json{{"http_status", t.last_status}, {"after", after}}.dump()));
  }
  if (job.action == "find_miner") {
    std::optional<bool> want;
    if (params.is_object() && params.contains("on") && params["on"].is_boolean()) {
      want = params["on"].get<bool>();
    }
    std::optional<bool> state;
    for (int i = 0; i < 2; ++i) {
      auto r = with_auth([&] { return client.find_miner(); });
      if (!r.ok()) return done(from_error(r.error(), t, "/find-miner"));
      state = *r;
      if (!want || !state || *state == *want) break;
    }
    if (want && state && *state != *want) {
      return done(Outcome::failed("/find-miner: the locate LED did not turn " +
                                  std::string(*want ? "on" : "off")));
    }
    json result{{"http_status", t.last_status}};
    result["on"] = state ? json(*state) : json();
    return done(Outcome::succeeded(result.dump()));
  }
  if (job.action == "set_preset") {
    if (!params.is_object() || !params.contains("preset") || !params["preset"].is_string()) {
      return Outcome::failed("params.preset: the preset to switch to is missing");
    }
    const std::string preset = params["preset"].get<std::string>();
    auto r = with_auth([&] { return client.switch_preset(preset); });
    if (!r.ok()) {
      if (r.error().kind() == ErrorKind::kFailedPrecondition) {
        return done(Outcome::failed("the firmware answered success but did not switch to preset '" +
                                        preset + "' (" + r.error().message() + ")",
                                    json{{"verified", false}, {"requested", preset}}.dump()));
      }
      return done(from_error(r.error(), t, "/settings"));
    }
    return done(Outcome::succeeded(json{
        {"preset", preset},
        {"verified", true},
        {"restart_required", r->restart_required},
        {"reboot_required",
         r->reboot_required}}.dump()));
  }
  return Outcome::failed("the firmware channel cannot carry out '" + job.action + "'");
}

namespace {

class FirmwareChannel final : public Channel {
 public:
  FirmwareChannel(FirmwareChannelOptions options, secrets::SecretBox box,
                  std::vector<std::unique_ptr<firmware::CurlTransport>> transports)
      : options_(std::move(options)), box_(std::move(box)) {
    for (auto& t : transports) {
      threads_.emplace_back([this, t = std::move(t)]() mutable { work(*t); });
    }
  }
  ~FirmwareChannel() override { shutdown(std::chrono::milliseconds(0)); }

  void execute(CommandJob job, Done done) override {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.emplace_back(std::move(job), std::move(done));
        cv_.notify_one();
        return;
      }
    }
    // Never inline: report from a short-lived thread.
    std::thread([done = std::move(done)] {
      done(Outcome::retry("the dispatcher is stopping"));
    }).detach();
  }

  void shutdown(std::chrono::milliseconds timeout) override {
    {
      std::unique_lock lock(mu_);
      if (threads_.empty()) return;
      idle_.wait_for(lock, timeout, [&] { return queue_.empty() && busy_ == 0; });
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      t.join();
    threads_.clear();
    // Whatever was never started is reported as not sent.
    for (auto& [job, done] : queue_)
      done(Outcome::retry("the dispatcher stopped before sending it"));
    queue_.clear();
  }

 private:
  void work(firmware::CurlTransport& transport) {
    while (true) {
      std::pair<CommandJob, Done> item;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        item = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
      }
      Outcome o;
      try {
        o = carry_out_firmware(transport, options_, box_, item.first);
      } catch (const std::exception& e) {
        o = Outcome::uncertain(std::string("internal error: ") + e.what());
      }
      item.second(std::move(o));
      {
        std::lock_guard lock(mu_);
        --busy_;
        if (queue_.empty() && busy_ == 0) idle_.notify_all();
      }
    }
  }

  FirmwareChannelOptions options_;
  secrets::SecretBox box_;
  std::mutex mu_;
  std::condition_variable cv_, idle_;
  std::deque<std::pair<CommandJob, Done>> queue_;
  int busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

Result<std::unique_ptr<Channel>> make_firmware_channel(FirmwareChannelOptions options,
                                                       secrets::SecretBox box) {
  std::vector<std::unique_ptr<firmware::CurlTransport>> transports;
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    auto t = firmware::CurlTransport::create({.max_concurrent = 4, .max_cached_connections = 4});
    if (!t.ok()) return t.error();
    transports.push_back(std::move(*t));
  }
  return std::unique_ptr<Channel>(
      new FirmwareChannel(std::move(options), std::move(box), std::move(transports)));
}

}  // namespace fleet::dispatch
