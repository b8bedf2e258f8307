#include "client/options.h"

#include <cstdlib>
#include <regex>

#include "client/errors.h"

extern char** environ;

namespace fleet::client {

ClientOptions from_environment(const std::map<std::string, std::string>& env) {
  ClientOptions o;
  auto set = [&](const char* name, std::string& target) {
    auto it = env.find(name);
    if (it != env.end() && !it->second.empty()) target = it->second;
  };
  set("FLEET_API_URL", o.base_url);
  set("FLEET_API_KEY", o.api_key);
  set("FLEET_API_USER", o.username);
  set("FLEET_API_PASSWORD", o.password);
  return o;
}

ClientOptions from_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos && entry.rfind("FLEET_API_", 0) == 0) {
      env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  return from_environment(env);
}

BaseUrl parse_base_url(const std::string& url) {
  // scheme://host[:port][/prefix]; host is a name, IPv4 or [IPv6].
  static const std::regex kUrl(
      R"(^(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:([0-9]{1,5}))?(/[A-Za-z0-9._~/-]*)?$)");
  if (url.size() > 2048) throw ConfigurationError("the API URL is longer than 2048 characters");
  if (url.find('@') != std::string::npos) {
    throw ConfigurationError("the API URL must not contain credentials; use an API key or a login");
  }
  std::smatch m;
  if (!std::regex_match(url, m, kUrl)) {
    throw ConfigurationError(
        "the API URL must look like http://host:port (optionally with a path prefix)");
  }
  if (m[4].matched) {
    const int port = std::stoi(m[4].str());
    if (port < 1 || port > 65535) throw ConfigurationError("the API URL's port must be 1..65535");
  }
  BaseUrl out;
  out.origin = m[1].str() + "://" + m[2].str() + (m[3].matched ? m[3].str() : "");
  out.prefix = m[5].matched ? m[5].str() : "";
  while (!out.prefix.empty() && out.prefix.back() == '/')
    out.prefix.pop_back();
  return out;
}

}  // namespace fleet::client
