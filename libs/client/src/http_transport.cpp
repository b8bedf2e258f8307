// The cpp-httplib transport. One keep-alive connection, reopened by the library when the server
// closes it. Timeouts are set explicitly: the library's connect timeout defaults to 300 s.
#include <httplib.h>

#include "client/errors.h"
#include "client/transport.h"

namespace fleet::client {
namespace {

std::string failure_text(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "connection refused or unreachable";
    case httplib::Error::Read:
      return "no complete answer (read failed or timed out)";
    case httplib::Error::Write:
      return "could not send the request";
    case httplib::Error::ConnectionTimeout:
      return "connection timed out";
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return "TLS failure";
    default:
      return httplib::to_string(e);
  }
}

class HttplibTransport final : public Transport {
 public:
  explicit HttplibTransport(const HttpTransportOptions& options)
      : origin_(options.base_url), client_(options.base_url) {
    client_.set_connection_timeout(options.connect_timeout);
    client_.set_read_timeout(options.timeout);
    client_.set_write_timeout(options.timeout);
    client_.set_keep_alive(true);
  }

  HttpResponse send(const HttpRequest& request) override {
    httplib::Request req;
    req.method = request.method;
    req.path = request.target;
    for (const auto& [name, value] : request.headers)
      req.headers.emplace(name, value);
    if (!request.body.empty()) {
      req.body = request.body;
      req.headers.emplace("Content-Type", "application/json");
    }
    httplib::Result res = client_.send(req);
    if (!res) {
      throw ConnectionError("cannot reach the API at " + origin_ + ": " +
                            failure_text(res.error()));
    }
    HttpResponse out;
    out.status = res->status;
    out.body = std::move(res->body);
    out.retry_after = res->get_header_value("Retry-After");
    return out;
  }

 private:
  std::string origin_;
  httplib::Client client_;
};

}  // namespace

std::unique_ptr<Transport> make_http_transport(const HttpTransportOptions& options) {
  return std::make_unique<HttplibTransport>(options);
}

}  // namespace fleet::client
