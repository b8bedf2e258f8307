#include "planner_store.h"

#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <memory>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace fleet::planner {
namespace {

using json = nlohmann::json;

constexpr const char* kExpire = R"sql(
UPDATE commands SET state = 'expired', finished_at = now(),
       last_error = 'not done before it expired (' || to_char(expires_at AT TIME ZONE 'UTC',
                                                             'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ')'
 WHERE channel = 'agent' AND origin = 'planner' AND state IN ('queued', 'claimed', 'sent')
   AND expires_at < now()
)sql";

constexpr const char* kNodes = R"sql(
SELECT w.id, w.name, w.status, coalesce(w.site, ''), n.pool,
       (extract(epoch FROM now() - w.status_since) * 1000)::bigint,
       (extract(epoch FROM now() - n.last_heartbeat_at) * 1000)::bigint,
       n.cpu_cores, n.memory_mb, n.disk_gb,
       coalesce(n.cpu_percent, 0), coalesce(n.memory_percent, 0), coalesce(n.disk_percent, 0),
       coalesce(host(n.addresses[1]), ''),
       (SELECT coalesce(jsonb_agg(jsonb_build_array(c->>'name',
                                                    coalesce(c->'labels'->>'fleetward.deployment', ''),
                                                    coalesce(c->'labels'->>'fleetward.placement', ''))),
                        '[]'::jsonb)
          FROM jsonb_array_elements(n.container_list) c
         WHERE jsonb_typeof(c) = 'object' AND c->'labels'->>'fleetward.managed' = 'true')::text
  FROM workers w JOIN nodes n ON n.worker_id = w.id
 WHERE w.kind = 'node' AND w.status <> 'removed'
)sql";

constexpr const char* kHolds = "SELECT site FROM site_holds WHERE cleared_at IS NULL";

constexpr const char* kOrganizations = R"sql(
SELECT o.id, o.name, o.migration_policy,
       coalesce(json_agg(m.user_id ORDER BY m.user_id) FILTER (WHERE m.user_id IS NOT NULL),
                '[]'::json)::text
  FROM organizations o LEFT JOIN organization_members m ON m.organization_id = o.id
 GROUP BY o.id
)sql";

constexpr const char* kDeployments = R"sql(
SELECT id, organization_id, name, image, array_to_json(command)::text, env::text, ports::text,
       cpu_cores, memory_mb, disk_gb, replicas, labels::text, pool, coalesce(anti_affinity_key, ''),
       max_unavailable, state
  FROM deployments WHERE state <> 'deleted'
)sql";

constexpr const char* kPlacements = R"sql(
SELECT p.id, p.deployment_id, p.replica, coalesce(p.node_id, 0), coalesce(p.container_name, ''),
       p.state, p.reason, p.ports::text, p.host_ip, p.cpu_cores, p.memory_mb, p.disk_gb,
       coalesce(p.migration_id, 0), coalesce(p.container_id, ''),
       (extract(epoch FROM now() - p.updated_at) * 1000)::bigint, p.retired_at IS NOT NULL,
       s.state, coalesce(s.result->>'container_id', ''),
       coalesce(s.last_error, s.result::text, ''),
       coalesce(s.state IN ('queued', 'claimed', 'sent') AND s.expires_at < now(), false),
       t.state, coalesce(t.last_error, t.result::text, ''),
       coalesce(t.state IN ('queued', 'claimed', 'sent') AND t.expires_at < now(), false)
  FROM placements p
  LEFT JOIN commands s ON s.id = p.start_command_id
  LEFT JOIN commands t ON t.id = p.stop_command_id
 WHERE p.state <> 'removed'
)sql";

constexpr const char* kOpenStates =
    "('awaiting_approval', 'pending', 'starting', 'switching', 'cleanup')";

