// fleetctl api: client set-up, error mapping, and the fleet commands (miners, workers, models,
// services, summary, commands). Alerts, rules and silences are in api_alert_commands.cpp.
#include "api_commands.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "table.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;

std::string flag_or_env(const std::string& flag, const std::map<std::string, std::string>& env,
                        const char* name) {
  if (!flag.empty()) return flag;
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

// Raw records -> one JSON array.
template <class T>
json raw_array(const std::vector<T>& items) {
  json out = json::array();
  for (const auto& i : items)
    out.push_back(json::parse(i.raw, nullptr, false));
  return out;
}

// One page, or every page when options.all; `more` is set when a page was left unread.
template <class T, class Api, class Filter>
std::vector<T> collect(Api api, const Filter& filter, const ApiListOptions& options, bool& more) {
  more = false;
  if (options.all) {
    std::vector<T> items;
    for (const T& item : api.all(filter))
      items.push_back(item);
    return items;
  }
  auto page = api.page(filter);
  more = page.next.has_value();
  return std::move(page.items);
}

std::string yes_no(bool v) {
  return v ? "yes" : "no";
}

void print_more(bool more, std::ostream& out) {
  if (more) out << "(more: add --all to list every page, or raise --limit)\n";
}

}  // namespace

std::string api_cell(const std::optional<std::string>& v, const char* none) {
  return v ? *v : none;
}

std::string api_number(const std::optional<double>& v, int decimals) {
  if (!v) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
  return buf;
}

client::ClientOptions api_options(const ApiFlags& flags,
                                  const std::map<std::string, std::string>& env) {
  client::ClientOptions o = client::from_environment(env);
  if (!flags.url.empty()) o.base_url = flags.url;
  o.api_key = flag_or_env(flags.api_key, env, "FLEET_API_KEY");
  o.username = flag_or_env(flags.user, env, "FLEET_API_USER");
  if (!flags.api_key.empty())
    o.username.clear();  // an explicit key beats a user from the environment
  if (!flags.user.empty() && flags.api_key.empty()) o.api_key.clear();
  if (o.api_key.empty() && o.username.empty()) {
    throw client::ConfigurationError(
        "no credentials: give --api-key (or FLEET_API_KEY), or --user (or FLEET_API_USER) with "
        "FLEET_API_PASSWORD");
  }
  if (o.api_key.empty() && o.password.empty()) {
    throw client::ConfigurationError("--user needs the password in FLEET_API_PASSWORD");
  }
  client::parse_base_url(o.base_url);  // fails early, naming the problem
  return o;
}

int run_api(const client::ClientOptions& options, std::ostream& err,
            const std::function<int(client::Client&)>& command) {
  try {
    client::Client c(options);
    return command(c);
  } catch (const client::ConfigurationError& e) {
    err << "fleetctl: " << e.what() << "\n";
    return 2;
  } catch (const client::RateLimitError& e) {
    err << "fleetctl: " << e.describe() << " (retry after " << e.retry_after().count() << " s)\n";
    return 1;
  } catch (const client::ApiError& e) {
    err << "fleetctl: " << e.describe() << " [HTTP " << e.status() << " " << e.code() << "]\n";
    for (const auto& p : e.problems()) {
      err << "  " << p.field << (p.column ? " column " + std::to_string(*p.column) : "") << ": "
          << p.message << "\n";
    }
    return 1;
  } catch (const client::Error& e) {
    err << "fleetctl: " << e.what() << "\n";
    return 1;
  }
}

int api_miners_list(client::Client& c, const ApiMinersOptions& o, std::ostream& out) {
  client::MinerFilter filter{.managed = o.managed, .online = o.online, .limit = o.list.limit};
  if (!o.model.empty()) filter.model = o.model;
  if (!o.q.empty()) filter.q = o.q;
  bool more = false;
  auto miners = collect<client::Miner>(c.miners(), filter, o.list, more);
  if (o.list.json) {
    out << raw_array(miners).dump(2) << "\n";
    return 0;
  }
  Table table(
      {"ID", "NAME", "MAC", "IP", "MANAGED", "MODEL", "STATE", "TH/S", "CHIP °C", "LAST SEEN"});
  for (const auto& m : miners) {
    const auto& l = m.latest;
    table.add({std::to_string(m.id), m.name, m.mac, api_cell(m.ip, "offline"), yes_no(m.managed),
               api_cell(m.model_alias), l ? api_cell(l->miner_state) : "-",
               l ? api_number(l->hashrate_ths, 2) : "-", l ? api_number(l->chip_temp_max) : "-",
               api_cell(m.last_seen_at)});
  }
  out << (miners.empty() ? "no miners\n" : table.render(40));
  print_more(more, out);
  return 0;
}

