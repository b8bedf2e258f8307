#include "db/connection_options.h"

#include <libpq-fe.h>

#include <memory>

#include "core/secret_strength.h"
#include "core/strings.h"

namespace fleet::db {

void declare_config(config::Schema& schema) {
  using config::Type;
  schema.add({.name = "database.url",
              .type = Type::kString,
              .help = "PostgreSQL URI (postgresql://user:password@host:port/db) or libpq conninfo",
              .env = {"DATABASE_URL"},
              .flag = "--database-url"});
  schema.add({.name = "database.host",
              .type = Type::kString,
              .help = "server host, optionally host:port (used when database.url is unset)",
              .env = {"POSTGRES_SERVER", "PGHOST"}});
  schema.add({.name = "database.port",
              .type = Type::kInt,
              .help = "server port",
              .env = {"POSTGRES_PORT", "PGPORT"},
              .min = 1,
              .max = 65535});
  schema.add({.name = "database.name",
              .type = Type::kString,
              .help = "database name",
              .env = {"POSTGRES_DB", "PGDATABASE"}});
  schema.add({.name = "database.user",
              .type = Type::kString,
              .help = "database user",
              .env = {"POSTGRES_USER", "PGUSER"}});
  schema.add({.name = "database.password",
              .type = Type::kString,
              .help = "database password",
              .secret = true,
              .env = {"POSTGRES_PASSWORD", "PGPASSWORD"}});
  schema.add({.name = "database.sslmode",
              .type = Type::kString,
              .help = "libpq sslmode",
              .choices = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}});
  schema.add({.name = "database.connect_timeout",
              .type = Type::kDuration,
              .help = "give up connecting after this long",
              .default_value = std::chrono::milliseconds(5000),
              .min = 1,
              .max = 300});
  schema.add({.name = "database.statement_timeout",
              .type = Type::kDuration,
              .help = "cancel any statement running longer than this",
              .default_value = std::chrono::milliseconds(30'000),
              .min = 0.01,
              .max = 86'400});
  schema.add({.name = "database.lock_timeout",
              .type = Type::kDuration,
              .help = "give up waiting for a lock after this long",
              .default_value = std::chrono::milliseconds(10'000),
              .min = 0.01,
              .max = 3600});
}

std::string quote_conninfo_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

namespace {
// A password left at an example's placeholder ("CHANGE-ME") is refused at start, so a deployment
// made from the examples as shipped cannot run with it (the database may accept any password).
Status check_password(const std::string& conninfo) {
  auto password = conninfo_value(conninfo, "password");
  if (!password.ok() || password->empty()) return Status::success();
  return check_not_placeholder("database password (database.url / database.password)", *password);
}
}  // namespace

Result<ConnectionOptions> options_from(const config::Config& config) {
  ConnectionOptions o;
  o.connect_timeout = config.duration("database.connect_timeout");
  o.statement_timeout = config.duration("database.statement_timeout");
  o.lock_timeout = config.duration("database.lock_timeout");

  if (auto url = config.optional_str("database.url"); url && !trim(*url).empty()) {
    std::string u(trim(*url));
    bool is_uri = starts_with(u, "postgresql://") || starts_with(u, "postgres://");
    bool is_kv = u.find('=') != std::string::npos;
    if (!is_uri && !is_kv) {
      return Error::invalid(
          "key 'database.url': expected postgresql://user:password@host:port/dbname or a libpq "
          "key=value string (got '" +
          redact_secrets(u) + "')");
    }
    o.conninfo = u;
    if (Status s = check_password(o.conninfo); !s.ok()) return s.error();
    return o;
  }
  if (!config.has("database.host") && !config.has("database.name")) {
    return Error::invalid(
        "no database configured: set DATABASE_URL (key 'database.url') or POSTGRES_SERVER and "
        "POSTGRES_DB (keys 'database.host' and 'database.name')");
  }
  std::string conninfo;
  auto add = [&](const std::string& key, const std::string& value) {
    if (!conninfo.empty()) conninfo += ' ';
    conninfo += key + "=" + quote_conninfo_value(value);
  };
  if (auto host = config.optional_str("database.host")) {
    std::string h(trim(*host));
    // POSTGRES_SERVER may carry the port: "db.example:5433".
    if (auto colon = h.rfind(':');
        colon != std::string::npos && h.find(']') == std::string::npos && h.find(':') == colon) {
      std::string port = h.substr(colon + 1);
      h = h.substr(0, colon);
      if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) {
        return Error::invalid("key 'database.host': bad port in '" + *host + "'");
      }
      if (!config.has("database.port")) add("port", port);
    }
    add("host", h);
  }
  if (config.has("database.port")) add("port", std::to_string(config.integer("database.port")));
  if (auto name = config.optional_str("database.name")) add("dbname", *name);
  if (auto user = config.optional_str("database.user")) add("user", *user);
  if (auto password = config.optional_str("database.password")) add("password", *password);
  if (auto sslmode = config.optional_str("database.sslmode")) add("sslmode", *sslmode);
  o.conninfo = conninfo;
  if (Status s = check_password(o.conninfo); !s.ok()) return s.error();
  return o;
}

namespace {
using Options = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;
Result<Options> parse(const std::string& conninfo) {
  char* error = nullptr;
  Options options(PQconninfoParse(conninfo.c_str(), &error), &PQconninfoFree);
  if (!options) {
    std::string message = error != nullptr ? std::string(trim(error)) : "out of memory";
    PQfreemem(error);
    return Error::invalid("malformed connection string: " + redact_secrets(message));
  }
  return options;
}
}  // namespace

Result<std::string> conninfo_value(const std::string& conninfo, const std::string& key) {
  auto options = parse(conninfo);
  if (!options.ok()) return options.error();
  for (PQconninfoOption* o = options->get(); o->keyword != nullptr; ++o) {
    if (key == o->keyword) return std::string(o->val != nullptr ? o->val : "");
  }
  return Error::invalid("unknown connection keyword '" + key + "'");
}

Result<std::string> conninfo_with(const std::string& conninfo, const std::string& key,
                                  const std::string& value) {
  auto options = parse(conninfo);
  if (!options.ok()) return options.error();
  std::string out;
  bool found = false;
  for (PQconninfoOption* o = options->get(); o->keyword != nullptr; ++o) {
    const bool ours = key == o->keyword;
    found = found || ours;
    const char* v = ours ? value.c_str() : o->val;
    if (v == nullptr) continue;
    if (!out.empty()) out += ' ';
    out += std::string(o->keyword) + "=" + quote_conninfo_value(v);
  }
  if (!found) return Error::invalid("unknown connection keyword '" + key + "'");
  return out;
}

std::string describe(const ConnectionOptions& options) {
  return redact_secrets(options.conninfo);
}

}  // namespace fleet::db
