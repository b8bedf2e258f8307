#include "http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "http/event_loop.h"
#include "http/parser.h"

namespace fleet::http {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::string_view error_code(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 408:
      return "timeout";
    case 413:
      return "too_large";
    case 414:
      return "uri_too_long";
    case 417:
      return "expectation_failed";
    case 431:
      return "headers_too_large";
    case 501:
      return "not_implemented";
    case 503:
      return "unavailable";
    case 505:
      return "http_version";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

namespace {

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      out.push_back('?');  // server messages are ASCII; nothing from the client is echoed raw
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

// Once per process: the open-file limit raised to its hard maximum (every connection is a
// descriptor), and the allocator tuned for a server.
void tune_process() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Answers of tens of kB are allocated on handler threads and freed on the loop thread: with
    // glibc's default dynamic thresholds every free trims the arena and the next answer faults
    // its pages in again (measured: a third of the gateway's CPU on cached 58 kB pages).
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
  });
}

std::multimap<std::string, std::string> parse_query(std::string_view query) {
  std::multimap<std::string, std::string> params;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      params.emplace(
          percent_decode(pair.substr(0, eq), true),
          eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return params;
}

// An answer on its way out: the head and the body, written together with one sendmsg (the body
// is moved, never copied into one buffer with the head).
struct Outgoing {
  std::string head;
  std::string body;
  std::size_t sent = 0;

  std::size_t size() const { return head.size() + body.size(); }
  bool done() const { return sent >= size(); }
  // Writes what the socket takes without blocking. False on an error other than EAGAIN.
  bool write_some(int fd) {
    while (!done()) {
      iovec parts[2];
      int count = 0;
      if (sent < head.size()) {
        parts[count++] = {head.data() + sent, head.size() - sent};
        if (!body.empty()) parts[count++] = {body.data(), body.size()};
      } else {
        parts[count++] = {body.data() + (sent - head.size()), body.size() - (sent - head.size())};
      }
      msghdr msg{};
      msg.msg_iov = parts;
      msg.msg_iovlen = static_cast<decltype(msg.msg_iovlen)>(count);
      const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return n < 0 && errno == EAGAIN;
      }
    }
    return true;
  }
};

Outgoing serialize(Response&& res, const std::vector<Header>& defaults, bool head_only,
                   bool close) {
  std::string out;
  out.reserve(512);
  char num[24];
  out.append("HTTP/1.1 ");
  out.append(num, std::to_chars(num, num + sizeof num, res.status).ptr);
  out.push_back(' ');
  out.append(reason_phrase(res.status));
  out.append("\r\n");
  auto has = [&](std::string_view name) {
    for (const auto& h : res.headers)
      if (iequals(h.name, name)) return true;
    return false;
  };
  auto header = [&](std::string_view name, std::string_view value) {
    // Header values never carry CR or LF (no response splitting, whatever a handler set).
    out.append(name);
    out.append(": ");
    for (char c : value)
      out.push_back(c == '\r' || c == '\n' ? ' ' : c);
    out.append("\r\n");
  };
  const bool bodiless = res.status == 204 || res.status == 304 || res.status < 200;
  if (!bodiless) {
    if (!res.content_type.empty() && !has("Content-Type")) header("Content-Type", res.content_type);
    header("Content-Length",
           std::string_view(
               num, static_cast<size_t>(std::to_chars(num, num + sizeof num, res.body.size()).ptr -
                                        num)));
  }
  for (const auto& h : res.headers) {
    if (iequals(h.name, "Content-Length") || iequals(h.name, "Connection")) continue;
    header(h.name, h.value);
  }
  for (const auto& h : defaults) {
    if (!has(h.name)) header(h.name, h.value);
  }
  if (close) out.append("Connection: close\r\n");
  out.append("\r\n");
  Outgoing o;
  o.head = std::move(out);
  if (!bodiless && !head_only) o.body = std::move(res.body);
  return o;
}

std::string peer_text(const sockaddr_storage& ss, int* port) {
  char host[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    *port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    *port = ntohs(in6->sin6_port);
    std::string_view text(host);
    if (text.rfind("::ffff:", 0) == 0 && text.find('.') != std::string_view::npos) {
      return std::string(text.substr(7));  // an IPv4 client on a dual-stack socket
    }
  }
  return host;
}

}  // namespace