int api_miner_show(client::Client& c, std::int64_t id, bool as_json, std::ostream& out) {
  client::Miner m = c.miners().get(id);
  if (as_json) {
    out << json::parse(m.raw).dump(2) << "\n";
    return 0;
  }
  out << "miner " << m.id << " " << m.name << "\n"
      << "  mac:        " << m.mac << "\n"
      << "  ip:         " << api_cell(m.ip, "offline") << "\n"
      << "  managed:    " << yes_no(m.managed) << "\n"
      << "  model:      " << api_cell(m.model_alias) << " " << api_cell(m.model_name, "") << "\n"
      << "  firmware:   " << api_cell(m.fw_version) << "\n"
      << "  api key:    " << m.api_key_state << "\n"
      << "  last seen:  " << api_cell(m.last_seen_at) << "\n";
  if (m.latest) {
    out << "  state:      " << api_cell(m.latest->miner_state) << " at " << m.latest->observed_at
        << "\n"
        << "  hashrate:   " << api_number(m.latest->hashrate_ths, 2) << " TH/s\n"
        << "  power:      " << api_number(m.latest->power_w, 0) << " W\n"
        << "  chip temp:  " << api_number(m.latest->chip_temp_max) << " °C\n";
  }
  if (m.last_poll_error) out << "  last error: " << *m.last_poll_error << "\n";
  return 0;
}

int api_miner_manage(client::Client& c, std::int64_t id, bool managed, std::ostream& out) {
  client::Miner m = c.miners().set_managed(id, managed);
  out << "miner " << m.id << " (" << m.mac << ") is " << (m.managed ? "managed" : "not managed")
      << "\n";
  return 0;
}

int api_miner_rescan(client::Client& c, std::int64_t id, std::ostream& out) {
  out << "rescan of miner " << id << " requested (request " << c.miners().rescan(id) << ")\n";
  return 0;
}

int api_workers_list(client::Client& c, const ApiWorkersOptions& o, std::ostream& out) {
  client::WorkerFilter filter{.limit = o.list.limit};
  if (!o.kind.empty()) filter.kind = o.kind;
  if (!o.status.empty()) filter.status = o.status;
  if (!o.label.empty()) filter.label = o.label;
  if (!o.q.empty()) filter.q = o.q;
  bool more = false;
  auto workers = collect<client::Worker>(c.workers(), filter, o.list, more);
  if (o.list.json) {
    out << raw_array(workers).dump(2) << "\n";
    return 0;
  }
  Table table({"ID", "KIND", "NAME", "STATUS", "IP", "MANAGED", "FARM", "LAST SEEN"});
  for (const auto& w : workers) {
    table.add({std::to_string(w.id), w.kind, w.name, w.status, api_cell(w.ip), yes_no(w.managed),
               api_cell(w.farm), api_cell(w.last_seen_at)});
  }
  out << (workers.empty() ? "no workers\n" : table.render(40));
  print_more(more, out);
  return 0;
}

int api_models_list(client::Client& c, bool as_json, std::ostream& out) {
  auto models = c.models().list();
  if (as_json) {
    out << raw_array(models).dump(2) << "\n";
    return 0;
  }
  Table table({"ALIAS", "NAME", "MINERS", "MAX PRESET", "PRESETS"});
  for (const auto& m : models) {
    std::string presets;
    for (const auto& p : m.presets)
      presets += (presets.empty() ? "" : ", ") + p.name;
    table.add({m.alias, m.full_name, std::to_string(m.miners), api_cell(m.max_preset), presets});
  }
  out << (models.empty() ? "no models\n" : table.render(60));
  return 0;
}

int api_models_set_preset(client::Client& c, const std::string& alias, const std::string& preset,
                          std::ostream& out) {
  const bool clear = preset == "none";
  c.models().set_max_preset(alias, clear ? std::nullopt : std::optional<std::string>(preset));
  out << "model " << alias << ": max_preset " << (clear ? "cleared" : "= " + preset) << "\n";
  return 0;
}

int api_services(client::Client& c, bool all, bool as_json, std::ostream& out) {
  auto services = c.services(all);
  if (as_json) {
    out << raw_array(services).dump(2) << "\n";
    return 0;
  }
  Table table(
      {"SERVICE", "HOST", "PID", "STATE", "MODE", "HEARTBEAT", "CYCLES", "ERRORS", "LAST ERROR"});
  for (const auto& s : services) {
    table.add({s.service, s.host, std::to_string(s.pid), s.state, s.mode,
               short_age(s.heartbeat_age_seconds) + " ago", std::to_string(s.cycles),
               std::to_string(s.cycle_errors), api_cell(s.last_error)});
  }
  out << (services.empty() ? "no services\n" : table.render(60));
  return 0;
}

