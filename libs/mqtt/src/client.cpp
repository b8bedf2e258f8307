#include "mqtt/client.h"

#include <mosquitto.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

namespace fleet::mqtt {
namespace {

constexpr int kQos = 1;

void init_library_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

// At most one warning per interval; the number skipped is reported with the next one.
class LogThrottle {
 public:
  template <class Fn>
  void warn(Fn&& log) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    if (logged_once_ && now - last_ < std::chrono::seconds(10)) {
      ++skipped_;
      return;
    }
    logged_once_ = true;
    last_ = now;
    log(skipped_);
    skipped_ = 0;
  }

 private:
  std::mutex mu_;
  bool logged_once_ = false;
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t skipped_ = 0;
};

}  // namespace

struct Client::Impl {
  // Constant after construction.
  BrokerOptions options;
  Handlers handlers;
  std::string where;  // describe(options), for logs
  mosquitto* mosq = nullptr;

  // State below is protected by mu.
  mutable std::mutex mu;
  std::set<std::string> subscriptions;
  bool connected = false;
  bool loop_started = false;

  std::atomic<bool> aborting{false};
  std::atomic<bool> stopping{false};
  LogThrottle oversize_log;

  std::atomic<std::uint64_t> connects{0}, disconnects{0}, messages_in{0}, oversize_dropped{0},
      published{0}, publish_refused{0};

  // The first connection when the broker was unreachable at start (see start()).
  std::thread starter;
  std::condition_variable stop_wake;  // with mu

