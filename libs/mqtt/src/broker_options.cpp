#include <unistd.h>

#include <charconv>

#include "mqtt/client.h"

namespace fleet::mqtt {

Status validate(const BrokerOptions& o) {
  if (o.host.empty()) return Error::invalid("broker host is empty");
  if (o.port < 1 || o.port > 65535) {
    return Error::invalid("broker port " + std::to_string(o.port) + " is not in 1..65535");
  }
  if (o.keepalive < std::chrono::seconds(5) || o.keepalive > std::chrono::seconds(65535)) {
    return Error::invalid("broker keepalive must be 5..65535 s");
  }
  if (o.reconnect_min < std::chrono::seconds(1) || o.reconnect_max < o.reconnect_min) {
    return Error::invalid("reconnect delays must be >= 1 s with max >= min");
  }
  if (o.session == Session::kPersistent && o.client_id.empty()) {
    return Error::invalid("a persistent session needs a client id");
  }
  if (o.client_id.size() > 65535 || o.username.size() > 65535 || o.password.size() > 65535) {
    return Error::invalid("client id, username or password is longer than MQTT allows");
  }
  if (!o.password.empty() && o.username.empty()) {
    return Error::invalid("a broker password needs a username");
  }
  if (o.max_payload_bytes == 0) return Error::invalid("max_payload_bytes must be positive");
  if (o.will && o.will->topic.empty()) return Error::invalid("the will needs a topic");
  if (o.tls.enabled) {
    if (o.tls.ca_file.empty()) return Error::invalid("broker TLS needs a CA file (tls.ca_file)");
    if (access(o.tls.ca_file.c_str(), R_OK) != 0) {
      return Error::invalid("broker TLS CA file '" + o.tls.ca_file + "' is not readable");
    }
    if (o.tls.cert_file.empty() != o.tls.key_file.empty()) {
      return Error::invalid(
          "a broker client certificate needs both tls.cert_file and tls.key_file");
    }
    for (const auto* f : {&o.tls.cert_file, &o.tls.key_file}) {
      if (!f->empty() && access(f->c_str(), R_OK) != 0) {
        return Error::invalid("broker TLS file '" + *f + "' is not readable");
      }
    }
  }
  return Status::success();
}

Status parse_broker_address(std::string_view text, BrokerOptions& options) {
  if (text.empty()) return Error::invalid("broker address is empty (want HOST[:PORT])");
  std::string_view host = text;
  int port = options.tls.enabled ? 8883 : 1883;
  if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    const auto p = text.substr(colon + 1);
    int v = 0;
    auto r = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || r.ec != std::errc() || r.ptr != p.data() + p.size() || v < 1 || v > 65535) {
      return Error::invalid("broker address '" + std::string(text) + "': '" + std::string(p) +
                            "' is not a port");
    }
    port = v;
  }
  if (host.empty()) {
    return Error::invalid("broker address '" + std::string(text) + "' has no host");
  }
  options.host = std::string(host);
  options.port = port;
  return Status::success();
}

std::string describe(const BrokerOptions& o) {
  std::string s = o.tls.enabled ? "mqtts://" : "mqtt://";
  if (!o.username.empty()) s += o.username + "@";
  s += o.host + ":" + std::to_string(o.port);
  return s;
}

}  // namespace fleet::mqtt
