// fleetctl api nodes ...: container host nodes and their registration tokens through the REST
// API (issue 13; docs/fleetctl.md).
#include <nlohmann/json.hpp>

#include "api_commands.h"
#include "table.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;

std::string percent(const std::optional<double>& v) {
  return v ? api_number(v, 0) + "%" : "-";
}

std::string heartbeat(const client::Node& n) {
  if (!n.heartbeat_age_s) return "never";
  return short_age(static_cast<double>(*n.heartbeat_age_s)) + " ago";
}

std::string capacity(const client::Node& n) {
  return std::to_string(n.cpu_cores) + " cpu, " + std::to_string(n.memory_mb / 1024) + " GiB, " +
         api_number(n.disk_gb, 0) + " GB";
}

void print_node(const client::Node& n, std::ostream& out) {
  out << "node " << n.id << ": " << n.name << " (" << n.status;
  if (n.credential_revoked) out << ", credential revoked";
  out << ")\n";
  if (n.status_reason) out << "  reason: " << *n.status_reason << "\n";
  out << "  since: " << n.status_since << "\n";
  out << "  hostname: " << n.hostname << "\n";
  if (!n.addresses.empty()) {
    out << "  addresses:";
    for (const auto& a : n.addresses)
      out << " " << a;
    out << "\n";
  }
  out << "  site: " << api_cell(n.site) << ", pool: " << n.pool << "\n";
  out << "  capacity: " << capacity(n) << "\n";
  out << "  load: cpu " << percent(n.cpu_percent) << ", memory " << percent(n.memory_percent)
      << ", disk " << percent(n.disk_percent) << "\n";
  out << "  containers: " << (n.containers ? std::to_string(*n.containers) : "-") << " ("
      << (n.containers_running ? std::to_string(*n.containers_running) : "-") << " running)\n";
  out << "  last heartbeat: " << api_cell(n.last_heartbeat_at, "never") << "\n";
}

void print_json(const std::string& raw, std::ostream& out) {
  out << json::parse(raw, nullptr, false).dump(2) << "\n";
}

void print_tokens(const std::vector<client::RegistrationToken>& tokens, std::ostream& out) {
  Table table(
      {"ID", "TOKEN ID", "STATE", "USES", "EXPIRES", "SITE", "POOL", "NODES", "DESCRIPTION"});
  for (const auto& t : tokens) {
    table.add({std::to_string(t.id), t.token_id, t.state,
               std::to_string(t.uses) + "/" + std::to_string(t.max_uses), t.expires_at,
               api_cell(t.site), t.pool, std::to_string(t.nodes), t.description});
  }
  out << (tokens.empty() ? "no registration tokens\n" : table.render(40));
}

}  // namespace

int api_nodes_list(client::Client& c, const ApiNodesOptions& o, std::ostream& out) {
  client::NodeFilter filter{.limit = o.list.limit, .offset = o.offset};
  if (!o.status.empty()) filter.status = o.status;
  if (!o.site.empty()) filter.site = o.site;
  if (!o.pool.empty()) filter.pool = o.pool;
  if (!o.q.empty()) filter.q = o.q;
  std::vector<client::Node> nodes;
  std::int64_t total = 0;
  if (o.list.all) {
    nodes = c.nodes().all(filter);
    total = static_cast<std::int64_t>(nodes.size());
  } else {
    client::NodePage page = c.nodes().page(filter);
    nodes = std::move(page.items);
    total = page.total;
  }
  if (o.list.json) {
    json items = json::array();
    for (const auto& n : nodes)
      items.push_back(json::parse(n.raw, nullptr, false));
    out << items.dump(2) << "\n";
    return 0;
  }
  Table table(
      {"ID", "NAME", "STATUS", "SITE", "POOL", "CPU", "MEMORY", "DISK", "CONTAINERS", "HEARTBEAT"});
  for (const auto& n : nodes) {
    table.add({std::to_string(n.id), n.name, n.status + (n.credential_revoked ? " (revoked)" : ""),
               api_cell(n.site), n.pool, percent(n.cpu_percent), percent(n.memory_percent),
               percent(n.disk_percent),
               n.containers ? std::to_string(n.containers_running.value_or(0)) + "/" +
                                  std::to_string(*n.containers)
                            : "-",
               heartbeat(n)});
  }
  out << (nodes.empty() ? "no nodes\n" : table.render(40));
  const auto shown = static_cast<std::int64_t>(nodes.size());
  if (!o.list.all && o.offset + shown < total) {
    out << "(" << shown << " of " << total << " shown; --offset " << o.offset + shown
        << " for the next page, or --all)\n";
  }
  return 0;
}

int api_node_show(client::Client& c, std::int64_t id, bool as_json, std::ostream& out) {
  client::Node n = c.nodes().get(id);
  if (as_json) {
    print_json(n.raw, out);
    return 0;
  }
  print_node(n, out);
  const json detail = json::parse(n.raw, nullptr, false);
  if (detail.is_object()) {
    auto text = [&](const char* key) {
      return detail.contains(key) && detail[key].is_string() ? detail[key].get<std::string>()
                                                             : std::string("-");
    };
    out << "  host: " << text("os") << ", kernel " << text("kernel") << ", " << text("engine")
        << " " << text("engine_version") << ", agent " << text("agent_version") << "\n";
    out << "  registered: " << text("registered_at") << "\n";
    if (detail.contains("container_list") && detail["container_list"].is_array() &&
        !detail["container_list"].empty()) {
      Table table({"CONTAINER", "IMAGE", "STATE", "DEPLOYMENT"});
      for (const auto& ct : detail["container_list"]) {
        auto field = [&](const char* key) {
          return ct.is_object() && ct.contains(key) && ct[key].is_string()
                     ? ct[key].get<std::string>()
                     : std::string("-");
        };
        std::string deployment = "-";
        if (ct.is_object() && ct.contains("labels") && ct["labels"].is_object() &&
            ct["labels"].contains("fleetward.deployment") &&
            ct["labels"]["fleetward.deployment"].is_string())
          deployment = ct["labels"]["fleetward.deployment"].get<std::string>();
        table.add({field("name"), field("image"), field("state"), deployment});
      }
      out << table.render(40);
    }
  }
  return 0;
}