std::string json_error_body(int status, std::string_view message) {
  std::string out = R"({"error":{"code":)";
  append_json_string(out, error_code(status));
  out.append(R"(,"message":)");
  append_json_string(out, message);
  out.append("}}");
  return out;
}

bool Request::has_header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return true;
  return false;
}

std::string Request::get_header_value(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return h.value;
  return {};
}

std::string Request::get_param_value(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

Request make_request(const ParsedRequest& parsed, std::string remote_addr, int remote_port) {
  Request req;
  req.method = parsed.method;
  req.target = parsed.target;
  req.path = percent_decode(parsed.path, false);
  req.query = parsed.query;
  req.params = parse_query(parsed.query);
  req.headers.reserve(parsed.headers.size());
  for (const auto& [name, value] : parsed.headers)
    req.headers.push_back({std::string(name), std::string(value)});
  req.body = parsed.body;
  req.peer_addr = remote_addr;
  req.remote_addr = std::move(remote_addr);
  req.remote_port = remote_port;
  return req;
}

Result<AddressSet> AddressSet::parse(const std::vector<std::string>& entries) {
  AddressSet set;
  for (const std::string& raw : entries) {
    std::string entry(raw);
    while (!entry.empty() && entry.back() == ' ')
      entry.pop_back();
    while (!entry.empty() && entry.front() == ' ')
      entry.erase(0, 1);
    if (entry.empty()) continue;
    Block b;
    const auto slash = entry.find('/');
    const std::string address = entry.substr(0, slash);
    if (inet_pton(AF_INET, address.c_str(), b.bytes) == 1) {
      b.family = AF_INET;
      b.prefix = 32;
    } else if (inet_pton(AF_INET6, address.c_str(), b.bytes) == 1) {
      b.family = AF_INET6;
      b.prefix = 128;
    } else {
      return Error::invalid("'" + entry + "' is not an IP address or CIDR block");
    }
    if (slash != std::string::npos) {
      const std::string bits = entry.substr(slash + 1);
      int prefix = -1;
      auto r = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      if (bits.empty() || r.ec != std::errc() || r.ptr != bits.data() + bits.size() || prefix < 0 ||
          prefix > b.prefix) {
        return Error::invalid("'" + entry + "' has a bad prefix length");
      }
      b.prefix = prefix;
    }
    set.blocks_.push_back(b);
  }
  return set;
}

bool AddressSet::contains(std::string_view address) const {
  const std::string text(address);
  unsigned char v4[4], v6[16];
  const bool is4 = inet_pton(AF_INET, text.c_str(), v4) == 1;
  const bool is6 = !is4 && inet_pton(AF_INET6, text.c_str(), v6) == 1;
  if (!is4 && !is6) return false;
  for (const Block& b : blocks_) {
    if (b.family != (is4 ? AF_INET : AF_INET6)) continue;
    const unsigned char* bytes = is4 ? v4 : v6;
    int bits = b.prefix;
    bool same = true;
    for (int i = 0; bits > 0 && same; ++i, bits -= 8) {
      const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
      same = (bytes[i] & mask) == (b.bytes[i] & mask);
    }
    if (same) return true;
  }
  return false;
}

std::string forwarded_client(const std::string& peer, std::string_view forwarded_for,
                             const AddressSet& trusted) {
  if (trusted.empty() || !trusted.contains(peer)) return peer;
  std::string client = peer;
  while (!forwarded_for.empty()) {
    const auto comma = forwarded_for.rfind(',');
    std::string_view entry =
        comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1);
    forwarded_for =
        comma == std::string_view::npos ? std::string_view() : forwarded_for.substr(0, comma);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t'))
      entry.remove_suffix(1);
    const std::string candidate(entry.substr(0, 64));
    unsigned char buf[16];
    if (inet_pton(AF_INET, candidate.c_str(), buf) != 1 &&
        inet_pton(AF_INET6, candidate.c_str(), buf) != 1) {
      break;  // not an address: believe nothing further left
    }
    client = candidate;
    if (!trusted.contains(candidate)) break;
  }
  return client;
}