// Plans still open, or with a migration still open; and every migration of those plans.
const std::string kPlans = std::string(R"sql(
SELECT id, node_id, organization_id, trigger, policy, state, reason, summary::text
  FROM migration_plans
 WHERE state IN ('awaiting_approval', 'executing')
    OR id IN (SELECT plan_id FROM migrations WHERE state IN )sql") +
                           kOpenStates + ")";

const std::string kMigrations = std::string(R"sql(
SELECT id, plan_id, deployment_id, replica, coalesce(from_node_id, 0),
       coalesce(from_placement_id, 0), coalesce(to_node_id, 0), coalesce(to_placement_id, 0), state,
       reason, attempts, array_to_json(avoid_node_ids)::text
  FROM migrations
 WHERE state IN )sql") + kOpenStates +
                                R"sql(
    OR plan_id IN (SELECT id FROM migration_plans WHERE state IN ('awaiting_approval', 'executing'))
)sql";

constexpr const char* kLatestPlans = R"sql(
SELECT DISTINCT ON (p.node_id, p.organization_id) p.node_id, p.organization_id, p.state,
       p.created_at >= w.status_since
  FROM migration_plans p JOIN workers w ON w.id = p.node_id
 WHERE w.status IN ('offline', 'draining')
 ORDER BY p.node_id, p.organization_id, p.created_at DESC, p.id DESC
)sql";

constexpr const char* kRoutes = R"sql(
SELECT deployment_id, replica, container_port, protocol, coalesce(placement_id, 0),
       coalesce(node_id, 0), address, host_port
  FROM routes
)sql";

constexpr const char* kRecentMoves =
    "SELECT count(*) FROM migrations WHERE started_at > now() - interval '1 minute'";

constexpr const char* kUpsertPlans = R"sql(
INSERT INTO migration_plans AS mp (id, node_id, organization_id, trigger, policy, state, reason,
                                   created_by, summary, finished_at)
SELECT x.id, x.node_id, x.org_id, x.trigger, x.policy, x.state, x.reason, $10, x.summary::jsonb,
       CASE WHEN x.finished THEN now() END
  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
              $7::text[], $8::text[], $9::boolean[])
       AS x(id, node_id, org_id, trigger, policy, state, reason, summary, finished)
ON CONFLICT (id) DO UPDATE
   SET state = EXCLUDED.state, reason = EXCLUDED.reason, summary = EXCLUDED.summary,
       finished_at = coalesce(mp.finished_at, EXCLUDED.finished_at)
 WHERE mp.state = ($11::text[])[array_position($1::bigint[], mp.id)]
)sql";

constexpr const char* kUpsertMigrations = R"sql(
INSERT INTO migrations AS m (id, plan_id, deployment_id, replica, from_node_id, from_placement_id,
                             to_node_id, to_placement_id, state, reason, attempts, avoid_node_ids,
                             steps, started_at, finished_at)
SELECT x.id, x.plan_id, x.deployment_id, x.replica, nullif(x.from_node, 0),
       nullif(x.from_placement, 0), nullif(x.to_node, 0), nullif(x.to_placement, 0), x.state,
       left(x.reason, 2000), x.attempts, x.avoid::bigint[], x.steps::jsonb,
       CASE WHEN x.started THEN now() END, CASE WHEN x.finished THEN now() END
  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::bigint[], $6::bigint[],
              $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::int[], $12::text[],
              $13::text[], $14::boolean[], $15::boolean[])
       AS x(id, plan_id, deployment_id, replica, from_node, from_placement, to_node, to_placement,
            state, reason, attempts, avoid, steps, started, finished)
ON CONFLICT (id) DO UPDATE
   SET to_node_id = EXCLUDED.to_node_id, to_placement_id = EXCLUDED.to_placement_id,
       state = EXCLUDED.state, reason = EXCLUDED.reason,
       attempts = EXCLUDED.attempts, avoid_node_ids = EXCLUDED.avoid_node_ids,
       steps = m.steps || EXCLUDED.steps,
       started_at = coalesce(EXCLUDED.started_at, m.started_at),
       finished_at = coalesce(m.finished_at, EXCLUDED.finished_at)
)sql";

