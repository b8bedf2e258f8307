// fleetctl api ...: manage the running system through the REST API with the client library
// (docs/client.md). Unlike the other commands these need no database, only the api-gateway's URL
// and credentials. Each command writes its result to `out` (a table, or JSON with --json) and
// returns fleetctl's exit code; run_api() turns client errors into messages and exit codes
// (1: the API refused or could not be reached; 2: usage or configuration).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "client/client.h"

namespace fleet::cli {

// --api-url, --api-key, --user (the password comes from FLEET_API_PASSWORD).
struct ApiFlags {
  std::string url;
  std::string api_key;
  std::string user;
};

// Client options from the flags, falling back to FLEET_API_URL / FLEET_API_KEY / FLEET_API_USER /
// FLEET_API_PASSWORD. Throws client::ConfigurationError when no credentials are given.
client::ClientOptions api_options(const ApiFlags& flags,
                                  const std::map<std::string, std::string>& env);

// Makes a client and runs `command` with it; prints errors to `err`. Returns the exit code.
int run_api(const client::ClientOptions& options, std::ostream& err,
            const std::function<int(client::Client&)>& command);

struct ApiListOptions {
  int limit = 0;     // page size (0 = the server's default)
  bool all = false;  // walk every page
  bool json = false;
};

struct ApiMinersOptions {
  ApiListOptions list;
  std::optional<bool> managed;
  std::optional<bool> online;
  std::string model;
  std::string q;
};
int api_miners_list(client::Client& c, const ApiMinersOptions& options, std::ostream& out);
int api_miner_show(client::Client& c, std::int64_t id, bool json, std::ostream& out);
int api_miner_manage(client::Client& c, std::int64_t id, bool managed, std::ostream& out);
int api_miner_rescan(client::Client& c, std::int64_t id, std::ostream& out);

struct ApiWorkersOptions {
  ApiListOptions list;
  std::string kind;
  std::string status;
  std::string label;  // key:value
  std::string q;
};
int api_workers_list(client::Client& c, const ApiWorkersOptions& options, std::ostream& out);

int api_models_list(client::Client& c, bool json, std::ostream& out);
// preset "none" clears it.
int api_models_set_preset(client::Client& c, const std::string& alias, const std::string& preset,
                          std::ostream& out);

int api_services(client::Client& c, bool all, bool json, std::ostream& out);
int api_summary(client::Client& c, bool json, std::ostream& out);
int api_whoami(client::Client& c, bool json, std::ostream& out);

struct ApiCommandOptions {
  std::int64_t worker_id = 0;
  std::string action;
  std::string preset;
  std::optional<int> press_ms;  // power_button
  std::string cmd;              // exec: the shell command
  bool yes = false;             // confirm actions that interrupt mining
  bool json = false;
};
// Refuses (exit 2, nothing sent) a confirm-required action without --yes.
int api_command(client::Client& c, const ApiCommandOptions& options, std::ostream& out,
                std::ostream& err);

struct ApiCommandsOptions {
  ApiListOptions list;
  std::optional<std::int64_t> worker_id;
  std::string state;
};
int api_commands_list(client::Client& c, const ApiCommandsOptions& options, std::ostream& out);
// "held: …", "skipped: …", "error: …" (joined by "; "), or "-".
std::string command_reason(const client::Command& command);
int api_command_cancel(client::Client& c, std::int64_t id, std::ostream& out);

// Alerts, rules and silences (api_alert_commands.cpp).
struct ApiAlertsOptions {
  ApiListOptions list;
  bool open = false;
  std::string state;
  std::optional<std::int64_t> worker_id;
};
int api_alerts_list(client::Client& c, const ApiAlertsOptions& options, std::ostream& out);
int api_alert_ack(client::Client& c, std::int64_t id, std::ostream& out);

int api_rules_list(client::Client& c, bool json, std::ostream& out);
// Exit 1 with every problem (and a caret under it) when the condition is invalid.
int api_rules_validate(client::Client& c, const std::string& condition, const std::string& clear,
                       bool json, std::ostream& out);
int api_rules_test(client::Client& c, const std::string& condition, bool json, std::ostream& out);
// A rule as the API's JSON ("-" = stdin for the caller to read; here: the text).
int api_rules_add(client::Client& c, const std::string& rule_json, std::ostream& out);
int api_rules_delete(client::Client& c, std::int64_t id, std::ostream& out);

struct ApiSilenceOptions {
  std::optional<std::int64_t> worker_id;
  std::optional<std::int64_t> farm_id;
  std::optional<std::int64_t> rule_id;
  std::vector<std::string> labels;  // key=value
  std::string duration;
  std::string reason;
};
int api_silence_add(client::Client& c, const ApiSilenceOptions& options, std::ostream& out,
                    std::ostream& err);
int api_silence_list(client::Client& c, bool all, bool json, std::ostream& out);
int api_silence_end(client::Client& c, std::int64_t id, std::ostream& out);

// Relay controllers and workers' relay mappings (api_relay_commands.cpp). A controller is named
// by its name or id; a worker by its id or exact name.
struct ApiRelayControllerOptions {
  std::string name, driver, topic, description;
  std::optional<std::string> site;  // update: "" clears it
  std::optional<int> channels;
  bool description_set = false;
};
int api_relay_controllers_list(client::Client& c, bool json, std::ostream& out);
int api_relay_controller_show(client::Client& c, const std::string& controller, bool json,
                              std::ostream& out);
int api_relay_controller_add(client::Client& c, const ApiRelayControllerOptions& options,
                             std::ostream& out);
int api_relay_controller_update(client::Client& c, const std::string& controller,
                                const ApiRelayControllerOptions& options, std::ostream& out,
                                std::ostream& err);
int api_relay_controller_remove(client::Client& c, const std::string& controller,
                                std::ostream& out);

struct ApiRelayMapOptions {
  std::string worker;      // id or exact name
  std::string controller;  // name or id
  int channel = 0;
  std::string wiring;  // power_button or mains
  std::optional<int> pulse_ms, hold_ms, off_ms;
  bool json = false;
};
int api_relay_map(client::Client& c, const ApiRelayMapOptions& options, std::ostream& out);
int api_relay_unmap(client::Client& c, const std::string& worker, std::ostream& out);
// Every mapping, or those of one controller ("" = all).
int api_relays_list(client::Client& c, const std::string& controller, bool json, std::ostream& out);

// HiveOS accounts (api_hiveos_commands.cpp, issue 11). An account is named by its name or id.
// The token is never a flag value (it would show in ps): it is read from `token_file`, or from
// standard input when that is "-".
struct ApiHiveosAccountOptions {
  std::string name, url;
  std::string token_file;  // "" = no new token (set); "-" = standard input
  std::optional<double> requests_per_minute;
  std::optional<std::int64_t> burst;
  std::optional<bool> enabled;
  std::optional<bool> exec_enabled;  // admin
  bool json = false;
};
int api_hiveos_accounts_list(client::Client& c, bool json, std::ostream& out);
int api_hiveos_account_show(client::Client& c, const std::string& account, bool json,
                            std::ostream& out);
int api_hiveos_account_add(client::Client& c, const ApiHiveosAccountOptions& options,
                           std::istream& in, std::ostream& out, std::ostream& err);
int api_hiveos_account_set(client::Client& c, const std::string& account,
                           const ApiHiveosAccountOptions& options, std::istream& in,
                           std::ostream& out, std::ostream& err);
int api_hiveos_account_delete(client::Client& c, const std::string& account, std::ostream& out);
// The token in `path` ("-": `in`): its first line without surrounding whitespace; "" when empty.
std::string read_hiveos_token(const std::string& path, std::istream& in);

// Container host nodes and registration tokens (api_node_commands.cpp, issue 13).
struct ApiNodesOptions {
  ApiListOptions list;
  std::string status, site, pool, q;
  std::int64_t offset = 0;
};
int api_nodes_list(client::Client& c, const ApiNodesOptions& options, std::ostream& out);
int api_node_show(client::Client& c, std::int64_t id, bool json, std::ostream& out);
int api_node_history(client::Client& c, std::int64_t id, int limit, bool json, std::ostream& out);
int api_nodes_stats(client::Client& c, bool json, std::ostream& out);
int api_node_drain(client::Client& c, std::int64_t id, const std::string& reason,
                   std::ostream& out);
int api_node_undrain(client::Client& c, std::int64_t id, const std::string& reason,
                     std::ostream& out);
int api_node_revoke(client::Client& c, std::int64_t id, std::ostream& out);
int api_node_remove(client::Client& c, std::int64_t id, client::NodeRemoval removal,
                    std::ostream& out);

struct ApiNodeTokenOptions {
  std::optional<std::string> description, site, pool;
  std::vector<std::string> labels;  // key=value
  std::optional<int> max_uses, expires_in_hours;
  bool json = false;
};
// Prints the token and the install command (shown only this once). Exit 2 for a bad --label.
int api_node_token_create(client::Client& c, const ApiNodeTokenOptions& options, std::ostream& out,
                          std::ostream& err);
int api_node_tokens_list(client::Client& c, bool json, std::ostream& out);
int api_node_token_revoke(client::Client& c, std::int64_t id, std::ostream& out);

// Helpers shared by the api command files.
std::string api_cell(const std::optional<std::string>& v, const char* none = "-");
std::string api_number(const std::optional<double>& v, int decimals = 1);

}  // namespace fleet::cli
