#include "hiveos_options.h"

namespace fleet::gateway {

HiveosTokenCheck http_token_check(std::chrono::milliseconds timeout, bool verify_tls) {
  return [timeout, verify_tls](const std::string& base_url, const std::string& token) {
    hiveos::HttpApiOptions o;
    o.base_url = base_url;
    o.token = token;
    o.connect_timeout = std::min(timeout, o.connect_timeout);
    o.timeout = timeout;
    o.verify_tls = verify_tls;
    return hiveos::make_http_api(std::move(o))->auth_check();
  };
}

}  // namespace fleet::gateway