constexpr const char* kUpsertPlacements = R"sql(
INSERT INTO placements AS p (id, deployment_id, replica, node_id, container_name, ports, host_ip,
                             cpu_cores, memory_mb, disk_gb, state, reason, migration_id,
                             container_id, running_since, retired_at, start_command_id,
                             stop_command_id)
SELECT x.id, x.deployment_id, x.replica, nullif(x.node_id, 0), nullif(x.container_name, ''),
       x.ports::jsonb, x.host_ip, x.cpu, x.mem, x.disk, x.state, left(x.reason, 2000),
       nullif(x.migration_id, 0), nullif(x.container_id, ''),
       CASE WHEN x.running THEN now() END, CASE WHEN x.retired THEN now() END,
       nullif(x.start_command, 0), nullif(x.stop_command, 0)
  FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bigint[], $5::text[], $6::text[],
              $7::text[], $8::float8[], $9::bigint[], $10::float8[], $11::text[], $12::text[],
              $13::bigint[], $14::text[], $15::boolean[], $16::boolean[], $17::bigint[],
              $18::bigint[])
       AS x(id, deployment_id, replica, node_id, container_name, ports, host_ip, cpu, mem, disk,
            state, reason, migration_id, container_id, running, retired, start_command,
            stop_command)
ON CONFLICT (id) DO UPDATE
   SET node_id = EXCLUDED.node_id, container_name = EXCLUDED.container_name,
       ports = EXCLUDED.ports, host_ip = EXCLUDED.host_ip, state = EXCLUDED.state,
       reason = EXCLUDED.reason, migration_id = EXCLUDED.migration_id,
       container_id = coalesce(EXCLUDED.container_id, p.container_id),
       running_since = coalesce(EXCLUDED.running_since, p.running_since),
       retired_at = CASE WHEN EXCLUDED.retired_at IS NOT NULL THEN coalesce(p.retired_at, now()) END,
       start_command_id = coalesce(EXCLUDED.start_command_id, p.start_command_id),
       stop_command_id = coalesce(EXCLUDED.stop_command_id, p.stop_command_id)
)sql";

constexpr const char* kInsertCommands = R"sql(
INSERT INTO commands (worker_id, action, params, channel, origin, requested_by, idempotency_key,
                      max_attempts, expires_at)
SELECT x.node_id, x.action, x.params::jsonb, 'agent', 'planner', $6, x.key, 1,
       now() + x.expires_ms * interval '1 millisecond'
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[])
       AS x(node_id, action, params, key, expires_ms)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id, idempotency_key
)sql";

constexpr const char* kUpsertRoutes = R"sql(
INSERT INTO routes AS r (deployment_id, replica, container_port, protocol, placement_id, node_id,
                         address, host_port)
SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::bigint[], $6::bigint[],
                     $7::text[], $8::int[])
ON CONFLICT (deployment_id, replica, container_port, protocol) DO UPDATE
   SET placement_id = EXCLUDED.placement_id, node_id = EXCLUDED.node_id,
       address = EXCLUDED.address, host_port = EXCLUDED.host_port, version = r.version + 1,
       updated_at = now()
)sql";

constexpr const char* kDeleteRoutes = R"sql(
DELETE FROM routes r
 USING unnest($1::bigint[], $2::int[], $3::int[], $4::text[]) AS x(d, replica, port, protocol)
 WHERE r.deployment_id = x.d AND r.replica = x.replica AND r.container_port = x.port
   AND r.protocol = x.protocol
)sql";

constexpr const char* kDeleteDeployments = R"sql(
UPDATE deployments SET state = 'deleted', deleted_at = now()
 WHERE id = ANY ($1::bigint[]) AND state = 'deleting'
)sql";

