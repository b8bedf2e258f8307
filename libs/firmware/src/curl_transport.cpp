#include "firmware/curl_transport.h"

#include "firmware/concurrency_limit.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

namespace fleet::firmware {

namespace {

using Clock = std::chrono::steady_clock;

// "http://10.0.0.5:80/api/v1/summary" -> "10.0.0.5:80": for logs (never the path or a query).
std::string_view url_host(std::string_view url) {
  if (auto p = url.find("://"); p != std::string_view::npos) url.remove_prefix(p + 3);
  return url.substr(0, url.find('/'));
}

// A transfer libcurl has not ended this long after its own timeout is ended by the transport
// (see Impl::end_overdue).
constexpr std::chrono::milliseconds kOverdueGrace{1000};
constexpr std::chrono::milliseconds kOverdueSweep{100};

struct Transfer {
  CURL* easy = nullptr;
  std::size_t slot = 0;       // index in Impl::active
  Clock::time_point overdue;  // start + timeout + kOverdueGrace
  curl_slist* headers = nullptr;
  HttpRequest request;
  HttpTransport::Callback done;
  std::string body;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {0};
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->body.size() + n > t->request.max_body_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, n);
  return n;
}

TransportFailure failure_of(CURLcode code, const Transfer& t, CURL* easy) {
  if (t.too_large) return TransportFailure::kTooLarge;
  switch (code) {
    case CURLE_OK:
      return TransportFailure::kNone;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
      return TransportFailure::kRefused;
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connect_us = 0;
      curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
      return connect_us == 0 ? TransportFailure::kConnectTimeout : TransportFailure::kTimeout;
    }
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return TransportFailure::kReset;
    case CURLE_FILESIZE_EXCEEDED:
      return TransportFailure::kTooLarge;
    default:
      return TransportFailure::kOther;
  }
}

}  // namespace

struct CurlTransport::Impl {
  CurlTransportOptions options;
  CURLM* multi = nullptr;
  int epoll_fd = -1;
  std::deque<std::pair<HttpRequest, Callback>> queue;
  std::vector<Transfer*> active;            // unordered; removed by swap
  std::vector<CURL*> idle_handles;          // reused after curl_easy_reset
  std::optional<ConcurrencyLimit> limiter;  // options.adaptive_concurrency
  // When libcurl wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT) (none: no timer). libcurl
  // reports a timeout only when its earliest one changes, so this is kept until it reports again.
  std::optional<Clock::time_point> timer_due;
  bool timer_reported = false;  // on_timer ran (during the last timeout action)
  Clock::time_point next_overdue_sweep{};

  ~Impl() {
    for (Transfer* t : active) {
      curl_multi_remove_handle(multi, t->easy);
      curl_easy_cleanup(t->easy);
      curl_slist_free_all(t->headers);
      delete t;
    }
    for (CURL* e : idle_handles)
      curl_easy_cleanup(e);
    if (multi != nullptr) curl_multi_cleanup(multi);
    if (epoll_fd >= 0) close(epoll_fd);
  }