  void first_connect() {
    std::chrono::seconds delay = options.reconnect_min;
    while (true) {
      {
        std::unique_lock lock(mu);
        stop_wake.wait_for(lock, delay, [&] { return stopping || aborting; });
        if (stopping || aborting) return;
      }
      delay = std::min(delay * 2, options.reconnect_max);
      const int rc = mosquitto_reconnect_async(mosq);
      if (rc != MOSQ_ERR_SUCCESS) {
        spdlog::debug("mqtt {}: connection attempt failed: {}", where,
                      rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
        continue;
      }
      std::lock_guard lock(mu);
      if (stopping || aborting) return;
      const int started = mosquitto_loop_start(mosq);
      if (started != MOSQ_ERR_SUCCESS) {
        spdlog::error("mqtt {}: cannot start the network thread: {}", where,
                      mosquitto_strerror(started));
        return;
      }
      loop_started = true;
      return;
    }
  }

  static void on_connect(mosquitto* m, void* self, int rc) {
    static_cast<Impl*>(self)->connected_cb(m, rc);
  }
  static void on_disconnect(mosquitto* m, void* self, int rc) {
    static_cast<Impl*>(self)->disconnected_cb(m, rc);
  }
  static void on_message(mosquitto*, void* self, const mosquitto_message* msg) {
    static_cast<Impl*>(self)->message_cb(msg);
  }

  void connected_cb(mosquitto* m, int rc) {
    if (rc != 0) {
      spdlog::warn("mqtt {}: broker refused the connection: {}", where,
                   mosquitto_connack_string(rc));
      return;
    }
    {
      std::lock_guard lock(mu);
      connected = true;
      for (const auto& filter : subscriptions) {
        const int s = mosquitto_subscribe(m, nullptr, filter.c_str(), kQos);
        if (s != MOSQ_ERR_SUCCESS) {
          spdlog::warn("mqtt {}: cannot subscribe to {}: {}", where, filter, mosquitto_strerror(s));
        }
      }
    }
    ++connects;
    spdlog::info("mqtt {}: connected", where);
    if (handlers.on_connection) handlers.on_connection(true);
  }

  void disconnected_cb(mosquitto* m, int rc) {
    bool was = false;
    {
      std::lock_guard lock(mu);
      was = connected;
      connected = false;
    }
    ++disconnects;
    if (aborting) {
      // The socket is gone already, so this only marks the client as finished: the network
      // thread stops instead of reconnecting, and no DISCONNECT is ever sent.
      mosquitto_disconnect(m);
    } else if (!stopping && rc != 0) {
      spdlog::warn("mqtt {}: connection lost ({}); reconnecting", where, mosquitto_strerror(rc));
    }
    if (was && handlers.on_connection) handlers.on_connection(false);
  }

  void message_cb(const mosquitto_message* msg) {
    const auto size = static_cast<std::size_t>(msg->payloadlen < 0 ? 0 : msg->payloadlen);
    if (size > options.max_payload_bytes) {
      ++oversize_dropped;
      oversize_log.warn([&](std::uint64_t skipped) {
        spdlog::warn(
            "mqtt {}: dropped a {}-byte message on '{}' (limit {} bytes; {} more dropped "
            "since the last warning)",
            where, size, msg->topic ? msg->topic : "", options.max_payload_bytes, skipped);
      });
      return;
    }
    ++messages_in;
    if (!handlers.on_message) return;
    Message m;
    m.topic = msg->topic ? msg->topic : "";
    if (size > 0) m.payload.assign(static_cast<const char*>(msg->payload), size);
    m.retained = msg->retain;
    try {
      handlers.on_message(m);
    } catch (const std::exception& e) {
      spdlog::error("mqtt {}: message handler failed on '{}': {}", where, m.topic, e.what());
    }
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Client>> Client::start(BrokerOptions options, Handlers handlers) {
  if (auto s = validate(options); !s.ok()) return s.error();
  init_library_once();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->handlers = std::move(handlers);
  impl->where = describe(impl->options);
  const auto& o = impl->options;

  const bool clean = o.session == Session::kClean;
  impl->mosq =
      mosquitto_new(o.client_id.empty() ? nullptr : o.client_id.c_str(), clean, impl.get());
  if (impl->mosq == nullptr) return Error::internal("mosquitto_new failed");
  // From here on the destructor owns mosq.
  std::unique_ptr<Client> client(new Client(std::move(impl)));
  Impl& i = *client->impl_;
  mosquitto* m = i.mosq;

  auto fail = [&](const char* what, int rc) {
    return Error::invalid(std::string("mqtt ") + i.where + ": " + what + ": " +
                          mosquitto_strerror(rc));
  };
  int rc = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  if (rc != MOSQ_ERR_SUCCESS) return fail("protocol version", rc);
  if (!o.username.empty()) {
    rc = mosquitto_username_pw_set(m, o.username.c_str(),
                                   o.password.empty() ? nullptr : o.password.c_str());
    if (rc != MOSQ_ERR_SUCCESS) return fail("credentials", rc);
  }
  if (o.tls.enabled) {
    rc = mosquitto_tls_set(m, o.tls.ca_file.c_str(), nullptr,
                           o.tls.cert_file.empty() ? nullptr : o.tls.cert_file.c_str(),
                           o.tls.key_file.empty() ? nullptr : o.tls.key_file.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return fail("TLS setup", rc);
  }
  if (o.will) {
    rc = mosquitto_will_set(m, o.will->topic.c_str(), static_cast<int>(o.will->payload.size()),
                            o.will->payload.data(), kQos, o.will->retain);
    if (rc != MOSQ_ERR_SUCCESS) return fail("last will", rc);
  }
  mosquitto_reconnect_delay_set(m, static_cast<unsigned>(o.reconnect_min.count()),
                                static_cast<unsigned>(o.reconnect_max.count()), true);
  mosquitto_connect_callback_set(m, &Impl::on_connect);
  mosquitto_disconnect_callback_set(m, &Impl::on_disconnect);
  mosquitto_message_callback_set(m, &Impl::on_message);

  // An unreachable broker is not an error here: it is retried in the background.
  rc = mosquitto_connect_async(m, o.host.c_str(), o.port, static_cast<int>(o.keepalive.count()));
  if (rc == MOSQ_ERR_INVAL) return fail("connect", rc);
  if (rc == MOSQ_ERR_SUCCESS) {
    rc = mosquitto_loop_start(m);
    if (rc != MOSQ_ERR_SUCCESS) return fail("network thread", rc);
    std::lock_guard lock(i.mu);
    i.loop_started = true;
  } else {
    spdlog::warn("mqtt {}: first connection attempt failed ({}); retrying in the background",
                 i.where, rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
    // libmosquitto's network thread does not retry a first connect that failed (it waits on a
    // socket it never got), so the first connection is retried here; once it is made the network
    // thread takes over and handles every later loss itself.
    i.starter = std::thread([&i] { i.first_connect(); });
  }
  return client;
}

Client::~Client() {
  if (!impl_ || impl_->mosq == nullptr) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->stop_wake.notify_all();
  if (impl_->starter.joinable()) impl_->starter.join();
  bool started = false;
  {
    std::lock_guard lock(impl_->mu);
    started = impl_->loop_started;
  }
  mosquitto_disconnect(impl_->mosq);
  if (started) mosquitto_loop_stop(impl_->mosq, false);
  mosquitto_destroy(impl_->mosq);
  impl_->mosq = nullptr;
}

Status Client::publish(const std::string& topic, const std::string& payload, Retain retain) {
  if (topic.empty() || topic.find_first_of("+#") != std::string::npos) {
    ++impl_->publish_refused;
    return Error::invalid("mqtt topic '" + topic + "' is empty or has a wildcard");
  }
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->connected || impl_->aborting) {
      ++impl_->publish_refused;
      return Error::unavailable("not connected to the MQTT broker " + impl_->where);
    }
  }
  const int rc =
      mosquitto_publish(impl_->mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                        payload.data(), kQos, retain == Retain::kYes);
  if (rc != MOSQ_ERR_SUCCESS) {
    ++impl_->publish_refused;
    if (rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_MALFORMED_UTF8 || rc == MOSQ_ERR_INVAL) {
      return Error::invalid("cannot publish to '" + topic + "': " + mosquitto_strerror(rc));
    }
    return Error::unavailable("cannot publish to '" + topic + "' on " + impl_->where + ": " +
                              mosquitto_strerror(rc));
  }
  ++impl_->published;
  return Status::success();
}

Status Client::subscribe(const std::string& filter) {
  if (mosquitto_sub_topic_check(filter.c_str()) != MOSQ_ERR_SUCCESS) {
    return Error::invalid("mqtt subscription '" + filter + "' is not a valid topic filter");
  }
  std::lock_guard lock(impl_->mu);
  if (!impl_->subscriptions.insert(filter).second) return Status::success();
  if (impl_->connected) {
    const int rc = mosquitto_subscribe(impl_->mosq, nullptr, filter.c_str(), kQos);
    if (rc != MOSQ_ERR_SUCCESS) {
      // Remembered: made again on the next connect.
      spdlog::warn("mqtt {}: cannot subscribe to {} now: {}", impl_->where, filter,
                   mosquitto_strerror(rc));
    }
  }
  return Status::success();
}

void Client::unsubscribe(const std::string& filter) {
  std::lock_guard lock(impl_->mu);
  if (impl_->subscriptions.erase(filter) == 0) return;
  if (impl_->connected) mosquitto_unsubscribe(impl_->mosq, nullptr, filter.c_str());
}

bool Client::connected() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connected && !impl_->aborting;
}

ClientStats Client::stats() const {
  const Impl& i = *impl_;
  return {i.connects,         i.disconnects, i.messages_in,
          i.oversize_dropped, i.published,   i.publish_refused};
}

void Client::abort_connection() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->aborting.exchange(true)) return;
  }
  impl_->stop_wake.notify_all();
  const int fd = mosquitto_socket(impl_->mosq);
  if (fd >= 0) {
    // FIN without DISCONNECT: the broker treats it as a lost client and publishes the will.
    // The network thread then sees the loss and (aborting) stops for good.
    ::shutdown(fd, SHUT_RDWR);
  } else {
    // Not connected: nothing to drop; just make sure the network thread stops retrying.
    mosquitto_disconnect(impl_->mosq);
  }
}

}  // namespace fleet::mqtt
