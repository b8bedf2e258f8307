#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include <pqxx/pqxx>

#include "auth/user_store.h"
#include "commands.h"
#include "table.h"

namespace fleet::cli {
namespace {

std::string actor() {
  const passwd* pw = getpwuid(geteuid());
  return std::string("fleetctl:") + (pw != nullptr ? pw->pw_name : std::to_string(geteuid()));
}

// Reads a password: from stdin when it is not a terminal, else prompting twice without echo.
Result<std::string> read_password(bool from_stdin) {
  if (from_stdin || !isatty(STDIN_FILENO)) {
    std::string line;
    std::getline(std::cin, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string first, second;
  std::cerr << "password: " << std::flush;
  std::getline(std::cin, first);
  std::cerr << "\nagain: " << std::flush;
  std::getline(std::cin, second);
  std::cerr << "\n";
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  if (first != second) return Error::invalid("the passwords differ");
  return first;
}

int report(const Error& e) {
  std::cerr << "fleetctl: " << e.message() << "\n";
  return e.kind() == ErrorKind::kInvalidArgument || e.kind() == ErrorKind::kAlreadyExists ||
                 e.kind() == ErrorKind::kPermissionDenied
             ? kUsage
             : kFailed;
}

Result<auth::User> user_named(pqxx::transaction_base& tx, const std::string& name) {
  auto u = auth::find_user(tx, name);
  if (!u) return Error::not_found("no user named '" + name + "'");
  return *u;
}

}  // namespace

int users_command(Context& ctx, const UsersOptions& o) {
  pqxx::work tx(ctx.connection());
  const std::string who = actor();
  if (o.action == "list") {
    Table table({"ID", "USER", "ROLE", "DISABLED", "CREATED", "LAST LOGIN"});
    for (const auto& u : auth::list_users(tx)) {
      table.add({std::to_string(u.id), u.username, std::string(auth::to_string(u.role)),
                 u.disabled ? "yes" : "no", u.created_at, u.last_login_at.value_or("never")});
    }
    std::cout << table.render();
    return kOk;
  }
  auto role = auth::parse_role(o.role.empty() ? "viewer" : o.role);
  if (!role || *role == auth::Role::kIngest)
    return report(
        Error::invalid("role must be admin, operator or viewer (ingest is for API keys)"));
  if (o.action == "add") {
    std::string password;
    if (o.generate_password) {
      password = auth::random_token(15);
    } else {
      auto p = read_password(o.password_stdin);
      if (!p.ok()) return report(p.error());
      password = *p;
    }
    auto created = auth::create_user(tx, o.name, password, *role);
    if (!created.ok()) return report(created.error());
    auth::audit(tx, who, std::nullopt, std::nullopt, "fleetctl users add",
                "user:" + std::to_string(created->id), 0, "",
                R"({"role":")" + std::string(auth::to_string(*role)) + R"("})");
    tx.commit();
    std::cout << "created user " << created->username << " (" << auth::to_string(created->role)
              << ", id " << created->id << ")\n";
    if (o.generate_password) std::cout << "password: " << password << "\n";
    return kOk;
  }
  auto user = user_named(tx, o.name);
  if (!user.ok()) return report(user.error());
  Status s;
  std::string detail = "{}";
  if (o.action == "set-role") {
    s = auth::set_role(tx, user->id, *role);
    detail = R"({"role":")" + std::string(auth::to_string(*role)) + R"("})";
  } else if (o.action == "disable" || o.action == "enable") {
    s = auth::set_disabled(tx, user->id, o.action == "disable");
  } else if (o.action == "passwd") {
    auto p = read_password(o.password_stdin);
    if (!p.ok()) return report(p.error());
    s = auth::set_password(tx, user->id, *p);
  } else if (o.action == "delete") {
    s = auth::delete_user(tx, user->id);
  } else {
    return report(Error::invalid("unknown users action '" + o.action + "'"));
  }
  if (!s.ok()) return report(s.error());
  auth::audit(tx, who, std::nullopt, std::nullopt, "fleetctl users " + o.action,
              "user:" + std::to_string(user->id), 0, "", detail);
  tx.commit();
  std::cout << "user " << o.name << ": " << o.action << " done\n";
  return kOk;
}

int keys_command(Context& ctx, const KeysOptions& o) {
  pqxx::work tx(ctx.connection());
  if (o.action == "list") {
    std::optional<std::int64_t> owner;
    if (!o.user.empty()) {
      auto u = user_named(tx, o.user);
      if (!u.ok()) return report(u.error());
      owner = u->id;
    }
    Table table(
        {"ID", "OWNER", "NAME", "KEY ID", "ROLE", "CREATED", "LAST USED", "EXPIRES", "REVOKED"});
    for (const auto& k : auth::list_api_keys(tx, owner)) {
      table.add({std::to_string(k.id), k.owner, k.name, k.key_id,
                 std::string(auth::to_string(k.role)), k.created_at,
                 k.last_used_at.value_or("never"), k.expires_at.value_or("-"),
                 k.revoked_at.value_or("-")});
    }
    std::cout << table.render();
    return kOk;
  }
  if (o.action == "create") {
    auto u = user_named(tx, o.user);
    if (!u.ok()) return report(u.error());
    auto role = o.role.empty() ? std::optional<auth::Role>(u->role) : auth::parse_role(o.role);
    if (!role) return report(Error::invalid("role must be admin, operator, viewer or ingest"));
    std::optional<std::int64_t> days;
    if (o.expires_days > 0) days = o.expires_days;
    auto key = auth::create_api_key(tx, u->id, o.name, *role, days, o.devices);
    if (!key.ok()) return report(key.error());
    auth::audit(tx, actor(), std::nullopt, std::nullopt, "fleetctl keys create",
                "api_key:" + std::to_string(key->info.id), 0, "", "{}");
    tx.commit();
    std::cerr << "API key " << key->info.id << " for " << o.user << " (" << auth::to_string(*role)
              << "); it is shown only now:\n";
    std::cout << key->key << "\n";
    return kOk;
  }
  if (o.action == "revoke") {
    Status s = auth::revoke_api_key(tx, o.id, std::nullopt);
    if (!s.ok()) return report(s.error());
    auth::audit(tx, actor(), std::nullopt, std::nullopt, "fleetctl keys revoke",
                "api_key:" + std::to_string(o.id), 0, "", "{}");
    tx.commit();
    std::cout << "revoked API key " << o.id << "\n";
    return kOk;
  }
  return report(Error::invalid("unknown keys action '" + o.action + "'"));
}

}  // namespace fleet::cli
