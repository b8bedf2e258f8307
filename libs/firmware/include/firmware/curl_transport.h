// HttpTransport on libcurl's multi interface, driven by epoll through the socket API
// (curl_multi_socket_action), so one thread keeps thousands of requests in flight and only does
// work for sockets that are ready. Each request has its own connect and total timeouts and a body
// size cap; connections never go through a proxy from the environment.
//
// Not thread-safe: submit() and run() are called from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "core/result.h"
#include "firmware/http.h"

namespace fleet::firmware {

struct CurlTransportOptions {
  // Transfers in flight at once; the others wait in a queue (their timeouts start when they
  // leave it). Each costs a socket and ~20 KiB, so 4096 stays far below the 200 MB budget.
  std::size_t max_concurrent = 4096;
  // Size the requests in flight from the answers' latency, up to max_concurrent
  // (firmware/concurrency_limit.h); otherwise always max_concurrent.
  bool adaptive_concurrency = false;
  std::chrono::milliseconds latency_target{1000};
  // Idle connections kept for reuse (only HttpRequest::keep_alive requests leave one behind).
  long max_cached_connections = 256;
  // libcurl's receive buffer per transfer (its default is 16 KiB).
  long receive_buffer_bytes = 8 * 1024;
};

class CurlTransport final : public HttpTransport {
 public:
  // Fails (kInternal) when libcurl cannot be initialised or epoll is unavailable.
  static Result<std::unique_ptr<CurlTransport>> create(CurlTransportOptions options = {});
  ~CurlTransport() override;

  void submit(HttpRequest request, Callback done) override;
  using HttpTransport::run;
  void run(const RunHooks& hooks) override;
  std::size_t pending() const override;
  // Requests it keeps in flight now: the adaptive limit, or max_concurrent.
  std::size_t concurrency_limit() const;

  struct Impl;

 private:
  explicit CurlTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fleet::firmware
