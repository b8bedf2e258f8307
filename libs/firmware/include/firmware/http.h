// The HTTP transport the firmware client talks through. An interface, so flows (provisioning,
// polling) are tested with a scripted transport and run against thousands of miners with the
// libcurl one (firmware/curl_transport.h).
//
// The model is "submit many, then run": submit() queues requests with a completion callback;
// run() drives them concurrently on the calling thread until none is left. Callbacks run on that
// thread, one at a time, and may submit further requests (the next step of a flow).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace fleet::firmware {

struct HttpRequest {
  enum class Method { kGet, kPost };
  Method method = Method::kGet;
  std::string url;                   // http://<ip>:<port>/api/v1/...
  std::vector<std::string> headers;  // "name: value"; may hold secrets: never log them
  std::string body;                  // POST body (JSON)
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds timeout{3000};  // whole request, connect included
  std::size_t max_body_bytes = 1 << 20;     // the transfer is aborted beyond this
  // Keep the connection open for a follow-up request to the same miner (a provisioning flow's
  // unlock, then its key list). Otherwise it is closed once the answer is in: a cycle polls each
  // miner once, and idle connections to thousands of miners would only cost memory.
  bool keep_alive = false;
};

// Why a request produced no HTTP answer.
enum class TransportFailure {
  kNone,            // an HTTP answer arrived (any status)
  kRefused,         // nothing listens there (connection refused / host unreachable)
  kConnectTimeout,  // no TCP connection within connect_timeout
  kTimeout,         // connected, but the answer did not complete within timeout
  kReset,           // the peer closed or reset the connection without a complete answer
  kTooLarge,        // the body exceeded max_body_bytes (transfer aborted)
  kCancelled,       // the run was stopped
  kOther,           // anything else (malformed HTTP, out of resources)
};

std::string_view to_string(TransportFailure failure);

struct HttpResponse {
  TransportFailure failure = TransportFailure::kNone;
  int status = 0;     // HTTP status when failure == kNone
  std::string body;   // at most max_body_bytes
  std::string error;  // transport error text (never holds request headers)
  std::chrono::microseconds elapsed{0};
};

class HttpTransport {
 public:
  using Callback = std::function<void(HttpResponse)>;
  virtual ~HttpTransport() = default;

  // Queues a request. The callback runs exactly once, from run().
  virtual void submit(HttpRequest request, Callback done) = 0;

  // Drives every queued request to completion, including requests submitted by callbacks and by
  // `refill`, which is called whenever fewer than `low_water` requests are waiting or running
  // (so a caller can feed work in batches) until it returns false (its source is exhausted).
  // A refill that returns true but adds nothing also ends the source, unless `refill_may_wait`
  // (a producer on another thread that has nothing yet: refill is then polled every few ms).
  // Returns when nothing is left. When `stop` returns true the remaining requests complete with
  // kCancelled.
  struct RunHooks {
    std::function<bool()> refill;
    std::size_t low_water = 0;
    bool refill_may_wait = false;
    std::function<bool()> stop;
  };
  virtual void run(const RunHooks& hooks) = 0;
  void run() { run(RunHooks{}); }

  // Requests queued or running now.
  virtual std::size_t pending() const = 0;
};

// Runs one request to completion on `transport` (which must have nothing else pending).
HttpResponse fetch(HttpTransport& transport, HttpRequest request);

}  // namespace fleet::firmware
