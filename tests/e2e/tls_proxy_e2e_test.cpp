// The shipped reverse proxy (deploy/nginx/fleetward.conf) in a real nginx in front of a real
// api-gateway: credentials only over TLS 1.2+, plain HTTP only redirects, and the gateway sees the
// client that connected to the proxy (issue 16.3).
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <catch2/catch.hpp>

#include "gateway_fixture.h"
#include "raw_http.h"

using namespace fleet::test;

namespace {

constexpr const char* kSkipped =
    "SKIPPED_NGINX_NOT_INSTALLED: nginx is not installed (scripts/install-deps.sh installs it)";
// A second loopback address: the client, as distinct from the proxy (127.0.0.1) the gateway sees.
constexpr const char* kClientIp = "127.0.0.7";

// An executable named `name` on PATH or in the sbin directories (nginx lives in /usr/sbin, which
// is not on every user's PATH); "" when there is none.
std::string find_program(const std::string& name) {
  std::string dirs = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::istringstream in(dirs);
  for (std::string dir; std::getline(in, dir, ':');) {
    if (dir.empty()) continue;
    const std::string path = dir + "/" + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

// Replaces the one occurrence of `from` in `text`; throws when it is missing or repeated, so a
// reshaped deploy/nginx/fleetward.conf fails the test instead of running something else.
void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos || text.find(from, at + 1) != std::string::npos) {
    throw std::runtime_error("deploy/nginx/fleetward.conf: expected exactly one '" + from + "'");
  }
  text.replace(at, from.size(), to);
}

// A temporary directory removed with everything in it, also when a constructor throws.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& prefix) : path(make_temp_dir(prefix)) {}
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

struct CurlAnswer {
  int status = 0;
  std::string head;
  std::string body;
  std::string error;
};

// The shipped nginx configuration, with the gateway's, the listen and the certificate addresses of
// this test substituted, running in front of `gateway_port`.
class ShippedProxy {
 public:
  ShippedProxy(const std::string& nginx, int gateway_port) : temp_("fleet-tls"), dir_(temp_.path) {
    // nginx's workers may run as an unprivileged user when the test runs as root.
    chmod(dir_.c_str(), 0755);
    const RunResult cert =
        run(find_program("openssl"),
            {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", dir_ + "/privkey.pem", "-out", dir_ + "/fullchain.pem", "-days", "2",
             "-subj", "/CN=fleetward.test", "-addext", "subjectAltName=IP:127.0.0.1"});
    if (cert.code != 0) throw std::runtime_error("openssl req failed: " + cert.err);

    tls_port = free_port();
    http_port = free_port();
    std::string conf =
        read_file(std::string(FLEETTEST_SOURCE_DIR) + "/deploy/nginx/fleetward.conf");
    replace_once(conf, "server api-gateway:8080;",
                 "server 127.0.0.1:" + std::to_string(gateway_port) + ";");
    replace_once(conf, "listen 443 ssl http2;",
                 "listen 127.0.0.1:" + std::to_string(tls_port) + " ssl http2;");
    replace_once(conf, "listen 80;", "listen 127.0.0.1:" + std::to_string(http_port) + ";");
    replace_once(conf, "ssl_certificate /etc/nginx/tls/fullchain.pem;",
                 "ssl_certificate " + dir_ + "/fullchain.pem;");
    replace_once(conf, "ssl_certificate_key /etc/nginx/tls/privkey.pem;",
                 "ssl_certificate_key " + dir_ + "/privkey.pem;");
    write_file(dir_ + "/fleetward.conf", conf);
    // What the nginx image's own nginx.conf provides around conf.d/: an http block, temp files
    // in this directory instead of /var/lib/nginx.
    std::string main_conf = "worker_processes 1;\nevents { worker_connections 128; }\nhttp {\n";
    main_conf += "  access_log off;\n";
    for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
      main_conf += "  " + std::string(temp) + "_temp_path " + dir_ + "/" + temp + ";\n";
    main_conf += "  include " + dir_ + "/fleetward.conf;\n}\n";
    write_file(dir_ + "/nginx.conf", main_conf);

    nginx_ = std::make_unique<Process>(
        nginx,
        std::vector<std::string>{"-e", "stderr", "-p", dir_, "-c", dir_ + "/nginx.conf", "-g",
                                 "daemon off; pid " + dir_ + "/nginx.pid; error_log stderr;"});
    if (!eventually([&] { return !refuses("127.0.0.1", tls_port) || !nginx_->running(); },
                    std::chrono::seconds(10)) ||
        !nginx_->running()) {
      throw std::runtime_error("nginx did not start: " + nginx_->err());
    }
  }

