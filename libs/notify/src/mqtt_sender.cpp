#include "notify/mqtt_sender.h"

#include <mosquitto.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace fleet::notify {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kQos = 1;

void init_library_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

struct MqttConfig {
  std::string host;
  int port = 1883;
  std::string topic;
  std::string username;
  bool tls = false;
  std::string ca_file;
  bool retain = false;
  int timeout_ms = 5000;
};

Result<MqttConfig> parse_config(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::invalid("config is not a JSON object");
  MqttConfig c;
  auto str = [&](const char* key, std::string& out) -> bool {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  if (!str("host", c.host) || !str("topic", c.topic) || !str("username", c.username) ||
      !str("ca_file", c.ca_file)) {
    return Error::invalid("config has a field of the wrong type");
  }
  if (c.host.empty()) return Error::invalid("config.host is missing");
  if (c.topic.empty() || c.topic.find_first_of("+#") != std::string::npos) {
    return Error::invalid("config.topic is empty or has a wildcard");
  }
  if (auto it = j.find("port"); it != j.end() && it->is_number_integer()) {
    c.port = it->get<int>();
  }
  if (c.port < 1 || c.port > 65535) return Error::invalid("config.port is out of range");
  if (auto it = j.find("tls"); it != j.end() && it->is_boolean()) c.tls = it->get<bool>();
  if (auto it = j.find("retain"); it != j.end() && it->is_boolean()) c.retain = it->get<bool>();
  if (auto it = j.find("timeout_ms"); it != j.end() && it->is_number_integer()) {
    c.timeout_ms = std::clamp(it->get<int>(), 100, 60000);
  }
  if (c.tls && c.ca_file.empty()) return Error::invalid("config.ca_file is required with tls");
  return c;
}

// One broker connection of one channel. libmosquitto's network thread runs the socket (keepalive,
// PUBACKs); the callbacks record what happened under mu and wake the sender.
struct Connection {
  std::string fingerprint;  // config + secret it was made with
  mosquitto* mosq = nullptr;
  bool loop_started = false;
  std::mutex send_mu;  // one send at a time on this connection

  std::mutex mu;
  std::condition_variable changed;
  bool connected = false;
  int refused_rc = -1;  // CONNACK reason when the broker refused us
  int generation = 0;   // bumped on every disconnect
  std::set<int> acked;  // mids whose PUBACK arrived

  ~Connection() {
    if (mosq == nullptr) return;
    mosquitto_disconnect(mosq);
    if (loop_started) mosquitto_loop_stop(mosq, false);
    mosquitto_destroy(mosq);
  }

  static void on_connect(mosquitto*, void* self, int rc) {
    auto* c = static_cast<Connection*>(self);
    std::lock_guard lock(c->mu);
    if (rc == 0) {
      c->connected = true;
      c->refused_rc = -1;
    } else {
      c->refused_rc = rc;
    }
    c->changed.notify_all();
  }
  static void on_disconnect(mosquitto*, void* self, int) {
    auto* c = static_cast<Connection*>(self);
    std::lock_guard lock(c->mu);
    c->connected = false;
    ++c->generation;
    c->changed.notify_all();
  }
  static void on_publish(mosquitto*, void* self, int mid) {
    auto* c = static_cast<Connection*>(self);
    std::lock_guard lock(c->mu);
    c->acked.insert(mid);
    c->changed.notify_all();
  }
};

std::string mosq_error(int rc) {
  return rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc);
}

class MqttSender final : public Sender {
 public:
  MqttSender() { init_library_once(); }