void Response::set_header(std::string name, std::string value) {
  for (auto& h : headers) {
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  }
  headers.push_back({std::move(name), std::move(value)});
}

void Response::set_redirect(const std::string& location, int code) {
  status = code;
  set_header("Location", location);
}

// ---------------------------------------------------------------------------------------------

class Connection;

// One dispatched request's answer slot: the handler thread answers it at once, or a Responder
// later (Response::defer); `answered` makes sure exactly one answer (or the server's 503 when
// the deadline passes) goes out.
struct Responder::State {
  std::weak_ptr<Server::Impl> server;
  std::uint64_t connection = 0;
  bool close = false;
  bool head_only = false;
  std::atomic<Clock::rep> deadline{0};  // steady_clock ticks; set before `deferred`
  std::atomic<bool> deferred{false};
  std::atomic<bool> answered{false};
};

struct Server::Impl {
  ServerOptions options;
  Handler handler;
  Limits limits;
  AddressSet trusted;
  std::weak_ptr<Impl> self;
  std::unique_ptr<EventLoop> loop;
  int listen_fd = -1;
  std::unique_ptr<EventLoop::Handler> listener;
  int port = 0;
  std::thread io_thread;
  std::atomic<bool> running{false};
  bool accepting = true;  // loop thread

  // Loop thread only.
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections;
  std::unordered_map<std::string, std::size_t> per_client;
  std::uint64_t next_id = 1;
  // Deferred answers that did not come in time, logged at most once a second (a hung database
  // can make thousands a second).
  std::uint64_t overdue_unlogged = 0;
  std::optional<Clock::time_point> overdue_logged_at;

  // Handler threads.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> queue;  // guarded by mu
  bool workers_stop = false;                // guarded by mu
  std::vector<std::thread> workers;
  std::atomic<std::size_t> in_handlers{0};
  std::atomic<std::size_t> deferred_waiting{0};  // deferred answers not given yet

  std::atomic<std::uint64_t> accepted{0}, refused{0}, timed_out{0}, protocol_errors{0}, requests{0},
      open{0}, deferred{0};

  std::string error_body(int status, std::string_view message) const {
    return options.error_body ? options.error_body(status, message)
                              : json_error_body(status, message);
  }
  Outgoing error_response(int status, std::string_view message) const {
    Response res;
    res.status = status;
    res.set_content(error_body(status, message), "application/json");
    return serialize(std::move(res), options.default_headers, false, true);
  }

  void on_accept();
  // Any thread: a deferred answer (the caller won State::answered).
  void answer_later(const Responder::State& state, Response response);
  void sweep();
  void close_connection(std::uint64_t id);
  bool submit(std::function<void()> task);
  void worker_main();
};

class Connection final : public EventLoop::Handler {
 public:
  enum class State { kIdle, kHead, kBody, kDispatched, kWriting, kLinger };

  Connection(Server::Impl& server, std::uint64_t id, int fd, std::string peer, int peer_port)
      : server_(server), id_(id), fd_(fd), peer_(std::move(peer)), peer_port_(peer_port) {
    deadline_ = Clock::now() + server_.options.idle_timeout;
  }
  ~Connection() override { ::close(fd_); }

  int fd() const { return fd_; }
  const std::string& peer() const { return peer_; }
  State state() const { return state_; }
  Clock::time_point deadline() const { return deadline_; }