constexpr const char* kInsertNotifications = R"sql(
INSERT INTO notifications (source, event, severity, title, body, worker_id, payload, dedupe_key)
SELECT 'migration-planner', x.event, x.severity, x.title, x.body, nullif(x.worker_id, 0),
       x.payload::jsonb, x.key
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[])
       AS x(event, severity, title, body, worker_id, payload, key)
ON CONFLICT (dedupe_key) DO NOTHING
)sql";

constexpr const char* kRoutesJson = R"sql(
SELECT coalesce(json_agg(json_build_object('service', d.name || '.' || o.name,
                                           'replica', r.replica,
                                           'container_port', r.container_port,
                                           'protocol', r.protocol, 'address', r.address,
                                           'host_port', r.host_port)
                         ORDER BY d.id, r.replica, r.container_port, r.protocol), '[]'::json)::text
  FROM routes r JOIN deployments d ON d.id = r.deployment_id
  JOIN organizations o ON o.id = d.organization_id
)sql";

std::vector<HostPort> parse_ports(const std::string& text) {
  std::vector<HostPort> out;
  auto j = json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (!e.is_object()) continue;
    HostPort hp;
    hp.container_port = e.value("container_port", 0);
    hp.host_port = e.value("host_port", 0);
    hp.protocol = e.value("protocol", std::string("tcp"));
    out.push_back(hp);
  }
  return out;
}

// A deployment's [{container_port, protocol}]: the API validates them; an entry that is not a
// port 1..65535 (a row written around the API) is skipped instead of failing every cycle.
std::vector<PortSpec> deployment_ports(const std::string& text) {
  std::vector<PortSpec> out;
  auto j = json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (!e.is_object()) continue;
    auto port = e.find("container_port");
    if (port == e.end() || !port->is_number_integer()) continue;
    const auto value = port->get<std::int64_t>();
    if (value < 1 || value > 65535) continue;
    std::string protocol = "tcp";
    if (auto p = e.find("protocol"); p != e.end() && p->is_string() && *p == "udp")
      protocol = "udp";
    out.push_back({static_cast<int>(value), protocol});
  }
  return out;
}

std::optional<CommandView> command_view(const pqxx::row& r, int first, bool with_id) {
  if (r[first].is_null()) return std::nullopt;
  CommandView c;
  c.state = r[first].as<std::string>();
  int at = first + 1;
  if (with_id) c.container_id = r[at++].as<std::string>();
  c.error = r[at++].as<std::string>();
  c.overdue = r[at].as<bool>();
  return c;
}

// The INSERT part of an upsert, for rows known to be new.
std::string insert_only(const char* upsert) {
  const std::string sql(upsert);
  return sql.substr(0, sql.find("ON CONFLICT"));
}

std::string b(bool v) {
  return v ? "t" : "f";
}

std::string ports_json(const std::vector<HostPort>& ports) {
  json a = json::array();
  for (const auto& hp : ports)
    a.push_back({{"container_port", hp.container_port},
                 {"host_port", hp.host_port},
                 {"protocol", hp.protocol}});
  return a.dump();
}

}  // namespace

std::string int_array(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(values[i]);
  }
  return out + "}";
}

std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  out.reserve(values.size() * 16);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::int64_t expire_commands(pqxx::transaction_base& tx) {
  return static_cast<std::int64_t>(tx.exec(kExpire).affected_rows());
}

