#include "db/listener.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

namespace fleet::db {
namespace {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;

// A channel name as a quoted SQL identifier.
std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Listener::Listener(ConnectionOptions options, std::string channel, std::function<void()> on_notify)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      on_notify_(std::move(on_notify)),
      thread_([this] { run(); }) {}

Listener::Listener(ConnectionOptions options, std::string channel,
                   std::function<void(std::optional<std::string_view> payload)> on_payload)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      on_payload_(std::move(on_payload)),
      thread_([this] { run(); }) {}

Listener::~Listener() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Listener::run() {
  using namespace std::chrono;
  milliseconds backoff(200);
  auto pause = [&](milliseconds d) {
    for (auto left = d; left > milliseconds(0) && !stop_; left -= milliseconds(100)) {
      std::this_thread::sleep_for(std::min(left, milliseconds(100)));
    }
  };
  while (!stop_) {
    const std::string app = options_.application_name + " (listen)";
    const std::string timeout = std::to_string(
        std::max<long long>(2, duration_cast<seconds>(options_.connect_timeout).count()));
    const char* keys[] = {"dbname", "application_name", "connect_timeout", nullptr};
    const char* values[] = {options_.conninfo.c_str(), app.c_str(), timeout.c_str(), nullptr};
    Conn conn(PQconnectdbParams(keys, values, 1));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      spdlog::debug("LISTEN {}: cannot connect; retrying in {} ms", channel_, backoff.count());
      pause(backoff);
      backoff = std::min<milliseconds>(backoff * 2, seconds(10));
      continue;
    }
    PGresult* res = PQexec(conn.get(), ("LISTEN " + quote_identifier(channel_)).c_str());
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
      spdlog::warn("LISTEN {} failed: {}", channel_, PQerrorMessage(conn.get()));
      pause(backoff);
      backoff = std::min<milliseconds>(backoff * 2, seconds(10));
      continue;
    }
    backoff = milliseconds(200);
    // Whatever was sent while we were not listening; before listening() turns true, so whoever
    // checks both sees the reconnect's consequences first.
    if (on_payload_)
      on_payload_(std::nullopt);
    else
      on_notify_();
    listening_ = true;
    while (!stop_) {
      pollfd p{PQsocket(conn.get()), POLLIN, 0};
      const int n = ::poll(&p, 1, 250);
      if (n < 0) continue;
      if (n == 0) continue;
      if (!PQconsumeInput(conn.get())) break;  // the connection broke
      bool any = false;
      while (PGnotify* note = PQnotifies(conn.get())) {
        any = true;
        received_.fetch_add(1);
        if (on_payload_) on_payload_(std::string_view(note->extra != nullptr ? note->extra : ""));
        PQfreemem(note);
      }
      if (any && on_notify_) on_notify_();
    }
    listening_ = false;
    if (!stop_) spdlog::warn("LISTEN {}: connection lost; reconnecting", channel_);
  }
}

}  // namespace fleet::db