int api_summary(client::Client& c, bool as_json, std::ostream& out) {
  auto s = c.summary();
  if (as_json) {
    out << json::parse(s.raw).dump(2) << "\n";
    return 0;
  }
  Table table({"KIND", "STATUS", "WORKERS"});
  for (const auto& [kind, by_status] : s.workers) {
    for (const auto& [status, n] : by_status)
      table.add({kind, status, std::to_string(n)});
  }
  out << (table.empty() ? "no workers\n" : table.render());
  out << "hashrate: " << api_number(s.hashrate_ths, 2)
      << " TH/s, power: " << api_number(s.power_w, 0) << " W";
  if (s.alerts_firing) out << ", alerts firing: " << *s.alerts_firing;
  out << "\n";
  return 0;
}

int api_whoami(client::Client& c, bool as_json, std::ostream& out) {
  auto me = c.me();
  if (as_json) {
    out << json{{"id", me.id}, {"name", me.name}, {"role", me.role}, {"via", me.via}}.dump(2)
        << "\n";
  } else {
    out << me.name << " (" << me.role << ", via " << me.via << ")\n";
  }
  return 0;
}

namespace {

void print_command(const client::Command& cmd, bool as_json, std::ostream& out) {
  if (as_json) {
    out << json::parse(cmd.raw).dump(2) << "\n";
    return;
  }
  out << "command " << cmd.id << ": " << cmd.action << " on worker " << cmd.worker_id << " ("
      << cmd.worker_name << ") is " << cmd.state << "\n";
}

}  // namespace

std::string command_reason(const client::Command& cmd) {
  std::string out;
  auto add = [&out](const char* label, const std::optional<std::string>& v) {
    if (!v) return;
    out += (out.empty() ? "" : "; ") + std::string(label) + *v;
  };
  if (cmd.state == "queued" || cmd.state == "claimed" || cmd.state == "sent")
    add("held: ", cmd.held_reason);
  add("skipped: ", cmd.skip_reason);
  add("error: ", cmd.last_error);
  return out.empty() ? "-" : out;
}

int api_command(client::Client& c, const ApiCommandOptions& o, std::ostream& out,
                std::ostream& err) {
  if (client::needs_confirm(o.action) && !o.yes) {
    err << "fleetctl: " << o.action
        << (o.action.rfind("power_", 0) == 0 ? " switches the power of worker "
            : o.action == "exec"             ? " runs a shell command on worker "
                                             : " interrupts mining on worker ")
        << o.worker_id << "; add --yes to confirm\n";
    return 2;
  }
  if (o.press_ms && o.action != "power_button") {
    err << "fleetctl: --ms is for power_button only\n";
    return 2;
  }
  if (o.action == "exec" && o.cmd.empty()) {
    err << "fleetctl: exec needs --cmd '<shell command>'\n";
    return 2;
  }
  if (!o.cmd.empty() && o.action != "exec") {
    err << "fleetctl: --cmd is for exec only\n";
    return 2;
  }
  if (o.cmd.size() > 1000) {
    err << "fleetctl: --cmd is at most 1000 characters\n";
    return 2;
  }
  if (o.action == "set_preset" && o.preset.empty()) {
    err << "fleetctl: set_preset needs --preset\n";
    return 2;
  }
  client::CommandRequest request{.action = o.action, .confirm = o.yes};
  if (!o.preset.empty()) request.preset = o.preset;
  request.press_ms = o.press_ms;
  if (!o.cmd.empty()) request.cmd = o.cmd;
  print_command(c.commands().queue(o.worker_id, request), o.json, out);
  return 0;
}

int api_commands_list(client::Client& c, const ApiCommandsOptions& o, std::ostream& out) {
  client::CommandFilter filter{.worker_id = o.worker_id, .limit = o.list.limit};
  if (!o.state.empty()) filter.state = o.state;
  bool more = false;
  auto commands = collect<client::Command>(c.commands(), filter, o.list, more);
  if (o.list.json) {
    out << raw_array(commands).dump(2) << "\n";
    return 0;
  }
  Table table(
      {"ID", "WORKER", "ACTION", "STATE", "TRIES", "ORIGIN", "BY", "CREATED", "REASON / ERROR"});
  for (const auto& cmd : commands) {
    table.add({std::to_string(cmd.id), std::to_string(cmd.worker_id) + " " + cmd.worker_name,
               cmd.action, cmd.state,
               std::to_string(cmd.attempts) +
                   (cmd.max_attempts > 0 ? "/" + std::to_string(cmd.max_attempts) : ""),
               cmd.origin, cmd.requested_by, cmd.created_at, command_reason(cmd)});
  }
  out << (commands.empty() ? "no commands\n" : table.render(40));
  print_more(more, out);
  return 0;
}

int api_command_cancel(client::Client& c, std::int64_t id, std::ostream& out) {
  print_command(c.commands().cancel(id), false, out);
  return 0;
}

}  // namespace fleet::cli