  void on_event(std::uint32_t events) override {
    if (state_ == State::kDispatched) {
      // The handler still runs; a hang-up only means the answer will be dropped.
      if (events & (EPOLLHUP | EPOLLERR)) {
        peer_gone_ = true;
        server_.loop->remove(fd_);
        return;
      }
      // More bytes (a pipelined request) or the client's end of sending: they wait in the socket
      // until the answer is out. Not watching the descriptor meanwhile keeps the loop from being
      // told again and again (level-triggered); it is watched for reading again when the answer
      // comes. Most requests never get here, so a dispatch changes nothing in epoll.
      if (events & EPOLLIN) watch(0);
      return;
    }
    if ((events & EPOLLOUT) && state_ == State::kWriting) {
      flush();
      return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_some();
  }

  // Loop thread: a deferred answer whose deadline passed without one (claims it).
  bool deferred_overdue(Clock::time_point now) const {
    return state_ == State::kDispatched && pending_ && pending_->deferred.load() &&
           now.time_since_epoch().count() >= pending_->deadline.load();
  }
  void answer_overdue() {
    if (!pending_ || pending_->answered.exchange(true)) return;
    --server_.deferred_waiting;
    ++server_.timed_out;
    ++server_.overdue_unlogged;
    deliver(server_.error_response(503, "the answer did not come in time; retry shortly"), true);
  }

  // Loop thread: the handler's answer (the handler's thread may have written part of it).
  void deliver(Outgoing answer, bool close) {
    pending_.reset();
    if (peer_gone_) {
      server_.close_connection(id_);
      return;
    }
    watch(EPOLLIN);
    send(std::move(answer), close);
  }

  // Loop thread: a deadline passed.
  void expire() {
    switch (state_) {
      case State::kHead:
        ++server_.timed_out;
        refuse(408, "the request head did not arrive in time");
        break;
      case State::kBody:
        ++server_.timed_out;
        refuse(408, "the request body did not arrive in time");
        break;
      case State::kWriting:
        ++server_.timed_out;
        server_.close_connection(id_);
        break;
      default:
        server_.close_connection(id_);
        break;
    }
  }

 private:
  void read_some() {
    char chunk[64 * 1024];
    // A few reads per event: one fast sender cannot monopolise the loop.
    for (int round = 0; round < 4; ++round) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        if (state_ == State::kLinger) continue;  // draining a refused request: discard
        in_.append(chunk, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof chunk) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN)) break;
      if (n < 0 && errno == EINTR) continue;
      server_.close_connection(id_);  // EOF or error
      return;
    }
    if (state_ == State::kLinger || state_ == State::kWriting) return;
    process();
  }

  void process() {
    if (in_.empty()) return;
    if (state_ == State::kIdle) {
      state_ = State::kHead;
      deadline_ = Clock::now() + server_.options.head_timeout;
    }
    ParseResult r = parse_request(in_, server_.limits, parsed_);
    if (r.status == ParseStatus::kError) {
      refuse(r.error_status, r.error);
      return;
    }
    if (r.status == ParseStatus::kIncomplete) {
      if (r.head_complete && state_ == State::kHead) {
        state_ = State::kBody;
        deadline_ = Clock::now() + server_.options.body_timeout;
        if (parsed_.expect_continue) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          [[maybe_unused]] auto n =
              ::send(fd_, kContinue.data(), kContinue.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
      }
      return;
    }
    auto req = std::make_shared<Request>(make_request(parsed_, peer_, peer_port_));
    if (!server_.trusted.empty()) {
      req->remote_addr =
          forwarded_client(peer_, req->get_header_value("X-Forwarded-For"), server_.trusted);
    }
    const bool close = !parsed_.keep_alive;
    parsed_ = ParsedRequest{};
    in_.erase(0, r.consumed);

    state_ = State::kDispatched;  // still watched for reading: see on_event
    ++server_.requests;
    Server::Impl* server = &server_;
    const std::uint64_t id = id_;
    const int fd = fd_;
    auto slot = std::make_shared<Responder::State>();
    slot->server = server_.self;
    slot->connection = id;
    slot->close = close;
    slot->head_only = req->method == "HEAD";
    pending_ = slot;
    const bool submitted = server_.submit([server, id, fd, req, close, slot] {
      Response res;
      res.defer_state_ = slot;
      ++server->in_handlers;
      try {
        server->handler(*req, res);
      } catch (const std::exception& e) {
        spdlog::error("{}: handler for {} {} failed: {}", server->options.name, req->method,
                      req->path.substr(0, 200), e.what());
        res = Response{};
        res.status = 500;
        res.set_content(server->error_body(500, "internal error"), "application/json");
      } catch (...) {
        res = Response{};
        res.status = 500;
        res.set_content(server->error_body(500, "internal error"), "application/json");
      }
      --server->in_handlers;
      // A deferred answer comes from its Responder (or the server's 503), never from here.
      if (slot->deferred.load()) return;
      Outgoing answer =
          serialize(std::move(res), server->options.default_headers, req->method == "HEAD", close);
      // Write what the socket takes now from this thread (the loop leaves a dispatched
      // connection's descriptor alone, so nothing else touches it); the loop writes the rest.
      static_cast<void>(answer.write_some(fd));
      server->loop->post([server, id, answer = std::move(answer), close]() mutable {
        auto it = server->connections.find(id);
        if (it != server->connections.end()) it->second->deliver(std::move(answer), close);
      });
    });
    if (!submitted) {
      pending_.reset();
      watch(EPOLLIN);
      refuse(503, "the server is overloaded; retry shortly");
    }
  }

  // Answers a request the server refuses itself, then drains and closes.
  void refuse(int status, std::string_view why) {
    if (status != 408 && status != 503) ++server_.protocol_errors;
    spdlog::debug("{}: {} from {}: {}", server_.options.name, status, peer_, why);
    in_.clear();
    parsed_ = ParsedRequest{};
    send(server_.error_response(status, why), true);
  }

  void send(Outgoing answer, bool close) {
    out_ = std::move(answer);
    close_after_ = close;
    state_ = State::kWriting;
    deadline_ = Clock::now() + server_.options.write_timeout;
    flush();
  }

  void flush() {
    if (!out_.write_some(fd_)) {
      server_.close_connection(id_);
      return;
    }
    if (!out_.done()) {
      watch(EPOLLOUT);
      return;
    }
    out_ = Outgoing{};
    if (close_after_) {
      // Lingering close: whatever the client is still sending is read and dropped for a moment,
      // so closing does not reset the connection before the client has read the answer.
      ::shutdown(fd_, SHUT_WR);
      state_ = State::kLinger;
      in_.clear();
      in_.shrink_to_fit();
      deadline_ = Clock::now() + server_.options.linger;
      watch(EPOLLIN);
      return;
    }
    state_ = State::kIdle;
    deadline_ = Clock::now() + server_.options.idle_timeout;
    watch(EPOLLIN);
    if (!in_.empty()) process();  // a pipelined request
  }

  // The events the loop watches this descriptor for, changed only when they differ: each change
  // is a system call, and every request used to make three.
  void watch(std::uint32_t events) {
    if (events != watching_ && server_.loop->modify(fd_, events, this).ok()) watching_ = events;
  }

  Server::Impl& server_;
  std::uint32_t watching_ = EPOLLIN;  // as the loop added it (Impl::on_accept)
  const std::uint64_t id_;
  const int fd_;
  const std::string peer_;
  const int peer_port_;
  State state_ = State::kIdle;
  Clock::time_point deadline_;
  std::string in_;
  ParsedRequest parsed_;
  Outgoing out_;
  bool close_after_ = false;
  bool peer_gone_ = false;
  std::shared_ptr<Responder::State> pending_;  // the dispatched request's answer slot
};

