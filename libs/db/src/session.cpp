#include "db/session.h"

#include <cctype>
#include <cstdio>

#include <pqxx/nontransaction>
#include <pqxx/pqxx>

#include "core/duration.h"
#include "core/strings.h"

namespace fleet::db {
namespace {

std::string percent_encode(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      out += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

// Adds connect_timeout and application_name unless the connection string sets them already.
std::string with_parameters(const ConnectionOptions& o) {
  // libpq takes connect_timeout in whole seconds, at least 2.
  long long seconds =
      std::max<long long>(2, std::chrono::ceil<std::chrono::seconds>(o.connect_timeout).count());
  std::string out = o.conninfo;
  const bool uri = starts_with(out, "postgresql://") || starts_with(out, "postgres://");
  auto add = [&](const std::string& key, const std::string& value) {
    if (out.find(key + "=") != std::string::npos) return;
    if (uri) {
      out += out.find('?') == std::string::npos ? "?" : "&";
      out += key + "=" + percent_encode(value);
    } else {
      out += " " + key + "=" + quote_conninfo_value(value);
    }
  };
  add("connect_timeout", std::to_string(seconds));
  add("application_name", o.application_name);
  return out;
}

}  // namespace

Session::Session(ConnectionOptions options, Clock& clock)
    : options_(std::move(options)), clock_(clock), reconnect_backoff_(options_.reconnect) {}

Session::~Session() {
  disconnect();
}

pqxx::connection_base& Session::connection() {
  {
    std::lock_guard lock(mu_);
    if (conn_ && conn_->is_open()) return *conn_;
    conn_.reset();
  }
  // Connecting can block for connect_timeout: do it without holding mu_, so cancel() never waits.
  // Only the owning thread calls connection(), so nobody else installs a connection meanwhile.
  const auto now = clock_.steady_now();
  if (now < next_attempt_) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
    throw Unavailable("database unavailable (" + last_error_ + "); next attempt in " +
                      format_duration(wait));
  }
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(with_parameters(options_));
    configure(*conn);
    for (const auto& [name, sql] : statements_)
      conn->prepare(name, sql);
  } catch (const std::exception& e) {
    last_error_ = redact_secrets(trim(e.what()));
    next_attempt_ = now + reconnect_backoff_.fail();
    throw Unavailable("cannot connect to the database: " + last_error_);
  }
  reconnect_backoff_.reset();
  last_error_.clear();
  std::lock_guard lock(mu_);
  conn_ = std::move(conn);
  return *conn_;
}

bool Session::reconnect_now() {
  if (connected()) return true;
  next_attempt_ = {};
  try {
    connection();
    return true;
  } catch (const Unavailable&) {
    return false;
  }
}

void Session::configure(pqxx::connection_base& conn) {
  auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; };
  std::string sql = "SET statement_timeout = '" + ms(options_.statement_timeout) +
                    "'; SET lock_timeout = '" + ms(options_.lock_timeout) +
                    "'; SET idle_in_transaction_session_timeout = '" +
                    ms(options_.idle_in_transaction_timeout) +
                    "'; SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'";
  if (options_.read_only) sql += "; SET default_transaction_read_only = on";
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

void Session::prepare(const std::string& name, const std::string& sql) {
  statements_.emplace_back(name, sql);
  std::lock_guard lock(mu_);
  if (conn_) conn_->prepare(name, sql);
}

std::string Session::verify_prepared() {
  pqxx::connection_base& conn = connection();
  for (const auto& [name, sql] : statements_) {
    try {
      pqxx::nontransaction tx(conn);
      tx.exec("PREPARE fleet_verify_statement AS " + sql);
      tx.exec("DEALLOCATE fleet_verify_statement");
    } catch (const std::exception& e) {
      drop_if_broken();
      return name + ": " + std::string(trim(e.what()));
    }
  }
  return "";
}

void Session::cancel() {
  std::lock_guard lock(mu_);  // held only briefly elsewhere: connecting happens outside it
  if (!conn_) return;
  try {
    conn_->cancel_query();
  } catch (const std::exception&) {
    // Nothing is running or the connection is gone: either way there is nothing to cancel.
  }
}

void Session::disconnect() {
  std::lock_guard lock(mu_);
  conn_.reset();
}

bool Session::connected() const {
  std::lock_guard lock(mu_);
  return conn_ && conn_->is_open();
}

void Session::drop_if_broken() {
  std::lock_guard lock(mu_);
  if (conn_ && !conn_->is_open()) conn_.reset();
}

}  // namespace fleet::db