  // curl from kClientIp to this proxy: "https" on the TLS port (trusting the test certificate),
  // "http" on the plain port. Never follows redirects.
  CurlAnswer curl(const std::string& scheme, const std::string& method, const std::string& path,
                  const std::string& body = "", const std::vector<std::string>& headers = {}) {
    const int port = scheme == "https" ? tls_port : http_port;
    std::vector<std::string> args{"-sS",
                                  "--max-time",
                                  "60",
                                  "--interface",
                                  kClientIp,
                                  "--cacert",
                                  dir_ + "/fullchain.pem",
                                  "-X",
                                  method,
                                  "-D",
                                  dir_ + "/head.txt",
                                  "-o",
                                  dir_ + "/body.txt",
                                  "-w",
                                  "%{http_code}"};
    for (const auto& h : headers) {
      args.push_back("-H");
      args.push_back(h);
    }
    if (!body.empty()) {
      args.insert(args.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
    }
    args.push_back(scheme + "://127.0.0.1:" + std::to_string(port) + path);
    std::remove((dir_ + "/head.txt").c_str());
    std::remove((dir_ + "/body.txt").c_str());
    const RunResult r = run(find_program("curl"), args);
    CurlAnswer a;
    a.error = r.err;
    if (r.code == 0) {
      a.status = std::atoi(r.out.c_str());
      a.head = read_file(dir_ + "/head.txt");
      a.body = read_file(dir_ + "/body.txt");
    }
    return a;
  }

  // Whether a TLS handshake with only `protocol` (e.g. "-tls1_1") succeeds. The client is told to
  // offer even protocols and ciphers its own system policy forbids, so a refusal is the proxy's.
  bool handshake(const std::string& protocol) {
    write_file(dir_ + "/openssl-client.cnf", "");
    Process::Options o;
    o.env["OPENSSL_CONF"] = dir_ + "/openssl-client.cnf";
    std::vector<std::string> args{"s_client",
                                  "-connect",
                                  "127.0.0.1:" + std::to_string(tls_port),
                                  "-CAfile",
                                  dir_ + "/fullchain.pem",
                                  protocol};
    if (protocol != "-tls1_3") args.insert(args.end(), {"-cipher", "DEFAULT:@SECLEVEL=0"});
    const RunResult r = run(find_program("openssl"), args, o, std::chrono::seconds(20));
    INFO("openssl s_client " << protocol << ": " << r.err);
    return r.code == 0 && r.out.find("Verify return code: 0 (ok)") != std::string::npos;
  }

  int tls_port = 0;
  int http_port = 0;

 private:
  TempDir temp_;  // destroyed after nginx_ has stopped
  std::string dir_;
  std::unique_ptr<Process> nginx_;
};

std::string login_body(const std::string& user, const std::string& password) {
  return nlohmann::json{{"username", user}, {"password", password}}.dump();
}

bool has_header(const std::string& head, const std::string& prefix) {
  std::string lower = head;
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("\n" + prefix) != std::string::npos;
}

// The gateway as docker-compose and Kubernetes run it behind the proxy. The trusted range is wide
// on purpose, as in Kubernetes (the ingress controller's pod network), and holds the client too.
std::vector<std::string> behind_proxy() {
  return {"--set", "gateway.trusted_proxies=127.0.0.0/8", "--set",
          "gateway.max_connections_per_client=0"};
}

}  // namespace

TEST_CASE(
    "the shipped nginx proxy serves the API over TLS 1.2+ only and answers plain HTTP with "
    "a redirect, never the API (issue 16.3)",
    "[gateway][tls][e2e]") {
  const std::string nginx = find_program("nginx");
  if (nginx.empty()) {
    WARN(kSkipped);
    return;
  }
  GatewayFixture gw(behind_proxy());
  ShippedProxy proxy(nginx, gw.port);

  // Login over HTTPS, and the token works over HTTPS.
  CurlAnswer login = proxy.curl("https", "POST", "/api/auth/login",
                                login_body("admin", GatewayFixture::kPassword));
  INFO(login.error << login.head << login.body);
  REQUIRE(login.status == 200);
  const auto token = nlohmann::json::parse(login.body)["token"].get<std::string>();
  CHECK_FALSE(token.empty());
  CHECK(has_header(login.head, "strict-transport-security: max-age="));
  CurlAnswer summary =
      proxy.curl("https", "GET", "/api/summary", "", {"Authorization: Bearer " + token});
  CHECK(summary.status == 200);
  CHECK(nlohmann::json::parse(summary.body, nullptr, false).is_object());

  // Plain HTTP: a redirect to https for every request; nothing reaches the gateway.
  const std::string audited = gw.db.scalar("SELECT count(*) FROM audit_log");
  CurlAnswer clear =
      proxy.curl("http", "POST", "/api/auth/login", login_body("admin", "wrong password"));
  INFO(clear.error << clear.head << clear.body);
  CHECK((clear.status == 301 || clear.status == 308));
  CHECK(has_header(clear.head, "location: https://"));
  CHECK(clear.body.find("token") == std::string::npos);
  CurlAnswer clear_get =
      proxy.curl("http", "GET", "/api/summary", "", {"Authorization: Bearer " + token});
  CHECK((clear_get.status == 301 || clear_get.status == 308));
  CHECK(clear_get.body.find("\"miners\"") == std::string::npos);
  CHECK(gw.db.scalar("SELECT count(*) FROM audit_log") == audited);
  CHECK(gw.db.count("SELECT 1 FROM auth_failures") == 0);

  // The gateway's metrics stay on its own ports.
  CHECK(http_get(gw.port, "/metrics").status == 200);
  CHECK(proxy.curl("https", "GET", "/metrics").status == 404);

  // TLS 1.0 and 1.1 are refused; 1.2 and 1.3 work with the same client.
  CHECK(proxy.handshake("-tls1_2"));
  CHECK(proxy.handshake("-tls1_3"));
  CHECK_FALSE(proxy.handshake("-tls1"));
  CHECK_FALSE(proxy.handshake("-tls1_1"));
}

TEST_CASE(
    "behind the shipped nginx proxy the gateway throttles and audits the client that "
    "connected, not the proxy and not a forged X-Forwarded-For (issue 16.3)",
    "[gateway][tls][e2e]") {
  const std::string nginx = find_program("nginx");
  if (nginx.empty()) {
    WARN(kSkipped);
    return;
  }
  GatewayFixture gw(behind_proxy());
  ShippedProxy proxy(nginx, gw.port);

  CurlAnswer failed =
      proxy.curl("https", "POST", "/api/auth/login", login_body("viewer", "wrong password"),
                 {"X-Forwarded-For: 203.0.113.9"});
  INFO(failed.error << failed.head << failed.body);
  REQUIRE(failed.status == 401);
  CHECK(gw.db.count("SELECT 1 FROM auth_failures") == 1);
  CHECK(gw.db.count("SELECT 1 FROM auth_failures WHERE client = '" + std::string(kClientIp) +
                    "'") == 1);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST /api/auth/login' AND status = "
                    "401 AND client = '" +
                    std::string(kClientIp) + "'") == 1);
}