class Listener final : public EventLoop::Handler {
 public:
  explicit Listener(Server::Impl& server) : server_(server) {}
  void on_event(std::uint32_t) override { server_.on_accept(); }

 private:
  Server::Impl& server_;
};

void Server::Impl::on_accept() {
  for (int i = 0; i < 256; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int fd =
        ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: stop accepting for a moment (level-triggered epoll would spin).
        spdlog::warn("{}: out of file descriptors with {} connections open", options.name,
                     connections.size());
        static_cast<void>(loop->modify(listen_fd, 0, listener.get()));
        loop->add_timer(Clock::now() + std::chrono::milliseconds(100), [this] {
          if (accepting) static_cast<void>(loop->modify(listen_fd, EPOLLIN, listener.get()));
        });
      }
      return;
    }
    int peer_port = 0;
    std::string peer = peer_text(ss, &peer_port);
    const std::size_t from_peer = per_client[peer];
    if (connections.size() >= options.max_connections ||
        (options.max_connections_per_client > 0 &&
         from_peer >= options.max_connections_per_client)) {
      ++refused;
      Outgoing answer = error_response(503, "too many connections; retry shortly");
      static_cast<void>(answer.write_some(fd));  // best effort: the connection is closed anyway
      ::close(fd);
      if (from_peer == 0) per_client.erase(peer);
      continue;
    }
    int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    const std::uint64_t id = next_id++;
    auto conn = std::make_unique<Connection>(*this, id, fd, peer, peer_port);
    if (!loop->add(fd, EPOLLIN, conn.get()).ok()) continue;  // conn closes fd
    ++per_client[peer];
    connections.emplace(id, std::move(conn));
    ++accepted;
    ++open;
  }
}

