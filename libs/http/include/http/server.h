// The project's HTTP/1.1 server core, used by the api-gateway and every probe server.
//
// One event-loop thread owns every socket; a pool of worker threads runs the handlers. An open
// connection costs a file descriptor and a buffer, never a thread, so a thousand idle or slow
// clients cannot starve the ones that send whole requests. Every limit is enforced while bytes
// arrive (see parser.h): the whole request head has one deadline (not one per read), a body has
// its own, a response the client does not read has a write deadline, and a server-wide and a
// per-client connection limit bound what one address can hold. Protocol errors (400, 408, 413,
// 414, 431, 501, 503) are answered by the server with the body `error_body` makes (JSON for the
// gateway) and the connection is closed after a short lingering drain, so the client can read
// the answer even when it was still sending.
//
// Thread-safety: start()/stop() from one thread; handlers run concurrently on worker threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fleet::http {

struct Header {
  std::string name;
  std::string value;
};

// One request, owned by the handler call.
struct Request {
  std::string method;  // as sent (HEAD is answered like GET without a body)
  std::string target;  // as sent: path[?query]
  std::string path;    // percent-decoded
  std::string query;   // as sent
  std::vector<Header> headers;
  std::multimap<std::string, std::string> params;  // decoded query parameters, sorted
  std::string body;
  // The client: the peer, or for a peer in ServerOptions::trusted_proxies the address its
  // X-Forwarded-For names (the rightmost one that is not itself a trusted proxy).
  std::string remote_addr;
  int remote_port = 0;
  std::string peer_addr;  // the connection's own peer

  bool has_header(std::string_view name) const;
  // The first value of `name` (case-insensitive), or "".
  std::string get_header_value(std::string_view name) const;
  bool has_param(const std::string& name) const { return params.count(name) > 0; }
  std::string get_param_value(const std::string& name) const;
};

struct Response;

// The answer to a request whose handler returned without it (Response::defer). Move-only; any
// thread. The first send() answers; later ones, and one after the server gave up waiting, do
// nothing. Destroyed without a send(), it answers 500, so a request is never left hanging.
class Responder {
 public:
  struct State;
  Responder() = default;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  // True when this call answered the request; false when it had been answered already or the
  // server gave up waiting (the client got a 503).
  bool send(Response response);
  bool valid() const { return state_ != nullptr; }

 private:
  std::shared_ptr<State> state_;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;
  std::string content_type;

  void set_header(std::string name, std::string value);
  void set_content(std::string text, std::string type) {
    body = std::move(text);
    content_type = std::move(type);
  }
  void set_redirect(const std::string& location, int code = 302);

  // Answers later: the handler returns at once and the request is answered when the Responder's
  // send() is called, from any thread, so no handler thread waits while the answer depends on
  // something slow (a group commit, another service). Without an answer within `timeout` the
  // server answers 503 itself. Whatever the handler put in this Response is not sent.
  // REQUIRES: can_defer() (a handler the server called).
  Responder defer(std::chrono::milliseconds timeout);
  bool can_defer() const { return defer_state_ != nullptr; }
  bool deferred() const;

  // Set by the server before it calls the handler.
  std::shared_ptr<Responder::State> defer_state_;
};

using Handler = std::function<void(const Request&, Response&)>;

struct ParsedRequest;
// The request a handler sees for a parsed one: the path percent-decoded, the query split into
// decoded parameters, everything copied.
Request make_request(const ParsedRequest& parsed, std::string remote_addr, int remote_port);

struct ServerOptions {
  std::string name = "http";  // for logs
  std::string address = "0.0.0.0";
  int port = 0;     // 0: any free port
  int threads = 8;  // handler threads
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_client = 2'000;  // 0: no per-address limit
  std::size_t max_queued_requests = 10'000;        // more waiting for a handler thread -> 503
  std::chrono::milliseconds idle_timeout{5'000};   // keep-alive: waiting for a request's first byte
  std::chrono::milliseconds head_timeout{10'000};  // first byte to the end of the head
  std::chrono::milliseconds body_timeout{30'000};  // end of the head to the end of the body
  std::chrono::milliseconds write_timeout{10'000};  // a whole response
  std::chrono::milliseconds linger{2'000};          // draining a refused request before closing
  std::size_t max_head_bytes = 16 * 1024;
  std::size_t max_target_bytes = 8 * 1024;
  std::size_t max_headers = 100;
  std::size_t max_body_bytes = 1 << 20;
  std::vector<Header> default_headers;  // added to every response that lacks them
  // Addresses or CIDR blocks of reverse proxies whose X-Forwarded-For is believed; from anyone
  // else the header is ignored (a client cannot pick its own address).
  std::vector<std::string> trusted_proxies;
  // The body of a response the server makes itself (protocol errors, overload); JSON by default.
  std::function<std::string(int status, std::string_view message)> error_body;
};

struct ServerStats {
  std::uint64_t open_connections = 0;
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;          // over a connection limit
  std::uint64_t timed_out = 0;        // a deadline passed
  std::uint64_t protocol_errors = 0;  // answered 4xx by the server itself
  std::uint64_t requests = 0;         // handed to handlers
  std::uint64_t deferred = 0;         // answered later (Response::defer), or waiting to be
};

class Server {
 public:
  // Binds (SO_REUSEADDR only: a port in use is an error, never shared) and starts serving.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, Handler handler);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Stops accepting, lets requests in handlers finish (a few seconds at most), closes the rest.
  void stop();
  int port() const;
  bool running() const;
  ServerStats stats() const;

  struct Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// A set of addresses and CIDR blocks (IPv4 and IPv6).
class AddressSet {
 public:
  // Fails naming the first entry that is neither an address nor a block.
  static Result<AddressSet> parse(const std::vector<std::string>& entries);
  bool contains(std::string_view address) const;
  bool empty() const { return blocks_.empty(); }

 private:
  struct Block {
    int family = 0;
    unsigned char bytes[16] = {};
    int prefix = 0;
  };
  std::vector<Block> blocks_;
};

// The client behind a trusted proxy: the rightmost X-Forwarded-For entry that is not a trusted
// proxy; `peer` when the peer is not trusted or the header names nobody else.
std::string forwarded_client(const std::string& peer, std::string_view forwarded_for,
                             const AddressSet& trusted);

// The error code word for a status the server answers itself: "too_large" for 413, ...
std::string_view error_code(int status);

// The default error body: {"error":{"code":"<status word>","message":"..."}}.
std::string json_error_body(int status, std::string_view message);

}  // namespace fleet::http
