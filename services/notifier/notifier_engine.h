// The notifier's engine (docs/services/notifier.md). One cycle repeats, while there is work:
//
//   suppress deliveries of disabled channels -> route new notifications into deliveries
//   -> flush due groups into messages (group_wait / group_interval) and repeat still-firing ones
//   -> claim due messages (lease) -> send them from a pool of threads -> record the attempts,
//      retry with backoff or dead-letter, update channel health
//
// and waits (woken by LISTEN fleet_notifications) while a group or a retry falls due within a
// couple of seconds; it returns when nothing is due soon (--once ends there).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "notifier_options.h"
#include "notifier_store.h"
#include "notify/sender.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"

namespace fleet::notifier {

class SendPool;

// A Sender for a channel kind, or null when this build has none for it ("no sender for kind").
using SenderFactory = std::function<std::unique_ptr<notify::Sender>(const std::string& kind)>;

// webhook (notify/webhook_sender.h); mqtt and email once their senders are wired in.
SenderFactory default_sender_factory();

class Notifier {
 public:
  // `box` opens channel secrets; without it a channel with a secret cannot send.
  Notifier(NotifierOptions options, SenderFactory factory, std::optional<secrets::SecretBox> box);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Under --dry-run prints each message it would send as a JSON line and writes nothing.
  runtime::CycleReport run_cycle(runtime::CycleContext& ctx);

  // Ends the cycle's current wait (a NOTIFY arrived). Thread-safe.
  void wake();

 private:
  struct Totals {
    std::int64_t routed = 0, deliveries = 0, suppressed = 0, messages = 0, repeats = 0,
                 delivered = 0, retried = 0, dead = 0, lost_leases = 0;
  };
  std::int64_t route_step(runtime::CycleContext& ctx, const RoutingConfig& cfg, Totals& t);
  // Returns the groups flushed; sets `next` to the time until the next group falls due.
  std::int64_t flush_step(runtime::CycleContext& ctx, const RoutingConfig& cfg, Totals& t,
                          std::optional<milliseconds>& next);
  std::int64_t repeat_step(runtime::CycleContext& ctx, const RoutingConfig& cfg, Totals& t);
  std::int64_t send_step(runtime::CycleContext& ctx, const RoutingConfig& cfg, Totals& t);
  void dry_run(runtime::CycleContext& ctx, const RoutingConfig& cfg);
  NewMessage render(const ChannelRow& channel, const GroupRef& ref, std::int64_t id,
                    const std::string& kind, const std::vector<Facts>& items,
                    const std::string& now_text);
  notify::Sender* sender_for(const std::string& kind);
  std::string secret_of(const ChannelRow& channel, std::string* error) const;

  const NotifierOptions options_;
  SenderFactory factory_;
  std::optional<secrets::SecretBox> box_;
  std::map<std::string, std::unique_ptr<notify::Sender>> senders_;  // by kind, made once
  std::unique_ptr<SendPool> pool_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::optional<std::chrono::steady_clock::time_point> last_repeat_check_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;  // guarded by mu_
};

}  // namespace fleet::notifier
