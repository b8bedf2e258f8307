#include "notification_config.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "api_error.h"
#include "core/strings.h"
#include "notify/email_render.h"
#include "notify/template.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

// A DNS name or an IP literal: letters, digits, '-', '.', ':' (IPv6), at most 253 bytes.
bool is_host_text(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == ':';
  });
}

void check_resolves(const std::string& host, const std::string& field,
                    const HostResolves& resolves) {
  if (!resolves(host)) {
    throw ApiError::bad_request("'" + field + "': host " + host + " does not resolve", field);
  }
}

struct Url {
  std::string scheme, host;
  int port = 0;
  std::string path;
};

// scheme://host[:port][/path]; no userinfo, no fragment, printable ASCII only.
Url parse_url(const std::string& text, const std::string& field,
              std::initializer_list<const char*> schemes) {
  auto bad = [&](const std::string& why) {
    return ApiError::bad_request("'" + field + "' " + why, field);
  };
  if (has_control(text) || text.find(' ') != std::string::npos) {
    throw bad("must not contain spaces or control characters");
  }
  const auto sep = text.find("://");
  if (sep == std::string::npos) throw bad("must be an absolute URL (scheme://host...)");
  Url u;
  u.scheme = to_lower(text.substr(0, sep));
  if (std::none_of(schemes.begin(), schemes.end(), [&](const char* s) { return u.scheme == s; })) {
    std::vector<std::string> names(schemes.begin(), schemes.end());
    throw bad("must use " + join(names, " or ") + ", not " + sanitize_utf8(u.scheme));
  }
  const auto rest = text.substr(sep + 3);
  const auto slash = rest.find_first_of("/?#");
  const std::string authority = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string::npos) {
    throw bad("must not carry credentials (user:password@): give the secret separately");
  }
  if (u.path.find('#') != std::string::npos) throw bad("must not have a fragment");
  std::string host = authority;
  if (!host.empty() && host[0] == '[') {
    const auto close = host.find(']');
    if (close == std::string::npos) throw bad("has an unclosed IPv6 address");
    const auto after = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!after.empty()) {
      if (after[0] != ':') throw bad("has text after the IPv6 address");
      u.port = -1;
      const auto digits = after.substr(1);
      if (digits.empty() || digits.size() > 5 ||
          !std::all_of(digits.begin(), digits.end(), ::isdigit)) {
        throw bad("has a bad port");
      }
      u.port = std::stoi(digits);
    }
  } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    const auto digits = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(), ::isdigit)) {
      throw bad("has a bad port");
    }
    u.port = std::stoi(digits);
  }
  if (host.empty()) throw bad("has no host");
  if (!is_host_text(host)) throw bad("has a host with characters a host name cannot have");
  if (u.port != 0 && (u.port < 1 || u.port > 65535))
    throw bad("has a port out of range (1..65535)");
  u.host = host;
  return u;
}

json webhook_config(const JsonBody& c, const HostResolves& resolves) {
  c.only({"url", "timeout_ms"});
  const std::string url = c.string("url", 2000);
  const Url u = parse_url(url, c.name("url"), {"https", "http"});
  check_resolves(u.host, c.name("url"), resolves);
  return {{"url", url}, {"timeout_ms", c.opt_integer("timeout_ms", 100, 60000).value_or(5000)}};
}

json mqtt_config(const JsonBody& c, const HostResolves& resolves) {
  c.only({"host", "port", "topic", "username", "tls", "ca_file", "retain", "timeout_ms"});
  const std::string host = c.string("host", 253);
  if (!is_host_text(host)) {
    throw ApiError::bad_request("'" + c.name("host") + "' must be a host name or an IP address",
                                c.name("host"));
  }
  check_resolves(host, c.name("host"), resolves);
  const bool tls = c.opt_bool("tls").value_or(false);
  const std::string topic = c.string("topic", 200);
  if (topic.find_first_of("+#") != std::string::npos || topic[0] == '$' || has_control(topic) ||
      !is_valid_utf8(topic)) {
    throw ApiError::bad_request("'" + c.name("topic") +
                                    "' must be a topic name without wildcards (+ #), control "
                                    "characters or a leading '$'",
                                c.name("topic"));
  }
  json out = {{"host", host},
              {"port", c.opt_integer("port", 1, 65535).value_or(tls ? 8883 : 1883)},
              {"topic", topic},
              {"tls", tls},
              {"retain", c.opt_bool("retain").value_or(false)},
              {"timeout_ms", c.opt_integer("timeout_ms", 100, 60000).value_or(5000)}};
  if (auto user = c.opt_string("username", 200)) {
    if (has_control(*user)) {
      throw ApiError::bad_request("'" + c.name("username") + "' has control characters",
                                  c.name("username"));
    }
    out["username"] = *user;
  }
  auto ca = c.opt_string("ca_file", 4096);
  if (ca && ((*ca)[0] != '/' || has_control(*ca))) {
    throw ApiError::bad_request("'" + c.name("ca_file") + "' must be an absolute path",
                                c.name("ca_file"));
  }
  if (tls && !ca) {
    throw ApiError::bad_request("'" + c.name("ca_file") +
                                    "' is required with tls (the CA the broker's certificate "
                                    "must chain to)",
                                c.name("ca_file"));
  }
  if (ca) out["ca_file"] = *ca;
  return out;
}

