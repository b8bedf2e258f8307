// The notifier's engine (docs/services/notifier.md). One cycle repeats, while there is work:
//
//   route new notifications into deliveries (with the configuration, one transaction)
//   -> suppress deliveries of disabled channels
//   -> record the attempts the channels finished since (one statement), retry with backoff or
//      dead-letter, update channel health
//   -> flush due groups into messages (group_wait / group_interval), handed at once to their
//      channel's lane, and repeat still-firing ones
//   -> claim other due messages (retries, repeats, expired leases) -> their lanes
//
// Sending never blocks the loop: each channel has its own lane of threads (send_lanes.h), so the
// next batch is routed and flushed while the previous one is on the wire, and a receiver that
// hangs holds only its own channel's messages (each attempt bounded by the channel's timeout).
// The cycle waits (woken by LISTEN fleet_notifications or a finished attempt) while messages are
// in flight or a group or a retry falls due within a couple of seconds; it returns when nothing
// is in flight and nothing is due soon (--once ends there).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "notifier_options.h"
#include "notifier_store.h"
#include "notify/sender.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"

namespace fleet::db {
class Session;
}

namespace fleet::notifier {

class SendLanes;

// A Sender for a channel kind, or null when this build has none for it ("no sender for kind").
using SenderFactory = std::function<std::unique_ptr<notify::Sender>(const std::string& kind)>;

// webhook (notify/webhook_sender.h, trusting `ca_file` too when set), mqtt and email.
SenderFactory default_sender_factory(const std::string& ca_file = "");

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
  // While messages are in flight, finished attempts are recorded together: when this many are
  // waiting, when all in flight have finished, or after kRecordEvery.
  static constexpr std::size_t kRecordBatch = 64;
  static constexpr milliseconds kRecordEvery{50};

  struct Totals {
    std::int64_t routed = 0, deliveries = 0, suppressed = 0, messages = 0, repeats = 0;
  };
  // Loads the configuration into `cfg` and routes a batch, in one transaction.
  std::int64_t route_step(runtime::CycleContext& ctx, RoutingConfig& cfg, Totals& t);
  // Returns the messages made; sets `next` to the time until the next group falls due.
  std::int64_t flush_step(runtime::CycleContext& ctx, const RoutingConfig& cfg, Totals& t,
                          std::optional<milliseconds>& next);
  std::int64_t repeat_step(runtime::CycleContext& ctx, const RoutingConfig& cfg, Totals& t);
  std::int64_t claim_step(runtime::CycleContext& ctx, const RoutingConfig& cfg);
  // Records the finished attempts on the cycle's session (no recorder thread); returns how many.
  std::int64_t record_step(runtime::CycleContext& ctx);
  // Records `done` on `session`: verdicts, attempts, channel health; then they leave in_flight_.
  // On failure they go back to done_ and the exception propagates.
  void record_now(db::Session& session, std::vector<AttemptRecord> done);
  void record_loop();
  void renew_step(runtime::CycleContext& ctx);
  // Hands claimed messages to their channels' lanes.
  void send(const RoutingConfig& cfg, std::vector<ClaimedMessage> messages);
  void finished(AttemptRecord attempt);
  // Messages in flight here for `channel`, and in all (guarded by mu_).
  std::size_t in_flight_locked(std::int64_t channel) const;
  // How many more messages may be put in flight now, and the channels that are full.
  int room(std::vector<std::int64_t>* full_channels) const;
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
  std::mt19937_64 rng_{std::random_device{}()};
  std::optional<std::chrono::steady_clock::time_point> last_repeat_check_;
  std::optional<std::chrono::steady_clock::time_point> last_renew_;
  std::optional<std::chrono::steady_clock::time_point> last_empty_claim_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;                                  // guarded by mu_
  std::vector<AttemptRecord> done_;                     // guarded by mu_: finished, not recorded
  std::map<std::int64_t, std::int64_t> in_flight_;      // guarded by mu_: message id -> channel id
  std::shared_ptr<const RoutingConfig> config_;         // guarded by mu_: the loop's latest
  bool recorded_ = false;                               // guarded by mu_: the recorder freed room
  bool stop_recorder_ = false;                          // guarded by mu_
  std::mt19937_64 record_rng_{std::random_device{}()};  // the recorder's (retry jitter)
  std::atomic<std::int64_t> delivered_{0}, retried_{0}, dead_{0}, lost_leases_{0};
  std::unique_ptr<db::Session> record_db_;
  std::thread recorder_;
  // Last: destroyed first, so no lane thread outlives what its jobs touch.
  std::unique_ptr<SendLanes> lanes_;
};

}  // namespace fleet::notifier
