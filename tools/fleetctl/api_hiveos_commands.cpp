// fleetctl api hiveos accounts ...: HiveOS accounts through the REST API (docs/hiveos.md).
#include <fstream>

#include <nlohmann/json.hpp>

#include "api_commands.h"
#include "table.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;

void print_account(const client::HiveosAccount& a, bool as_json, std::ostream& out) {
  if (as_json) {
    out << json::parse(a.raw).dump(2) << "\n";
    return;
  }
  out << "HiveOS account " << a.id << ": " << a.name << " (" << a.base_url << ", token …"
      << a.token_hint << ", " << (a.enabled ? "enabled" : "disabled")
      << (a.exec_enabled ? ", exec allowed" : "") << ")\n"
      << "  state: " << a.state << (a.state_reason.empty() ? "" : " - " + a.state_reason) << "\n"
      << "  budget: " << a.requests_per_minute << " requests/min, burst " << a.burst << "\n"
      << "  synced: " << api_cell(a.last_sync_at, "never") << ", " << a.farms << " farms, "
      << a.workers << " workers\n";
}

}  // namespace

std::string read_hiveos_token(const std::string& path, std::istream& in) {
  std::string line;
  if (path == "-") {
    std::getline(in, line);
  } else {
    std::ifstream file(path);
    if (!file) throw client::Error("cannot read the token file " + path);
    std::getline(file, line);
  }
  const auto first = line.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = line.find_last_not_of(" \t\r\n");
  return line.substr(first, last - first + 1);
}

int api_hiveos_accounts_list(client::Client& c, bool as_json, std::ostream& out) {
  auto items = c.hiveos().accounts();
  if (as_json) {
    json arr = json::array();
    for (const auto& a : items)
      arr.push_back(json::parse(a.raw, nullptr, false));
    out << arr.dump(2) << "\n";
    return 0;
  }
  Table table({"ID", "NAME", "URL", "TOKEN", "STATE", "FARMS", "WORKERS", "LAST SYNC", "EXEC"});
  for (const auto& a : items) {
    table.add({std::to_string(a.id), a.name, a.base_url, "…" + a.token_hint,
               a.enabled ? a.state : "disabled", std::to_string(a.farms), std::to_string(a.workers),
               api_cell(a.last_sync_at, "never"), a.exec_enabled ? "allowed" : "off"});
  }
  out << (items.empty() ? "no HiveOS accounts\n" : table.render());
  for (const auto& a : items) {
    if (a.state == "failing") out << a.name << ": " << a.state_reason << "\n";
  }
  return 0;
}

int api_hiveos_account_show(client::Client& c, const std::string& account, bool as_json,
                            std::ostream& out) {
  print_account(c.hiveos().find_account(account), as_json, out);
  return 0;
}

int api_hiveos_account_add(client::Client& c, const ApiHiveosAccountOptions& o, std::istream& in,
                           std::ostream& out, std::ostream& err) {
  const std::string token = read_hiveos_token(o.token_file.empty() ? "-" : o.token_file, in);
  if (token.empty()) {
    err << "fleetctl: no token: give --token-file PATH, or the token on standard input\n";
    return 2;
  }
  client::HiveosAccountDraft d{.name = o.name, .base_url = o.url, .token = token};
  d.requests_per_minute = o.requests_per_minute;
  d.burst = o.burst;
  d.enabled = o.enabled;
  print_account(c.hiveos().add(d), o.json, out);
  return 0;
}

int api_hiveos_account_set(client::Client& c, const std::string& account,
                           const ApiHiveosAccountOptions& o, std::istream& in, std::ostream& out,
                           std::ostream& err) {
  client::HiveosAccountDraft d;
  if (!o.name.empty()) d.name = o.name;
  if (!o.url.empty()) d.base_url = o.url;
  if (!o.token_file.empty()) {
    d.token = read_hiveos_token(o.token_file, in);
    if (d.token->empty()) {
      err << "fleetctl: the token file is empty\n";
      return 2;
    }
  }
  d.requests_per_minute = o.requests_per_minute;
  d.burst = o.burst;
  d.enabled = o.enabled;
  d.exec_enabled = o.exec_enabled;
  if (!d.name && !d.base_url && !d.token && !d.requests_per_minute && !d.burst && !d.enabled &&
      !d.exec_enabled) {
    err << "fleetctl: nothing to change: give --name, --url, --token-file, --rpm, --burst, "
           "--enable/--disable or --exec on|off\n";
    return 2;
  }
  const auto id = c.hiveos().find_account(account).id;
  print_account(c.hiveos().update(id, d), o.json, out);
  return 0;
}

int api_hiveos_account_delete(client::Client& c, const std::string& account, std::ostream& out) {
  auto a = c.hiveos().find_account(account);
  const auto removed = c.hiveos().remove(a.id);
  out << "HiveOS account " << a.id << " (" << a.name << ") deleted; " << removed
      << (removed == 1 ? " worker" : " workers") << " marked removed\n";
  return 0;
}

}  // namespace fleet::cli