json email_config(const JsonBody& c, const HostResolves& resolves) {
  c.only({"smtp_url", "starttls", "username", "from", "to", "ca_file", "timeout_ms"});
  const std::string url = c.string("smtp_url", 500);
  const Url u = parse_url(url, c.name("smtp_url"), {"smtp", "smtps"});
  if (!u.path.empty() && u.path != "/") {
    throw ApiError::bad_request("'" + c.name("smtp_url") + "' must be smtp[s]://host[:port]",
                                c.name("smtp_url"));
  }
  check_resolves(u.host, c.name("smtp_url"), resolves);
  const std::string from = c.string("from", 320);
  if (!notify::is_plain_address(from)) {
    throw ApiError::bad_request("'" + c.name("from") + "' must be an address like name@example.org",
                                c.name("from"));
  }
  auto to = c.opt_array("to");
  if (!to || to->empty() || to->size() > 50) {
    throw ApiError::bad_request("'" + c.name("to") + "' must list 1 to 50 addresses", c.name("to"));
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < to->size(); ++i) {
    const std::string field = c.name("to") + "[" + std::to_string(i) + "]";
    const auto& a = (*to)[i];
    if (!a.is_string() || !notify::is_plain_address(a.get<std::string>())) {
      throw ApiError::bad_request("'" + field + "' must be an address like name@example.org",
                                  field);
    }
    if (!seen.insert(to_lower(a.get<std::string>())).second) {
      throw ApiError::bad_request("'" + field + "' repeats an address", field);
    }
  }
  json out = {{"smtp_url", url},
              {"starttls", c.opt_bool("starttls").value_or(u.scheme == "smtp")},
              {"from", from},
              {"to", *to},
              {"timeout_ms", c.opt_integer("timeout_ms", 1000, 120000).value_or(15000)}};
  if (u.scheme == "smtps" && out["starttls"].get<bool>()) {
    throw ApiError::bad_request(
        "'" + c.name("starttls") + "' makes no sense with smtps:// (TLS from the start)",
        c.name("starttls"));
  }
  if (auto user = c.opt_string("username", 320)) {
    if (has_control(*user)) {
      throw ApiError::bad_request("'" + c.name("username") + "' has control characters",
                                  c.name("username"));
    }
    out["username"] = *user;
  }
  if (auto ca = c.opt_string("ca_file", 4096)) {
    if ((*ca)[0] != '/' || has_control(*ca)) {
      throw ApiError::bad_request("'" + c.name("ca_file") + "' must be an absolute path",
                                  c.name("ca_file"));
    }
    out["ca_file"] = *ca;
  }
  return out;
}

}  // namespace

bool resolves_by_dns(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (found != nullptr) ::freeaddrinfo(found);
  return rc == 0;
}

bool is_channel_kind(const std::string& kind) {
  return kind == "webhook" || kind == "mqtt" || kind == "email";
}

json validated_channel_config(const std::string& kind, const json& config,
                              const HostResolves& resolves) {
  if (!config.is_object()) throw ApiError::bad_request("'config' must be an object", "config");
  const JsonBody c(config, "config.");
  if (kind == "webhook") return webhook_config(c, resolves);
  if (kind == "mqtt") return mqtt_config(c, resolves);
  if (kind == "email") return email_config(c, resolves);
  throw ApiError::bad_request("'kind' must be webhook, mqtt or email", "kind");
}

bool channel_needs_secret(const std::string& kind, const json& config) {
  if (kind == "webhook") return true;
  return config.contains("username");
}

json validated_template(const json& tmpl) {
  const JsonBody t(tmpl, "template.");
  t.only({"title", "text"});
  json out = json::object();
  for (const char* field : {"title", "text"}) {
    auto s = t.opt_string(field, 64 * 1024, true);
    if (!s) continue;
    if (auto v = notify::validate_template(*s); !v.ok()) {
      throw ApiError::bad_request("'" + t.name(field) + "': " + v.error().message(), t.name(field));
    }
    out[field] = *s;
  }
  return out;
}

json validated_group_by(const json& group_by) {
  static const std::set<std::string> kKeys = {"event",  "severity", "site",  "farm",
                                              "worker", "rule",     "source"};
  if (!group_by.is_array() || group_by.size() > kKeys.size()) {
    throw ApiError::bad_request("'group_by' must be an array of at most 7 keys", "group_by");
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < group_by.size(); ++i) {
    const std::string field = "group_by[" + std::to_string(i) + "]";
    if (!group_by[i].is_string() || kKeys.count(group_by[i].get<std::string>()) == 0) {
      throw ApiError::bad_request(
          "'" + field + "' must be one of event, severity, site, farm, worker, rule, source",
          field);
    }
    if (!seen.insert(group_by[i].get<std::string>()).second) {
      throw ApiError::bad_request("'" + field + "' repeats a key", field);
    }
  }
  return group_by;
}

}  // namespace fleet::gateway