void Server::Impl::close_connection(std::uint64_t id) {
  auto it = connections.find(id);
  if (it == connections.end()) return;
  loop->remove(it->second->fd());
  if (auto pc = per_client.find(it->second->peer()); pc != per_client.end()) {
    if (--pc->second == 0) per_client.erase(pc);
  }
  std::unique_ptr<Connection> conn = std::move(it->second);
  connections.erase(it);
  --open;
  loop->retire(std::move(conn));  // events for it may still be pending in this batch
}

void Server::Impl::answer_later(const Responder::State& state, Response response) {
  --deferred_waiting;
  Outgoing answer =
      serialize(std::move(response), options.default_headers, state.head_only, state.close);
  loop->post(
      [this, id = state.connection, answer = std::move(answer), close = state.close]() mutable {
        auto it = connections.find(id);
        if (it != connections.end()) it->second->deliver(std::move(answer), close);
      });
}

void Server::Impl::sweep() {
  const auto now = Clock::now();
  std::vector<std::uint64_t> expired, overdue;
  for (const auto& [id, conn] : connections) {
    if (conn->state() != Connection::State::kDispatched) {
      if (conn->deadline() <= now) expired.push_back(id);
    } else if (conn->deferred_overdue(now)) {
      overdue.push_back(id);
    }
  }
  for (std::uint64_t id : expired) {
    auto it = connections.find(id);
    if (it != connections.end()) it->second->expire();
  }
  for (std::uint64_t id : overdue) {
    auto it = connections.find(id);
    if (it != connections.end()) it->second->answer_overdue();
  }
  if (overdue_unlogged > 0 &&
      (!overdue_logged_at || now - *overdue_logged_at >= std::chrono::seconds(1))) {
    spdlog::warn("{}: {} request(s) got no answer in time (answered 503)", options.name,
                 overdue_unlogged);
    overdue_unlogged = 0;
    overdue_logged_at = now;
  }
}

bool Server::Impl::submit(std::function<void()> task) {
  {
    std::lock_guard lock(mu);
    if (queue.size() >= options.max_queued_requests) return false;
    queue.push_back(std::move(task));
  }
  cv.notify_one();
  return true;
}