int api_node_history(client::Client& c, std::int64_t id, int limit, bool as_json,
                     std::ostream& out) {
  auto changes = c.nodes().history(id, limit);
  if (as_json) {
    json items = json::array();
    for (const auto& h : changes) {
      items.push_back({{"from", h.from},
                       {"to", h.to},
                       {"reason", h.reason},
                       {"at", h.at},
                       {"changed_by", h.changed_by}});
    }
    out << items.dump(2) << "\n";
    return 0;
  }
  Table table({"AT", "FROM", "TO", "BY", "REASON"});
  for (const auto& h : changes)
    table.add({h.at, h.from, h.to, h.changed_by, h.reason});
  out << (changes.empty() ? "no status changes\n" : table.render(80));
  return 0;
}

int api_nodes_stats(client::Client& c, bool as_json, std::ostream& out) {
  client::NodeStats s = c.nodes().stats();
  if (as_json) {
    print_json(s.raw, out);
    return 0;
  }
  out << "nodes: " << s.total;
  for (const auto& [status, count] : s.by_status) {
    if (count > 0) out << ", " << count << " " << status;
  }
  out << "\n";
  Table table({"", "CPU CORES", "MEMORY MB", "DISK GB"});
  table.add({"capacity", api_number(s.capacity_cpu_cores, 0), api_number(s.capacity_memory_mb, 0),
             api_number(s.capacity_disk_gb, 0)});
  table.add({"used", api_number(s.used_cpu_cores, 1), api_number(s.used_memory_mb, 0),
             api_number(s.used_disk_gb, 1)});
  out << table.render();
  out << "average load: cpu " << percent(s.average_cpu_percent) << ", memory "
      << percent(s.average_memory_percent) << ", disk " << percent(s.average_disk_percent)
      << ", overall " << percent(s.average_overall) << "\n";
  return 0;
}

int api_node_drain(client::Client& c, std::int64_t id, const std::string& reason,
                   std::ostream& out) {
  client::Node n = c.nodes().drain(id, reason);
  out << "node " << n.id << " (" << n.name << ") is draining\n";
  return 0;
}

int api_node_undrain(client::Client& c, std::int64_t id, const std::string& reason,
                     std::ostream& out) {
  client::Node n = c.nodes().undrain(id, reason);
  out << "node " << n.id << " (" << n.name << ") is " << n.status
      << " until the heartbeat-monitor sees it healthy\n";
  return 0;
}

int api_node_revoke(client::Client& c, std::int64_t id, std::ostream& out) {
  client::Node n = c.nodes().revoke_credential(id);
  out << "node " << n.id << " (" << n.name
      << "): credential revoked; it must register again with a new token\n";
  return 0;
}

int api_node_remove(client::Client& c, std::int64_t id, client::NodeRemoval removal,
                    std::ostream& out) {
  client::Node n = c.nodes().remove(id, removal);
  out << "node " << n.id << " (" << n.name << ") removed, its credential revoked\n";
  return 0;
}

int api_node_token_create(client::Client& c, const ApiNodeTokenOptions& o, std::ostream& out,
                          std::ostream& err) {
  client::RegistrationTokenRequest r{.description = o.description,
                                     .site = o.site,
                                     .pool = o.pool,
                                     .max_uses = o.max_uses,
                                     .expires_in_hours = o.expires_in_hours};
  for (const auto& label : o.labels) {
    const auto eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      err << "fleetctl: --label must be key=value, not '" << label << "'\n";
      return 2;
    }
    r.labels[label.substr(0, eq)] = label.substr(eq + 1);
  }
  client::RegistrationToken t = c.nodes().create_token(r);
  if (o.json) {
    print_json(t.raw, out);
    return 0;
  }
  out << "registration token " << t.id << " (" << t.token_id << "): " << t.max_uses
      << (t.max_uses == 1 ? " use" : " uses") << ", expires " << t.expires_at << "\n";
  out << "token (shown only now): " << t.token.value_or("?") << "\n";
  out << "install on a new host:\n  " << t.install_command.value_or("?") << "\n";
  return 0;
}

int api_node_tokens_list(client::Client& c, bool as_json, std::ostream& out) {
  auto tokens = c.nodes().tokens();
  if (as_json) {
    json items = json::array();
    for (const auto& t : tokens)
      items.push_back(json::parse(t.raw, nullptr, false));
    out << items.dump(2) << "\n";
    return 0;
  }
  print_tokens(tokens, out);
  return 0;
}

int api_node_token_revoke(client::Client& c, std::int64_t id, std::ostream& out) {
  client::RegistrationToken t = c.nodes().revoke_token(id);
  out << "registration token " << t.id << " (" << t.token_id << ") revoked\n";
  return 0;
}

}  // namespace fleet::cli