  static int on_socket(CURL*, curl_socket_t fd, int what, void* user, void* socket_state) {
    auto* self = static_cast<Impl*>(user);
    epoll_event ev{};
    ev.data.fd = fd;
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(self->epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
      curl_multi_assign(self->multi, fd, nullptr);
      return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    if (socket_state == nullptr) {
      if (epoll_ctl(self->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST) {
        epoll_ctl(self->epoll_fd, EPOLL_CTL_MOD, fd, &ev);
      }
      curl_multi_assign(self->multi, fd, self);  // any non-null marker: "registered"
    } else {
      if (epoll_ctl(self->epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
        epoll_ctl(self->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
      }
    }
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* user) {
    auto* self = static_cast<Impl*>(user);
    self->timer_reported = true;
    if (timeout_ms < 0) {
      self->timer_due.reset();
    } else {
      self->timer_due = Clock::now() + std::chrono::milliseconds(timeout_ms);
    }
    return 0;
  }

  // Runs libcurl's expired timers. Called on time, it finds its timer expired and reports the next
  // one (or none). Called a moment early (its clock and ours round differently), it finds nothing
  // expired and stays silent, since its earliest timeout did not change: look again shortly
  // instead of forgetting the timer, which would leave a transfer whose peer never answers waiting
  // for socket activity that never comes.
  void on_timer_due(int& running) {
    timer_reported = false;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    if (!timer_reported && timer_due) timer_due = Clock::now() + std::chrono::milliseconds(1);
  }

  CURL* take_handle() {
    if (!idle_handles.empty()) {
      CURL* e = idle_handles.back();
      idle_handles.pop_back();
      return e;
    }
    return curl_easy_init();
  }

  void start(HttpRequest request, Callback done) {
    auto* t = new Transfer;
    t->request = std::move(request);
    t->done = std::move(done);
    t->easy = take_handle();
    if (t->easy == nullptr) {
      finish_without_start(t, "curl_easy_init failed");
      return;
    }
    CURL* e = t->easy;
    const HttpRequest& r = t->request;
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");  // never a proxy from http_proxy
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    // Miners are addressed by IP: a DNS cache entry per miner only costs libcurl a scan of the
    // whole cache on every lookup (quadratic over a cycle of thousands of miners).
    curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
    // Likewise its connection cache: a connection is kept only when the caller has another
    // request for that miner right behind this one.
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, r.keep_alive ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.max_body_bytes));
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, options.receive_buffer_bytes);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    for (const auto& h : r.headers)
      t->headers = curl_slist_append(t->headers, h.c_str());
    t->headers = curl_slist_append(t->headers, "Expect:");
    if (r.method == HttpRequest::Method::kPost) {
      t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.c_str());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    } else {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    if (curl_multi_add_handle(multi, e) != CURLM_OK) {
      finish_without_start(t, "curl_multi_add_handle failed");
      return;
    }
    t->overdue = Clock::now() + r.timeout + kOverdueGrace;
    t->slot = active.size();
    active.push_back(t);
  }

  void forget(Transfer* t) {
    Transfer* last = active.back();
    active[t->slot] = last;
    last->slot = t->slot;
    active.pop_back();
  }

  void finish_without_start(Transfer* t, const char* why) {
    HttpResponse response;
    response.failure = TransportFailure::kOther;
    response.error = why;
    Callback done = std::move(t->done);
    release(t);
    done(std::move(response));
  }

  // Returns the handle to the idle pool and frees the transfer.
  void release(Transfer* t) {
    if (t->easy != nullptr) {
      curl_easy_reset(t->easy);
      idle_handles.push_back(t->easy);
    }
    curl_slist_free_all(t->headers);
    delete t;
  }

  void complete(Transfer* t, CURLcode code) {
    curl_multi_remove_handle(multi, t->easy);
    forget(t);
    HttpResponse response;
    response.failure = failure_of(code, *t, t->easy);
    if (response.failure == TransportFailure::kNone) {
      long status = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
      response.status = static_cast<int>(status);
      response.body = std::move(t->body);
    } else {
      response.error = t->error[0] != '\0' ? t->error : curl_easy_strerror(code);
    }
    curl_off_t total_us = 0;
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    response.elapsed = std::chrono::microseconds(total_us);
    if (limiter && response.failure == TransportFailure::kNone)
      limiter->on_answer(response.elapsed);
    Callback done = std::move(t->done);
    release(t);
    done(std::move(response));
  }

  void drain_messages() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      const CURLcode code = msg->data.result;
      complete(t, code);
    }
  }

  // The backstop for a timeout libcurl failed to fire: a transfer still running well after its
  // own timeout ends here as a timeout, so no peer that never answers can hold a run open.
  void end_overdue() {
    const auto now = Clock::now();
    if (now < next_overdue_sweep) return;
    next_overdue_sweep = now + kOverdueSweep;
    std::vector<Transfer*> overdue;
    for (Transfer* t : active) {
      if (now >= t->overdue) overdue.push_back(t);
    }
    for (Transfer* t : overdue) {
      spdlog::warn("a request to {} got no timeout from libcurl; ended {} ms after its deadline",
                   url_host(t->request.url), kOverdueGrace.count());
      curl_multi_remove_handle(multi, t->easy);
      forget(t);
      HttpResponse response;
      response.failure = TransportFailure::kTimeout;
      response.error = "no answer within " + std::to_string(t->request.timeout.count()) + " ms";
      Callback done = std::move(t->done);
      release(t);
      done(std::move(response));
    }
  }

  void cancel_all() {
    while (!active.empty()) {
      Transfer* t = active.back();
      active.pop_back();
      curl_multi_remove_handle(multi, t->easy);
      Callback done = std::move(t->done);
      release(t);
      HttpResponse r;
      r.failure = TransportFailure::kCancelled;
      r.error = "cancelled";
      done(std::move(r));
    }
    while (!queue.empty()) {
      auto [request, done] = std::move(queue.front());
      queue.pop_front();
      HttpResponse r;
      r.failure = TransportFailure::kCancelled;
      r.error = "cancelled";
      done(std::move(r));
    }
  }

  // Until the timer is due, rounded up to whole milliseconds (epoll's unit), at most 100 ms.
  int wait_ms() const {
    if (!timer_due) return 100;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*timer_due - Clock::now());
    return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 100));
  }

  bool timer_expired() const { return timer_due && Clock::now() >= *timer_due; }

  void run(const RunHooks& hooks) {
    bool source_open = static_cast<bool>(hooks.refill);
    std::vector<epoll_event> events(1024);
    int running = 0;
    while (true) {
      if (hooks.stop && hooks.stop()) {
        while (!active.empty() || !queue.empty())
          cancel_all();  // callbacks may submit more
        return;
      }
      if (source_open && queue.size() + active.size() < std::max<size_t>(hooks.low_water, 1)) {
        const size_t before = queue.size();
        // A refill that adds nothing has nothing more to give, whatever it answers (unless its
        // producer may still be working: refill_may_wait).
        source_open = hooks.refill() && (queue.size() > before || hooks.refill_may_wait);
      }
      bool added = false;
      const std::size_t limit = limiter ? limiter->limit() : options.max_concurrent;
      while (active.size() < limit && !queue.empty()) {
        auto [request, done] = std::move(queue.front());
        queue.pop_front();
        start(std::move(request), std::move(done));
        added = true;
      }
      if (active.empty() && queue.empty()) {
        if (!source_open) return;
        if (hooks.refill_may_wait) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      if (added) {
        on_timer_due(running);
        drain_messages();
      }
      // A waiting producer is polled often; otherwise libcurl's timer decides.
      const int wait = source_open && hooks.refill_may_wait ? std::min(wait_ms(), 3) : wait_ms();
      const int n = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), wait);
      for (int i = 0; i < n; ++i) {
        int mask = 0;
        if (events[i].events & (EPOLLIN | EPOLLHUP)) mask |= CURL_CSELECT_IN;
        if (events[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
        if (events[i].events & EPOLLERR) mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi, events[i].data.fd, mask, &running);
      }
      if (timer_expired()) on_timer_due(running);
      drain_messages();
      end_overdue();
    }
  }
};