void Server::Impl::worker_main() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return workers_stop || !queue.empty(); });
      if (queue.empty()) return;  // stopping and drained
      task = std::move(queue.front());
      queue.pop_front();
    }
    task();
  }
}

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Handler handler) {
  tune_process();
  auto impl = std::make_shared<Impl>();
  impl->self = impl;
  impl->options = std::move(options);
  impl->handler = std::move(handler);
  const ServerOptions& o = impl->options;
  impl->limits = {.max_head = o.max_head_bytes,
                  .max_target = o.max_target_bytes,
                  .max_body = o.max_body_bytes,
                  .max_headers = o.max_headers};

  auto trusted = AddressSet::parse(o.trusted_proxies);
  if (!trusted.ok()) return Error::invalid("trusted proxies: " + trusted.error().message());
  impl->trusted = std::move(*trusted);
  auto loop = EventLoop::create();
  if (!loop.ok()) return loop.error();
  impl->loop = std::move(*loop);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(o.port);
  const std::string where = o.address + ":" + service;
  if (getaddrinfo(o.address.c_str(), service.c_str(), &hints, &found) != 0 || found == nullptr) {
    return Error::invalid("cannot listen on " + where + ": not a numeric IP address");
  }
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(found);
    return Error::unavailable("cannot listen on " + where + ": " + std::strerror(errno));
  }
  int yes = 1;
  // SO_REUSEADDR only, never SO_REUSEPORT: a second server on this port must fail, not share it.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
    const std::string why = std::strerror(errno);
    freeaddrinfo(found);
    ::close(fd);
    return Error::unavailable("cannot listen on " + where +
                              " (port in use or address invalid: " + why + ")");
  }
  freeaddrinfo(found);
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  peer_text(bound, &impl->port);
  impl->listen_fd = fd;
  impl->listener = std::make_unique<Listener>(*impl);
  if (Status s = impl->loop->add(fd, EPOLLIN, impl->listener.get()); !s.ok()) {
    ::close(fd);
    return s.error();
  }

  for (int i = 0; i < std::max(1, o.threads); ++i)
    impl->workers.emplace_back([raw = impl.get()] { raw->worker_main(); });
  Impl* raw = impl.get();
  impl->io_thread = std::thread([raw] {
    // Deadlines are checked ten times a second.
    std::function<void()> sweep_timer;
    sweep_timer = [raw, &sweep_timer] {
      raw->sweep();
      raw->loop->add_timer(Clock::now() + std::chrono::milliseconds(100), sweep_timer);
    };
    raw->loop->add_timer(Clock::now() + std::chrono::milliseconds(100), sweep_timer);
    raw->running = true;
    raw->loop->run();
    raw->running = false;
  });
  for (int i = 0; i < 1000 && !impl->running; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() {
  stop();
}

void Server::stop() {
  Impl& s = *impl_;
  if (!s.io_thread.joinable()) return;
  // Stop accepting and drop idle connections; requests in handlers finish and are answered.
  s.loop->run_sync([&s] {
    s.accepting = false;
    s.loop->remove(s.listen_fd);
    ::close(s.listen_fd);
    std::vector<std::uint64_t> idle;
    for (const auto& [id, conn] : s.connections) {
      if (conn->state() == Connection::State::kIdle || conn->state() == Connection::State::kHead ||
          conn->state() == Connection::State::kLinger)
        idle.push_back(id);
    }
    for (auto id : idle)
      s.close_connection(id);
  });
  const auto until = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < until) {
    std::size_t busy = s.in_handlers.load() + s.deferred_waiting.load();
    {
      std::lock_guard lock(s.mu);
      busy += s.queue.size();
    }
    if (busy == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // answers posted: written
  s.loop->stop();
  s.io_thread.join();
  {
    std::lock_guard lock(s.mu);
    s.workers_stop = true;
  }
  s.cv.notify_all();
  for (auto& t : s.workers)
    t.join();
  s.connections.clear();
}

int Server::port() const {
  return impl_->port;
}

bool Server::running() const {
  return impl_->running;
}

ServerStats Server::stats() const {
  return {.open_connections = impl_->open.load(),
          .accepted = impl_->accepted.load(),
          .refused = impl_->refused.load(),
          .timed_out = impl_->timed_out.load(),
          .protocol_errors = impl_->protocol_errors.load(),
          .requests = impl_->requests.load(),
          .deferred = impl_->deferred.load()};
}

Responder Response::defer(std::chrono::milliseconds timeout) {
  if (!defer_state_) throw std::logic_error("this response cannot be deferred");
  auto server = defer_state_->server.lock();
  if (!server) throw std::logic_error("the server is gone");
  defer_state_->deadline = (Clock::now() + timeout).time_since_epoch().count();
  if (defer_state_->deferred.exchange(true)) throw std::logic_error("a response deferred twice");
  ++server->deferred_waiting;
  ++server->deferred;
  return Responder(defer_state_);
}

bool Response::deferred() const {
  return defer_state_ && defer_state_->deferred.load();
}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    Responder lost(std::move(*this));  // answers 500 if it was never answered
    state_ = std::move(other.state_);
  }
  return *this;
}

Responder::~Responder() {
  if (!state_ || state_->answered.load()) return;
  Response res;
  res.status = 500;
  if (auto server = state_->server.lock())
    res.set_content(server->error_body(500, "internal error: the answer was lost"),
                    "application/json");
  send(std::move(res));
}

bool Responder::send(Response response) {
  if (!state_) return false;
  const std::shared_ptr<State> state = std::move(state_);
  if (state->answered.exchange(true)) return false;  // answered already, or the deadline passed
  auto server = state->server.lock();
  if (!server) return false;
  server->answer_later(*state, std::move(response));
  return true;
}

}  // namespace fleet::http
