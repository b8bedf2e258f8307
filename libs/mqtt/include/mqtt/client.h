// A thread-safe MQTT 3.1.1 client (libmosquitto underneath, kept out of this header).
//
// One client = one broker connection with its own network thread (mosquitto_loop_start). It
// connects in the background and reconnects after every loss with exponential backoff; the
// subscriptions it was given are made again after each reconnect. Everything is QoS 1.
//
// publish() never queues into the void: when the client is not connected it fails (kUnavailable)
// and nothing is sent, so the caller knows. A message accepted while the link is breaking may
// still be delivered after the reconnect (QoS 1 is at-least-once): receivers must be idempotent
// per message identity (the relay layout carries a request id for that).
//
// Thread-safety: every member may be called from any thread. Handlers run on the network thread;
// they may call publish()/subscribe() but must not destroy the client.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"

namespace fleet::mqtt {

struct TlsOptions {
  bool enabled = false;   // TLS to the broker; the broker's certificate and host name are verified
  std::string ca_file;    // PEM bundle the broker's certificate must chain to (required with TLS)
  std::string cert_file;  // client certificate (PEM), "" = none; needs key_file
  std::string key_file;   // client private key (PEM, unencrypted)
};

// Published by the broker when the connection drops without a DISCONNECT.
struct Will {
  std::string topic;
  std::string payload;
  bool retain = true;  // availability wills are retained so late subscribers see them
};

enum class Session { kClean, kPersistent };

struct BrokerOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;               // "" = let the library make one (only with Session::kClean)
  std::string username;                // "" = anonymous
  std::string password;                // never logged
  std::chrono::seconds keepalive{30};  // broker drops us (and sends the will) after 1.5x this
  TlsOptions tls;
  std::optional<Will> will;
  Session session = Session::kClean;  // clean: the broker keeps nothing for us across connections
  std::chrono::seconds reconnect_min{1};      // first reconnect delay (libmosquitto counts seconds)
  std::chrono::seconds reconnect_max{30};     // delays grow quadratically up to this
  std::size_t max_payload_bytes = 64 * 1024;  // bigger incoming messages are dropped and logged
};

// Checks what can be checked without a network: host/port ranges, TLS files readable, a client
// certificate with its key, a persistent session with a client id. Errors name the field.
Status validate(const BrokerOptions& options);

// "host:port" or "host" (port 1883; 8883 with TLS) into options.host/port. Errors name the text.
Status parse_broker_address(std::string_view text, BrokerOptions& options);

// "user@host:port" style description for logs: never the password.
std::string describe(const BrokerOptions& options);

struct Message {
  std::string topic;
  std::string payload;
  bool retained = false;  // delivered from the broker's retained store (e.g. on subscribe)
};

enum class Retain { kNo, kYes };

struct ClientStats {
  std::uint64_t connects = 0;          // successful CONNACKs
  std::uint64_t disconnects = 0;       // connection losses and closes
  std::uint64_t messages_in = 0;       // handed to the message handler
  std::uint64_t oversize_dropped = 0;  // incoming messages above max_payload_bytes
  std::uint64_t published = 0;         // accepted by publish()
  std::uint64_t publish_refused = 0;   // publish() failures (not connected, library error)
};

class Client {
 public:
  struct Handlers {
    std::function<void(const Message&)> on_message;     // network thread
    std::function<void(bool connected)> on_connection;  // network thread; after resubscribing
  };

  // Validates the options and starts connecting in the background. Fails only for bad options
  // (kInvalidArgument) or a library failure; an unreachable broker is retried, not an error.
  static Result<std::unique_ptr<Client>> start(BrokerOptions options, Handlers handlers);

  // Disconnects cleanly (DISCONNECT is sent: the broker does NOT publish the will) and stops the
  // network thread. Messages accepted by publish() before are written first.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // QoS 1. Fails with kUnavailable when not connected (nothing is sent) and kInvalidArgument for a
  // bad topic or a payload above the MQTT limit.
  Status publish(const std::string& topic, const std::string& payload, Retain retain = Retain::kNo);

  // Remembered and made again after every reconnect; sent now when connected. QoS 1.
  Status subscribe(const std::string& filter);
  void unsubscribe(const std::string& filter);

  bool connected() const;
  ClientStats stats() const;

  // Drops the connection the way a crashed device does: the socket is shut down without a
  // DISCONNECT, so the broker publishes the will, and the client does not reconnect. The client
  // is finished afterwards (publish fails); destroy it and start a new one to come back.
  // For simulators and tests.
  void abort_connection();

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fleet::mqtt
