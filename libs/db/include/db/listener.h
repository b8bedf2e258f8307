// LISTEN on a PostgreSQL channel from a thread of its own (DESIGN §1: wake-ups by NOTIFY, polling
// as the fallback). Uses its own libpq connection, never a Session's: notifications are held back
// while a transaction is open on a connection (cpp-libraries.md), and a worker's session is busy
// with its cycle. Reconnects with backoff after the connection breaks and calls `on_notify` once
// after every (re)connect, since notifications sent while it was away are lost.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "db/connection_options.h"

namespace fleet::db {

class Listener {
 public:
  // Starts listening at once. `on_notify` runs on the listener's thread: keep it short.
  Listener(ConnectionOptions options, std::string channel, std::function<void()> on_notify);
  // The same, for listeners that act on what a notification says: `on_payload` runs once per
  // notification with its payload, and with nullopt after every (re)connect (anything may have
  // changed meanwhile).
  Listener(ConnectionOptions options, std::string channel,
           std::function<void(std::optional<std::string_view> payload)> on_payload);
  ~Listener();  // stops the thread (within about half a second)
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // True while connected with the LISTEN in place, from just after the (re)connect's callback.
  bool listening() const { return listening_.load(); }
  // Notifications received so far.
  std::uint64_t received() const { return received_.load(); }

 private:
  void run();

  ConnectionOptions options_;
  std::string channel_;
  std::function<void()> on_notify_;
  std::function<void(std::optional<std::string_view>)> on_payload_;  // instead of on_notify_
  std::atomic<bool> stop_{false};
  std::atomic<bool> listening_{false};
  std::atomic<std::uint64_t> received_{0};
  std::thread thread_;
};

}  // namespace fleet::db
