// webhook-receiver: a test double and demo sink for the notifier's webhooks
// (docs/tools/webhook-receiver.md). Logs every request (headers + body) as a JSON line to a file
// or stdout, checks X-Fleetward-Signature when given the secret (HMAC-SHA256 over
// "<timestamp>.<body>", written here independently of the notifier's code, as a receiver would),
// and takes faults from a loopback control API:
//
//   GET /control/set?fail=N&status=S   answer the next N requests with status S (default 500)
//   GET /control/set?delay_ms=D        wait D ms before answering
//   GET /control/set?body_bytes=B      answer with a body of B bytes
//   GET /control/set?hang=1            never answer (until hang=0 or shutdown)
//   GET /control/reset                 no faults
//   GET /control/received              every request so far: [{delivery, signature_valid, ...}]
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::json;

std::string hex_hmac(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  std::string out;
  char two[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(two, sizeof two, "%02x", mac[i]);
    out += two;
  }
  return out;
}

// "t=<t>,v1=<hex>" -> whether v1 is the HMAC of "<t>.<body>" and t equals the timestamp header.
bool signature_valid(const std::string& secret, const std::string& header,
                     const std::string& timestamp, const std::string& body) {
  std::string t, v1;
  std::size_t start = 0;
  while (start <= header.size()) {
    const std::size_t end = std::min(header.find(',', start), header.size());
    const std::string part = header.substr(start, end - start);
    if (part.rfind("t=", 0) == 0) t = part.substr(2);
    if (part.rfind("v1=", 0) == 0) v1 = part.substr(3);
    start = end + 1;
  }
  if (t.empty() || v1.empty() || t != timestamp) return false;
  return CRYPTO_memcmp(hex_hmac(secret, t + "." + body).data(), v1.data(),
                       std::min<std::size_t>(v1.size(), 64)) == 0 &&
         v1.size() == 64;
}

struct Faults {
  int fail = 0;
  int status = 500;
  long delay_ms = 0;
  long body_bytes = 0;
  bool hang = false;
};

std::atomic<bool> g_stop{false};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"webhook-receiver: logs and checks the notifier's webhooks (tests, demo)"};
  std::string host = "127.0.0.1";
  int port = 9180;
  std::string log_file;
  std::string secret;
  // Each kept-alive connection holds a server thread; a notifier opens up to notifier.senders (16)
  // per channel, and tests run two notifiers with two channels: 64 at once. Fewer threads leave
  // connections queued until their requests time out (and are retried, so sent twice).
  int threads = 128;
  app.add_option("--host", host, "address to listen on")->capture_default_str();
  app.add_option("--port", port, "port (0 = any free port, printed)")->capture_default_str();
  app.add_option("--log-file", log_file, "append one JSON line per request here (default stdout)");
  app.add_option("--secret", secret, "the channel's signing secret: check signatures")
      ->envname("WEBHOOK_SECRET");
  app.add_option("--threads", threads, "server threads")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::mutex mu;
  std::condition_variable cv;
  Faults faults;
  json received = json::array();
  std::ofstream log;
  if (!log_file.empty()) {
    log.open(log_file, std::ios::app);
    if (!log) {
      std::cerr << "webhook-receiver: cannot open " << log_file << "\n";
      return 2;
    }
  }

  httplib::Server server;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(8 << 20);
  server.set_keep_alive_max_count(1000);
  server.set_tcp_nodelay(true);  // headers and body go in separate writes: no Nagle delay
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(R"({"error":"internal"})", "application/json");
      });

  server.Get("/control/set", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    try {
      if (req.has_param("fail")) faults.fail = std::stoi(req.get_param_value("fail"));
      if (req.has_param("status")) faults.status = std::stoi(req.get_param_value("status"));
      if (req.has_param("delay_ms")) faults.delay_ms = std::stol(req.get_param_value("delay_ms"));
      if (req.has_param("body_bytes")) {
        faults.body_bytes = std::stol(req.get_param_value("body_bytes"));
      }
      if (req.has_param("hang")) faults.hang = req.get_param_value("hang") == "1";
    } catch (const std::exception&) {
      res.status = 400;
      res.set_content(R"({"error":"numbers expected"})", "application/json");
      return;
    }
    cv.notify_all();
    res.set_content(R"({"ok":true})", "application/json");
  });
  server.Get("/control/reset", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mu);
    faults = {};
    cv.notify_all();
    res.set_content(R"({"ok":true})", "application/json");
  });
  server.Get("/control/received", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mu);
    res.set_content(received.dump(-1, ' ', false, json::error_handler_t::replace),
                    "application/json");
  });
  server.Get("/control/count", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mu);
    res.set_content(std::to_string(received.size()), "text/plain");
  });

  server.Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
    const auto now = std::chrono::system_clock::now();
    json entry{
        {"path", req.path},
        {"delivery", req.get_header_value("X-Fleetward-Delivery")},
        {"timestamp", req.get_header_value("X-Fleetward-Timestamp")},
        {"signature", req.get_header_value("X-Fleetward-Signature")},
        {"content_type", req.get_header_value("Content-Type")},
        {"received_ms",
         std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count()}};
    if (!secret.empty()) {
      entry["signature_valid"] =
          signature_valid(secret, entry["signature"], entry["timestamp"], req.body);
    }
    json body = json::parse(req.body, nullptr, false);
    entry["body"] = body.is_discarded() ? json(req.body) : body;
    Faults f;
    {
      std::unique_lock lock(mu);
      f = faults;
      if (faults.fail > 0) --faults.fail;
      entry["answered"] = f.fail > 0 ? f.status : 200;
      if (f.hang) entry["answered"] = 0;
      received.push_back(entry);
      if (log.is_open()) {
        log << entry.dump(-1, ' ', false, json::error_handler_t::replace) << "\n" << std::flush;
      } else {
        std::cout << entry.dump(-1, ' ', false, json::error_handler_t::replace) << "\n"
                  << std::flush;
      }
      if (f.hang) {
        // Never answers while the fault lasts; the connection is dropped at shutdown.
        cv.wait(lock, [&] { return !faults.hang || g_stop.load(); });
      }
    }
    if (f.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(f.delay_ms));
    res.status = f.fail > 0 ? f.status : 200;
    if (f.body_bytes > 0) {
      res.set_content(std::string(static_cast<std::size_t>(f.body_bytes), 'x'), "text/plain");
    } else {
      res.set_content(R"({"ok":true})", "application/json");
    }
  });

  static httplib::Server* running = &server;
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  const int bound = port == 0 ? server.bind_to_any_port(host.c_str())
                              : (server.bind_to_port(host.c_str(), port) ? port : -1);
  if (bound < 0) {
    std::cerr << "webhook-receiver: cannot listen on " << host << ":" << port << "\n";
    return 1;
  }
  std::cerr << "webhook-receiver: listening on " << host << ":" << bound << "\n";
  std::thread stopper([&] {
    while (!g_stop.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    {
      std::lock_guard lock(mu);
      cv.notify_all();
    }
    while (!running->is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    running->stop();
  });
  server.listen_after_bind();
  g_stop = true;
  stopper.join();
  return 0;
}