  SendResult send(const ChannelSettings& channel, const OutgoingMessage& message) override {
    const auto started = Clock::now();
    SendResult result;
    auto finish = [&]() -> SendResult {
      result.latency =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
      return result;
    };
    auto config = parse_config(channel.config_json);
    if (!config.ok()) {
      result.permanent = true;
      result.error = "mqtt channel " + channel.name + ": " + config.error().message();
      return finish();
    }
    const auto deadline = started + std::chrono::milliseconds(config->timeout_ms);
    const std::string where = "mqtt " + config->host + ":" + std::to_string(config->port);

    std::shared_ptr<Connection> conn = connection_for(channel, *config);
    std::lock_guard send_lock(conn->send_mu);
    if (conn->mosq == nullptr) {
      if (auto s = open(*conn, *config, channel.secret); !s.ok()) {
        drop(channel.id, conn);
        result.error = where + ": " + s.error().message();
        return finish();
      }
    }
    std::unique_lock lock(conn->mu);
    conn->changed.wait_until(lock, deadline,
                             [&] { return conn->connected || conn->refused_rc >= 0; });
    if (!conn->connected) {
      if (conn->refused_rc >= 0) {
        result.status = conn->refused_rc;
        result.reply = mosquitto_connack_string(conn->refused_rc);
        result.error = where + ": the broker refused the connection: " + result.reply;
      } else {
        result.error =
            where + ": not connected within " + std::to_string(config->timeout_ms) + " ms";
      }
      lock.unlock();
      drop(channel.id, conn);
      return finish();
    }
    const int generation = conn->generation;
    lock.unlock();

    int mid = 0;
    const int rc = mosquitto_publish(conn->mosq, &mid, config->topic.c_str(),
                                     static_cast<int>(message.document_json.size()),
                                     message.document_json.data(), kQos, config->retain);
    if (rc != MOSQ_ERR_SUCCESS) {
      result.error = where + ": publish refused: " + mosq_error(rc);
      result.permanent = rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_MALFORMED_UTF8;
      if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) drop(channel.id, conn);
      return finish();
    }
    lock.lock();
    const bool acked =
        conn->changed.wait_until(lock, deadline, [&] { return conn->acked.count(mid) > 0; });
    conn->acked.erase(mid);
    const bool link_broke = conn->generation != generation;
    lock.unlock();
    if (acked) {
      result.outcome = SendResult::Outcome::kDelivered;
      result.reply = "PUBACK";
      return finish();
    }
    // The PUBLISH was handed to the socket: the broker may have it.
    result.outcome = SendResult::Outcome::kUncertain;
    result.error = where + ": no PUBACK within " + std::to_string(config->timeout_ms) + " ms" +
                   (link_broke ? " (the connection was lost)" : "");
    drop(channel.id, conn);
    return finish();
  }

 private:
  static std::string fingerprint(const ChannelSettings& channel) {
    return channel.config_json + '\0' + channel.secret;
  }

  std::shared_ptr<Connection> connection_for(const ChannelSettings& channel, const MqttConfig&) {
    std::lock_guard lock(mu_);
    auto& slot = connections_[channel.id];
    const auto fp = fingerprint(channel);
    if (!slot || slot->fingerprint != fp) {
      slot = std::make_shared<Connection>();
      slot->fingerprint = fp;
    }
    return slot;
  }

  // Forgets a connection that failed; the next send makes a new one. Destroyed (and its thread
  // stopped) when the last sender holding it lets go.
  void drop(std::int64_t channel_id, const std::shared_ptr<Connection>& conn) {
    std::lock_guard lock(mu_);
    auto it = connections_.find(channel_id);
    if (it != connections_.end() && it->second == conn) connections_.erase(it);
  }

  static Status open(Connection& c, const MqttConfig& config, const std::string& password) {
    c.mosq = mosquitto_new(nullptr, true, &c);
    if (c.mosq == nullptr) return Error::internal("mosquitto_new failed");
    mosquitto_int_option(c.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    if (!config.username.empty()) {
      mosquitto_username_pw_set(c.mosq, config.username.c_str(),
                                password.empty() ? nullptr : password.c_str());
    }
    if (config.tls) {
      const int rc =
          mosquitto_tls_set(c.mosq, config.ca_file.c_str(), nullptr, nullptr, nullptr, nullptr);
      if (rc != MOSQ_ERR_SUCCESS) return Error::invalid("TLS setup: " + mosq_error(rc));
    }
    mosquitto_reconnect_delay_set(c.mosq, 1, 10, true);
    mosquitto_connect_callback_set(c.mosq, &Connection::on_connect);
    mosquitto_disconnect_callback_set(c.mosq, &Connection::on_disconnect);
    mosquitto_publish_callback_set(c.mosq, &Connection::on_publish);
    int rc = mosquitto_connect_async(c.mosq, config.host.c_str(), config.port, 30);
    if (rc != MOSQ_ERR_SUCCESS) return Error::unavailable("cannot connect: " + mosq_error(rc));
    rc = mosquitto_loop_start(c.mosq);
    if (rc != MOSQ_ERR_SUCCESS) return Error::internal("network thread: " + mosq_error(rc));
    c.loop_started = true;
    return Status::success();
  }

  std::mutex mu_;
  std::map<std::int64_t, std::shared_ptr<Connection>> connections_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<Sender> make_mqtt_sender() {
  return std::make_unique<MqttSender>();
}

}  // namespace fleet::notify