Snapshot load_snapshot(pqxx::transaction_base& tx, const PlannerOptions&) {
  Snapshot s;
  for (const auto& r : tx.exec(kNodes)) {
    NodeView n;
    n.id = r[0].as<std::int64_t>();
    n.name = r[1].as<std::string>();
    n.status = r[2].as<std::string>();
    n.site = r[3].as<std::string>();
    n.pool = r[4].as<std::string>();
    n.status_age = milliseconds(r[5].as<std::int64_t>());
    if (!r[6].is_null()) n.heartbeat_age = milliseconds(r[6].as<std::int64_t>());
    n.cpu_cores = r[7].as<double>();
    n.memory_mb = r[8].as<double>();
    n.disk_gb = r[9].as<double>();
    n.cpu_percent = r[10].as<double>();
    n.memory_percent = r[11].as<double>();
    n.disk_percent = r[12].as<double>();
    n.address = r[13].as<std::string>();
    for (const auto& c : json::parse(r[14].as<std::string>())) {
      n.containers.push_back({.name = c[0].is_string() ? c[0].get<std::string>() : "",
                              .managed = true,
                              .deployment = c[1].get<std::string>(),
                              .placement = c[2].get<std::string>()});
    }
    s.nodes[n.id] = std::move(n);
  }
  for (const auto& r : tx.exec(kHolds))
    s.held_sites.insert(r[0].as<std::string>());
  for (const auto& r : tx.exec(kOrganizations)) {
    Organization o;
    o.id = r[0].as<std::int64_t>();
    o.name = r[1].as<std::string>();
    o.policy = r[2].as<std::string>();
    o.owners = json::parse(r[3].as<std::string>()).get<std::vector<std::int64_t>>();
    s.organizations[o.id] = std::move(o);
  }
  for (const auto& r : tx.exec(kDeployments)) {
    Deployment d;
    d.id = r[0].as<std::int64_t>();
    d.organization_id = r[1].as<std::int64_t>();
    d.name = r[2].as<std::string>();
    d.image = r[3].as<std::string>();
    d.command = json::parse(r[4].as<std::string>()).get<std::vector<std::string>>();
    d.env_json = r[5].as<std::string>();
    d.ports = deployment_ports(r[6].as<std::string>());
    d.cpu_cores = r[7].as<double>();
    d.memory_mb = r[8].as<double>();
    d.disk_gb = r[9].as<double>();
    d.replicas = r[10].as<int>();
    d.labels_json = r[11].as<std::string>();
    d.pool = r[12].as<std::string>();
    d.anti_affinity_key = r[13].as<std::string>();
    d.max_unavailable = r[14].as<int>();
    d.state = r[15].as<std::string>();
    s.deployments[d.id] = std::move(d);
  }
  for (const auto& r : tx.exec(kPlacements)) {
    Placement p;
    p.id = r[0].as<std::int64_t>();
    p.deployment_id = r[1].as<std::int64_t>();
    p.replica = r[2].as<int>();
    p.node_id = r[3].as<std::int64_t>();
    p.container_name = r[4].as<std::string>();
    p.state = r[5].as<std::string>();
    p.reason = r[6].as<std::string>();
    p.ports = parse_ports(r[7].as<std::string>());
    p.host_ip = r[8].as<std::string>();
    p.cpu_cores = r[9].as<double>();
    p.memory_mb = r[10].as<double>();
    p.disk_gb = r[11].as<double>();
    p.migration_id = r[12].as<std::int64_t>();
    p.container_id = r[13].as<std::string>();
    p.age = milliseconds(r[14].as<std::int64_t>());
    p.retired = r[15].as<bool>();
    p.start = command_view(r, 16, true);
    p.stop = command_view(r, 20, false);
    s.placements.push_back(std::move(p));
  }
  for (const auto& r : tx.exec(kPlans)) {
    Plan p;
    p.id = r[0].as<std::int64_t>();
    p.node_id = r[1].as<std::int64_t>();
    p.organization_id = r[2].as<std::int64_t>();
    p.trigger = r[3].as<std::string>();
    p.policy = r[4].as<std::string>();
    p.state = p.loaded_state = r[5].as<std::string>();
    p.reason = r[6].as<std::string>();
    p.summary_json = json::parse(r[7].as<std::string>()).dump();
    s.plans[p.id] = std::move(p);
  }
  for (const auto& r : tx.exec(kMigrations)) {
    Migration m;
    m.id = r[0].as<std::int64_t>();
    m.plan_id = r[1].as<std::int64_t>();
    m.deployment_id = r[2].as<std::int64_t>();
    m.replica = r[3].as<int>();
    m.from_node_id = r[4].as<std::int64_t>();
    m.from_placement_id = r[5].as<std::int64_t>();
    m.to_node_id = r[6].as<std::int64_t>();
    m.to_placement_id = r[7].as<std::int64_t>();
    m.state = r[8].as<std::string>();
    m.reason = r[9].as<std::string>();
    m.attempts = r[10].as<int>();
    m.avoid = json::parse(r[11].as<std::string>()).get<std::vector<std::int64_t>>();
    s.migrations.push_back(std::move(m));
  }
  for (const auto& r : tx.exec(kLatestPlans)) {
    s.latest_plans[{r[0].as<std::int64_t>(), r[1].as<std::int64_t>()}] = {
        .state = r[2].as<std::string>(), .during_outage = r[3].as<bool>()};
  }
  for (const auto& r : tx.exec(kRoutes)) {
    RouteKey k{r[0].as<std::int64_t>(), r[1].as<int>(), r[2].as<int>(), r[3].as<std::string>()};
    s.routes[k] = {.placement_id = r[4].as<std::int64_t>(),
                   .node_id = r[5].as<std::int64_t>(),
                   .address = r[6].as<std::string>(),
                   .host_port = r[7].as<int>()};
  }
  s.moves_last_minute = tx.exec1(kRecentMoves)[0].as<int>();
  return s;
}

