// One PostgreSQL connection that survives outages: it connects lazily, drops itself after the
// connection breaks, and reconnects with backoff on the next use.
//
// libpqxx 6 does not recover cleanly from a broken connection (see the library reference), so a
// Session never reuses a connection object that has failed: it builds a new one and re-prepares
// every registered statement.
//
// Thread-safety: a Session is used by one thread at a time, except cancel(), which any thread
// may call (e.g. a signal handler thread stopping the worker).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "core/backoff.h"
#include "core/clock.h"
#include "db/connection_options.h"

namespace fleet::db {

// The database cannot be reached now; retry later. Messages never contain a password.
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Session {
 public:
  explicit Session(ConnectionOptions options, Clock& clock = Clock::real());
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs fn(pqxx::transaction_base&) in a transaction and commits when fn returns; an exception
  // rolls back and propagates. In read-only mode the transaction is READ ONLY. A broken connection
  // is dropped and surfaces as Unavailable; the next call reconnects.
  template <class Fn>
  auto transact(Fn&& fn) -> std::invoke_result_t<Fn, pqxx::transaction_base&>;

  // Runs fn(pqxx::transaction_base&) without BEGIN and COMMIT (pqxx::nontransaction): each
  // statement commits by itself. One statement reads one snapshot either way, so a read of a
  // single statement gets the same answer in one round trip instead of three — what a hot read
  // path wants on a busy machine. Never for several statements that must agree, nor for writes
  // that must commit together (and the before-commit hook does not run).
  template <class Fn>
  auto autocommit(Fn&& fn) -> std::invoke_result_t<Fn, pqxx::transaction_base&>;

  // The live connection, connecting first when needed. Throws Unavailable when the database
  // cannot be reached or the reconnect backoff has not elapsed yet.
  pqxx::connection_base& connection();

  // Connects now when disconnected, whatever the reconnect backoff says: a worker waiting out a
  // database outage calls this about once a second so its next cycle can start as soon as the
  // database is back. Returns whether the session is connected afterwards. Never throws; may
  // block up to connect_timeout.
  bool reconnect_now();

  // Runs in every transaction of this session right before it commits, while set: whatever must
  // be committed with a change or not at all (the gateway's audit row). nullptr clears it.
  void set_before_commit(std::function<void(pqxx::transaction_base&)> hook) {
    before_commit_ = std::move(hook);
  }

  // Registers a prepared statement on this and every later connection.
  void prepare(const std::string& name, const std::string& sql);

  // Parses and plans every registered statement against the current schema (PREPARE, then
  // DEALLOCATE), so a typo or a missing column fails at start-up rather than mid-cycle.
  // Returns the first failure as "<name>: <message>", or "" when all are valid.
  std::string verify_prepared();

  // Cancels the statement running now, if any. Thread-safe; returns at once.
  void cancel();

  // Closes the connection (rolling back anything open).
  void disconnect();
  bool connected() const;

  const ConnectionOptions& options() const { return options_; }

 private:
  void drop_if_broken();
  void configure(pqxx::connection_base& conn);

  const ConnectionOptions options_;
  Clock& clock_;
  std::vector<std::pair<std::string, std::string>> statements_;

  mutable std::mutex mu_;                   // guards conn_ against cancel() from other threads
  std::unique_ptr<pqxx::connection> conn_;  // null while disconnected
  Backoff reconnect_backoff_;
  Clock::SteadyTime next_attempt_{};
  std::string last_error_;
  std::function<void(pqxx::transaction_base&)> before_commit_;
};

template <class Fn>
auto Session::transact(Fn&& fn) -> std::invoke_result_t<Fn, pqxx::transaction_base&> {
  pqxx::connection_base& conn = connection();
  try {
    pqxx::work tx(conn);
    if constexpr (std::is_void_v<std::invoke_result_t<Fn, pqxx::transaction_base&>>) {
      fn(static_cast<pqxx::transaction_base&>(tx));
      if (before_commit_) before_commit_(tx);
      tx.commit();
    } else {
      auto result = fn(static_cast<pqxx::transaction_base&>(tx));
      if (before_commit_) before_commit_(tx);
      tx.commit();
      return result;
    }
  } catch (const pqxx::broken_connection& e) {
    disconnect();
    throw Unavailable(std::string("database connection lost: ") + e.what());
  } catch (const pqxx::in_doubt_error& e) {
    disconnect();
    throw Unavailable(std::string("database connection lost during commit: ") + e.what());
  } catch (...) {
    drop_if_broken();
    throw;
  }
}

template <class Fn>
auto Session::autocommit(Fn&& fn) -> std::invoke_result_t<Fn, pqxx::transaction_base&> {
  pqxx::connection_base& conn = connection();
  try {
    pqxx::nontransaction tx(conn);
    return fn(static_cast<pqxx::transaction_base&>(tx));
  } catch (const pqxx::broken_connection& e) {
    disconnect();
    throw Unavailable(std::string("database connection lost: ") + e.what());
  } catch (...) {
    drop_if_broken();
    throw;
  }
}

}  // namespace fleet::db