Result<std::unique_ptr<CurlTransport>> CurlTransport::create(CurlTransportOptions options) {
  static std::once_flag once;
  static CURLcode global = CURLE_OK;
  std::call_once(once, [] { global = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (global != CURLE_OK) return Error::internal("curl_global_init failed");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->options.max_concurrent = std::max<size_t>(options.max_concurrent, 1);
  if (options.adaptive_concurrency) {
    impl->limiter.emplace(ConcurrencyLimit::Options{
        .min = 16,
        .max = impl->options.max_concurrent,
        .initial = std::min<std::size_t>(256, impl->options.max_concurrent),
        .latency_target = options.latency_target});
  }
  impl->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (impl->epoll_fd < 0) return Error::internal(std::string("epoll_create1: ") + strerror(errno));
  impl->multi = curl_multi_init();
  if (impl->multi == nullptr) return Error::internal("curl_multi_init failed");
  curl_multi_setopt(impl->multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
  curl_multi_setopt(impl->multi, CURLMOPT_SOCKETDATA, impl.get());
  curl_multi_setopt(impl->multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
  curl_multi_setopt(impl->multi, CURLMOPT_TIMERDATA, impl.get());
  curl_multi_setopt(impl->multi, CURLMOPT_MAXCONNECTS, options.max_cached_connections);
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(impl)));
}

CurlTransport::CurlTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CurlTransport::~CurlTransport() = default;

void CurlTransport::submit(HttpRequest request, Callback done) {
  impl_->queue.emplace_back(std::move(request), std::move(done));
}

void CurlTransport::run(const RunHooks& hooks) {
  impl_->run(hooks);
}

std::size_t CurlTransport::concurrency_limit() const {
  return impl_->limiter ? impl_->limiter->limit() : impl_->options.max_concurrent;
}

std::size_t CurlTransport::pending() const {
  return impl_->queue.size() + impl_->active.size();
}

}  // namespace fleet::firmware