IdSource sequence_ids(pqxx::transaction_base& tx) {
  auto cache = std::make_shared<std::map<std::string, std::deque<std::int64_t>>>();
  return [&tx, cache](const std::string& table) {
    auto& q = (*cache)[table];
    if (q.empty()) {
      for (const auto& r : tx.exec_params(
               "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, 512)",
               table)) {
        q.push_back(r[0].as<std::int64_t>());
      }
    }
    const std::int64_t id = q.front();
    q.pop_front();
    return id;
  };
}

Written apply(pqxx::transaction_base& tx, const Snapshot& s, const PlannerOptions& o) {
  Written w;
  // A new move and its new placement point at each other: the placement's check waits for the
  // commit (0045), so each table is written once.
  tx.exec("SET CONSTRAINTS placements_migration_fk DEFERRED");
  const std::string now =
      tx.exec1("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")[0]
          .as<std::string>();
  {  // plans (before migrations: migrations.plan_id references them)
    std::vector<std::int64_t> id, node, org;
    std::vector<std::string> trigger, policy, state, reason, summary, finished, loaded;
    for (const auto& [pid, p] : s.plans) {
      if (!p.dirty) continue;
      id.push_back(p.id);
      node.push_back(p.node_id);
      org.push_back(p.organization_id);
      trigger.push_back(p.trigger);
      policy.push_back(p.policy);
      state.push_back(p.state);
      reason.push_back(p.reason.substr(0, 2000));
      summary.push_back(p.summary_json);
      finished.push_back(b(p.finished));
      loaded.push_back(p.is_new ? p.state : p.loaded_state);
    }
    if (!id.empty()) {
      w.plans = static_cast<std::int64_t>(
          tx.exec_params(kUpsertPlans, int_array(id), int_array(node), int_array(org),
                         text_array(trigger), text_array(policy), text_array(state),
                         text_array(reason), text_array(summary), text_array(finished),
                         "migration-planner:" + o.instance_id, text_array(loaded))
              .affected_rows());
    }
  }
  // Agent commands (before placements, which reference the ones they queued).
  std::map<std::string, std::int64_t> command_ids;
  if (!s.commands.empty()) {
    std::vector<std::int64_t> node, expires;
    std::vector<std::string> action, params, key;
    for (const auto& c : s.commands) {
      node.push_back(c.node_id);
      action.push_back(c.action);
      params.push_back(c.params_json);
      key.push_back(c.idempotency_key);
      expires.push_back(c.expires_in.count());
    }
    for (const auto& r : tx.exec_params(kInsertCommands, int_array(node), text_array(action),
                                        text_array(params), text_array(key), int_array(expires),
                                        "migration-planner:" + o.instance_id)) {
      command_ids[r[1].as<std::string>()] = r[0].as<std::int64_t>();
    }
    w.commands = static_cast<std::int64_t>(command_ids.size());
    if (w.commands > 0) tx.exec("SELECT pg_notify('fleet_commands', 'agent')");
  }
  auto command_of = [&](std::int64_t placement_id, const char* what) -> std::int64_t {
    auto it = command_ids.find("placement:" + std::to_string(placement_id) + ":" + what);
    return it == command_ids.end() ? 0 : it->second;
  };
  // New rows go in with a plain INSERT (the ON CONFLICT path costs a speculative insertion per
  // row); changed ones through the upsert.
  for (const bool fresh : {true, false}) {  // placements
    std::vector<std::int64_t> id, dep, replica, node, mem, mig, start, stop;
    std::vector<std::string> name, ports, host_ip, state, reason, cid, running, retired;
    std::vector<std::string> cpu, disk;
    for (const auto& p : s.placements) {
      if (!p.dirty || p.is_new != fresh) continue;
      id.push_back(p.id);
      dep.push_back(p.deployment_id);
      replica.push_back(p.replica);
      node.push_back(p.node_id);
      name.push_back(p.container_name);
      ports.push_back(ports_json(p.ports));
      host_ip.push_back(p.host_ip);
      cpu.push_back(json(p.cpu_cores).dump());
      mem.push_back(static_cast<std::int64_t>(p.memory_mb));
      disk.push_back(json(p.disk_gb).dump());
      state.push_back(p.state);
      reason.push_back(p.reason);
      mig.push_back(p.migration_id);
      cid.push_back(p.container_id);
      running.push_back(b(p.running_since));
      retired.push_back(b(p.retired));
      start.push_back(p.queue_start ? command_of(p.id, "start") : 0);
      stop.push_back(p.queue_remove ? command_of(p.id, "remove") : 0);
    }
    if (!id.empty()) {
      auto join = [](const std::vector<std::string>& v) {
        std::string out = "{";
        for (std::size_t i = 0; i < v.size(); ++i)
          out += (i ? "," : "") + v[i];
        return out + "}";
      };
      w.placements += static_cast<std::int64_t>(
          tx.exec_params(fresh ? insert_only(kUpsertPlacements) : kUpsertPlacements, int_array(id),
                         int_array(dep), int_array(replica), int_array(node), text_array(name),
                         text_array(ports), text_array(host_ip), join(cpu), int_array(mem),
                         join(disk), text_array(state), text_array(reason), int_array(mig),
                         text_array(cid), text_array(running), text_array(retired),
                         int_array(start), int_array(stop))
              .affected_rows());
    }
  }
  for (const bool fresh : {true, false}) {  // migrations
    std::vector<std::int64_t> id, plan, dep, from_node, from_pl, to_node, to_pl, replica, attempts;
    std::vector<std::string> state, reason, avoid, steps, started, finished;
    for (const auto& m : s.migrations) {
      if (!m.dirty || m.is_new != fresh) continue;
      id.push_back(m.id);
      plan.push_back(m.plan_id);
      dep.push_back(m.deployment_id);
      replica.push_back(m.replica);
      from_node.push_back(m.from_node_id);
      from_pl.push_back(m.from_placement_id);
      to_node.push_back(m.to_node_id);
      to_pl.push_back(m.to_placement_id);
      state.push_back(m.state);
      reason.push_back(m.reason);
      attempts.push_back(m.attempts);
      avoid.push_back(int_array(m.avoid));
      json st = json::array();
      for (const auto& x : m.new_steps)
        st.push_back({{"at", now}, {"step", x.step}, {"detail", x.detail}});
      steps.push_back(st.dump());
      started.push_back(b(m.started));
      finished.push_back(b(m.finished));
    }
    if (!id.empty()) {
      w.migrations += static_cast<std::int64_t>(
          tx.exec_params(fresh ? insert_only(kUpsertMigrations) : kUpsertMigrations, int_array(id),
                         int_array(plan), int_array(dep), int_array(replica), int_array(from_node),
                         int_array(from_pl), int_array(to_node), int_array(to_pl),
                         text_array(state), text_array(reason), int_array(attempts),
                         text_array(avoid), text_array(steps), text_array(started),
                         text_array(finished))
              .affected_rows());
    }
  }
  {  // routes
    std::vector<std::int64_t> dep, replica, port, placement, node, host_port;
    std::vector<std::string> protocol, address;
    std::vector<std::int64_t> ddep, dreplica, dport;
    std::vector<std::string> dprotocol;
    for (const auto& [k, r] : s.routes) {
      if (r.removed) {
        ddep.push_back(k.deployment_id);
        dreplica.push_back(k.replica);
        dport.push_back(k.container_port);
        dprotocol.push_back(k.protocol);
      } else if (r.dirty) {
        dep.push_back(k.deployment_id);
        replica.push_back(k.replica);
        port.push_back(k.container_port);
        protocol.push_back(k.protocol);
        placement.push_back(r.placement_id);
        node.push_back(r.node_id);
        address.push_back(r.address);
        host_port.push_back(r.host_port);
      }
    }
    if (!dep.empty()) {
      w.routes += static_cast<std::int64_t>(
          tx.exec_params(kUpsertRoutes, int_array(dep), int_array(replica), int_array(port),
                         text_array(protocol), int_array(placement), int_array(node),
                         text_array(address), int_array(host_port))
              .affected_rows());
    }
    if (!ddep.empty()) {
      w.routes += static_cast<std::int64_t>(tx.exec_params(kDeleteRoutes, int_array(ddep),
                                                           int_array(dreplica), int_array(dport),
                                                           text_array(dprotocol))
                                                .affected_rows());
    }
    if (w.routes > 0) tx.exec("SELECT pg_notify('fleet_routes', '')");
  }
  {
    std::vector<std::int64_t> deleted;
    for (const auto& [id, d] : s.deployments)
      if (d.dirty && d.state == "deleted") deleted.push_back(id);
    if (!deleted.empty()) tx.exec_params(kDeleteDeployments, int_array(deleted));
  }
  if (!s.notifications.empty()) {
    std::vector<std::string> event, severity, title, body, payload, key;
    std::vector<std::int64_t> worker;
    for (const auto& n : s.notifications) {
      event.push_back(n.event);
      severity.push_back(n.severity);
      title.push_back(n.title);
      body.push_back(n.body);
      worker.push_back(n.worker_id);
      payload.push_back(n.payload_json);
      key.push_back(n.dedupe_key);
    }
    w.notifications = static_cast<std::int64_t>(
        tx.exec_params(kInsertNotifications, text_array(event), text_array(severity),
                       text_array(title), text_array(body), int_array(worker), text_array(payload),
                       text_array(key))
            .affected_rows());
    if (w.notifications > 0) tx.exec("SELECT pg_notify('fleet_notifications', '')");
  }
  return w;
}

std::string routes_json(pqxx::transaction_base& tx) {
  return "{\"version\":1,\"routes\":" + tx.exec1(kRoutesJson)[0].as<std::string>() + "}";
}

bool write_file_atomically(const std::string& path, const std::string& content,
                           std::string& error) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      error = "cannot open " + tmp;
      return false;
    }
    out << content << '\n';
    out.flush();
    if (!out) {
      error = "cannot write " + tmp;
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + tmp + " to " + path;
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace fleet::planner
