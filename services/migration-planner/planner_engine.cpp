#include "planner_engine.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "placement/placement.h"
#include "planner_rules.h"

namespace fleet::planner {
namespace {

using json = nlohmann::json;

bool terminal_migration(const std::string& s) {
  return s == "done" || s == "failed" || s == "rejected" || s == "cancelled" || s == "recorded";
}

std::string seconds_text(milliseconds d) {
  return std::to_string(d.count() / 1000) + " s";
}

class Engine {
 public:
  Engine(Snapshot& s, const PlannerOptions& o, const IdSource& ids) : s_(s), o_(o), ids_(ids) {
    for (std::size_t i = 0; i < s_.placements.size(); ++i)
      pidx_[s_.placements[i].id] = i;
    for (std::size_t i = 0; i < s_.migrations.size(); ++i)
      midx_[s_.migrations[i].id] = i;
  }

  EngineResult run() {
    progress();
    build_cluster();
    failed_nodes();  // plans first: a node that failed moves before new replicas fill the fleet
    deployments();
    execute();
    stale_copies();
    finish_plans();
    return std::move(r_);
  }

 private:
  // ---- lookups ----
  Placement* placement(std::int64_t id) {
    auto it = pidx_.find(id);
    return it == pidx_.end() ? nullptr : &s_.placements[it->second];
  }
  Migration* migration(std::int64_t id) {
    auto it = midx_.find(id);
    return it == midx_.end() ? nullptr : &s_.migrations[it->second];
  }
  const NodeView* node(std::int64_t id) const {
    auto it = s_.nodes.find(id);
    return it == s_.nodes.end() ? nullptr : &it->second;
  }
  std::string node_name(std::int64_t id) const {
    const NodeView* n = node(id);
    return n ? n->name : (id == 0 ? "(none)" : "node " + std::to_string(id));
  }
  bool reachable(std::int64_t node_id) const {
    const NodeView* n = node(node_id);
    return n && is_reachable(*n, o_);
  }
  const Organization* org_of(const Deployment& d) const {
    auto it = s_.organizations.find(d.organization_id);
    return it == s_.organizations.end() ? nullptr : &it->second;
  }
  std::string service(const Deployment& d) const {
    const Organization* org = org_of(d);
    return service_address(d.name, org ? org->name : "?");
  }

  void decide(json j) { r_.decisions.push_back(j.dump()); }

  void step(Migration& m, const std::string& state, const std::string& name,
            const std::string& detail) {
    m.state = state;
    m.dirty = true;
    m.new_steps.push_back({name, detail});
    if (terminal_migration(state) && state != "recorded") m.finished = true;
    decide({{"action", "migration"},
            {"migration_id", m.id},
            {"deployment_id", m.deployment_id},
            {"replica", m.replica},
            {"state", state},
            {"step", name},
            {"detail", detail}});
  }

  void notify(const std::string& event, const std::string& severity, const std::string& title,
              const std::string& body, std::int64_t worker_id, json payload,
              const std::string& dedupe_key) {
    s_.notifications.push_back({.event = event,
                                .severity = severity,
                                .title = title.substr(0, 500),
                                .body = body,
                                .worker_id = worker_id,
                                .payload_json = payload.dump(),
                                .dedupe_key = dedupe_key});
    decide({{"action", "notify"}, {"event", event}, {"title", title}, {"dedupe_key", dedupe_key}});
  }

  json owners_payload(const Deployment& d) const {
    json p{{"organization_id", d.organization_id},
           {"deployment_id", d.id},
           {"service", service(d)},
           {"owners", json::array()}};
    if (const Organization* org = org_of(d)) p["owners"] = org->owners;
    return p;
  }

  // ---- commands ----
  void queue_remove(Placement& p, const std::string& why) {
    p.state = "stopping";
    p.dirty = true;
    p.queue_remove = true;
    s_.commands.push_back({.node_id = p.node_id,
                           .action = "container_remove",
                           .params_json = json{{"name", p.container_name}, {"force", true}}.dump(),
                           .idempotency_key = "placement:" + std::to_string(p.id) + ":remove",
                           .expires_in = std::chrono::hours(1),
                           .placement_id = p.id});
    ++r_.removes;
    decide({{"action", "container_remove"},
            {"placement_id", p.id},
            {"node_id", p.node_id},
            {"container", p.container_name},
            {"reason", why}});
  }

  void queue_start(Placement& p, const Deployment& d) {
    json ports = json::array();
    for (const auto& hp : p.ports) {
      ports.push_back({{"container_port", hp.container_port},
                       {"host_port", hp.host_port},
                       {"host_ip", p.host_ip},
                       {"protocol", hp.protocol}});
    }
    json params{{"name", p.container_name},
                {"image", d.image},
                {"cmd", d.command},
                {"env", json::parse(d.env_json)},
                {"ports", ports},
                // The agent refuses less than 6 MiB (Docker's floor).
                {"memory_mb", std::max<std::int64_t>(6, std::llround(d.memory_mb))},
                {"cpus", d.cpu_cores},
                {"labels", json::parse(d.labels_json)},
                {"deployment_id", d.id},
                {"placement_id", p.id}};
    p.queue_start = true;
    s_.commands.push_back({.node_id = p.node_id,
                           .action = "container_start",
                           .params_json = params.dump(),
                           .idempotency_key = "placement:" + std::to_string(p.id) + ":start",
                           .expires_in = o_.start_timeout,
                           .placement_id = p.id,
                           .is_start = true});
    ++r_.placements_made;
  }

  // Takes a placement out of its replica: removed at once when nothing runs, else its container
  // is removed now (node reachable) or when its node returns (lost).
  void retire(Placement& p, const std::string& why) {
    if (!p.current()) return;
    p.retired = true;
    p.dirty = true;
    if (p.state == "unplaced") {
      p.state = "removed";
      p.reason = why;
      return;
    }
    if (p.state == "stopping") return;
    if (reachable(p.node_id)) {
      queue_remove(p, why);
    } else {
      p.state = "lost";
      p.reason = why + "; its node is unreachable: removed when it returns";
    }
  }

  // ---- routes ----
  void switch_routes(const Placement& p, const Deployment& d) {
    const NodeView* n = node(p.node_id);
    for (const auto& port : d.ports) {
      RouteKey key{d.id, p.replica, port.container_port, port.protocol};
      int host_port = 0;
      for (const auto& hp : p.ports) {
        if (hp.container_port == port.container_port && hp.protocol == port.protocol)
          host_port = hp.host_port;
      }
      if (host_port == 0) continue;
      Route& r = s_.routes[key];
      r = {.placement_id = p.id,
           .node_id = p.node_id,
           .address = n ? n->address : "",
           .host_port = host_port,
           .dirty = true};
      ++r_.routes_changed;
      decide({{"action", "route"},
              {"service", service(d)},
              {"replica", p.replica},
              {"container_port", port.container_port},
              {"address", r.address},
              {"host_port", host_port},
              {"placement_id", p.id}});
    }
  }

  void drop_routes(std::int64_t deployment_id, std::optional<int> replica) {
    for (auto it = s_.routes.lower_bound({deployment_id, replica.value_or(0), 0, ""});
         it != s_.routes.end() && it->first.deployment_id == deployment_id; ++it) {
      auto& [key, route] = *it;
      if (replica && key.replica != *replica) break;
      if (route.removed) continue;
      route.removed = true;
      ++r_.routes_changed;
    }
  }

  bool route_points_to_running(const Deployment& d, int replica) {
    bool any = false;
    for (auto it = s_.routes.lower_bound({d.id, replica, 0, ""});
         it != s_.routes.end() && it->first.deployment_id == d.id && it->first.replica == replica;
         ++it) {
      const Route& route = it->second;
      if (route.removed) continue;
      any = true;
      const Placement* p = placement(route.placement_id);
      if (!p || !p->current() || p->state != "running") return false;
    }
    return any || d.ports.empty();
  }

  // ---- step 2: progress ----
  void progress() {
    for (std::size_t i = 0; i < s_.placements.size(); ++i) {
      Placement& p = s_.placements[i];
      if (p.state == "starting" && p.start) {
        if (p.start->done()) {
          p.state = "running";
          p.running_since = true;
          p.container_id = p.start->container_id;
          p.reason = "";
          p.dirty = true;
          on_running(p);
        } else if (p.start->failed()) {
          on_start_failed(p);
        }
      } else if (p.state == "stopping" && p.stop) {
        if (p.stop->done() || p.stop->failed()) {
          p.state = "removed";
          p.retired = true;
          p.reason = p.stop->done() ? p.reason
                                    : "container_remove " +
                                          std::string(p.stop->overdue ? "expired" : p.stop->state) +
                                          ": " + p.stop->error + " (left to the stale-copy check)";
          p.dirty = true;
          if (from_index_.empty()) {
            for (std::size_t k = 0; k < s_.migrations.size(); ++k)
              from_index_.emplace(s_.migrations[k].from_placement_id, k);
          }
          auto [lo, hi] = from_index_.equal_range(p.id);
          for (auto it = lo; it != hi; ++it) {
            Migration& m = s_.migrations[it->second];
            if (m.state == "cleanup") {
              step(m, "done", "old_removed",
                   "old container " + p.container_name + " removed from " + node_name(p.node_id));
              ++r_.migrations_done;
            }
          }
        }
      }
    }
  }

  void on_running(Placement& p) {
    auto dit = s_.deployments.find(p.deployment_id);
    if (dit == s_.deployments.end()) return;
    Deployment& d = dit->second;
    Migration* m = p.migration_id ? migration(p.migration_id) : nullptr;
    if (m && m->state == "starting" && m->to_placement_id == p.id) {
      switch_routes(p, d);
      step(*m, "switching", "running",
           "container " + p.container_name + " running on " + node_name(p.node_id) +
               "; route switched");
      ++r_.migrations_completed;
      Placement* old = placement(m->from_placement_id);
      if (old && old->current()) {
        old->retired = true;
        old->dirty = true;
        if (old->state != "stopping" && reachable(old->node_id)) {
          queue_remove(*old, "moved to " + node_name(p.node_id));
          step(*m, "cleanup", "remove_old",
               "container_remove queued on " + node_name(old->node_id));
        } else if (old->state == "stopping") {
          step(*m, "cleanup", "remove_old", "old container already being removed");
        } else {
          old->state = "lost";
          old->reason = "moved to " + node_name(p.node_id) +
                        "; its node is unreachable: removed when it returns";
          step(*m, "cleanup", "old_lost",
               node_name(old->node_id) + " unreachable: its container is removed when it returns");
        }
      } else {
        step(*m, "done", "old_gone", "the old placement is gone already");
        ++r_.migrations_done;
      }
      json payload = owners_payload(d);
      payload["migration_id"] = m->id;
      payload["replica"] = p.replica;
      payload["from_node"] = node_name(m->from_node_id);
      payload["to_node"] = node_name(p.node_id);
      const std::string title = service(d) + " replica " + std::to_string(p.replica) +
                                " moved from " + node_name(m->from_node_id) + " to " +
                                node_name(p.node_id);
      notify("migration.completed", "info", title, "container migrated: " + title, p.node_id,
             payload, "migration:" + std::to_string(m->id) + ":completed");
      return;
    }
    if (!route_points_to_running(d, p.replica)) switch_routes(p, d);
  }

  void on_start_failed(Placement& p) {
    const CommandView& c = *p.start;
    const std::string why =
        c.overdue || c.state == "expired"
            ? "container_start not done within " + seconds_text(o_.start_timeout)
            : "container_start " + c.state + ": " + c.error;
    p.state = "failed";
    p.reason = why.substr(0, 2000);
    p.dirty = true;
    decide({{"action", "start_failed"}, {"placement_id", p.id}, {"reason", p.reason}});
    Migration* m = p.migration_id ? migration(p.migration_id) : nullptr;
    if (!m || m->state != "starting" || m->to_placement_id != p.id) return;
    p.retired = true;  // not the replica's home: the old one still is
    m->avoid.push_back(p.node_id);
    if (after_start_failure(m->attempts, o_.max_start_attempts) == AfterStartFailure::kRetry) {
      step(*m, "pending", "retry",
           "start on " + node_name(p.node_id) + " failed (" + why + "); trying another node");
    } else {
      fail_migration(*m, "start on " + node_name(p.node_id) + " failed after " +
                             std::to_string(m->attempts) + " attempts: " + why);
    }
  }

  void fail_migration(Migration& m, const std::string& reason) {
    m.reason = reason.substr(0, 2000);
    step(m, "failed", "failed", reason);
    ++r_.migrations_failed;
    auto dit = s_.deployments.find(m.deployment_id);
    if (dit == s_.deployments.end()) return;
    const Deployment& d = dit->second;
    json payload = owners_payload(d);
    payload["migration_id"] = m.id;
    payload["replica"] = m.replica;
    payload["from_node"] = node_name(m.from_node_id);
    payload["reason"] = reason;
    notify("migration.failed", "warning",
           "migration of " + service(d) + " replica " + std::to_string(m.replica) + " from " +
               node_name(m.from_node_id) + " failed",
           reason, m.from_node_id, payload, "migration:" + std::to_string(m.id) + ":failed");
  }

  // ---- the cluster ----
  void build_cluster() {
    std::map<std::int64_t, placement::Node> nodes;
    for (const auto& [id, n] : s_.nodes) {
      placement::Node pn;
      pn.id = id;
      pn.site = n.site;
      pn.pool = n.pool;
      pn.schedulable = is_schedulable(n, s_.held_sites, o_);
      pn.capacity = {n.cpu_cores, n.memory_mb, n.disk_gb};
      pn.cpu_percent = n.cpu_percent;
      pn.memory_percent = n.memory_percent;
      pn.disk_percent = n.disk_percent;
      nodes[id] = std::move(pn);
    }
    for (const auto& p : s_.placements) {
      if (p.node_id == 0 || p.state == "removed" || p.state == "unplaced") continue;
      for (const auto& hp : p.ports)
        used_ports_[p.node_id].insert(hp.host_port);
      auto it = nodes.find(p.node_id);
      if (it == nodes.end() || p.state == "failed") continue;
      it->second.reserved.cpu_cores += p.cpu_cores;
      it->second.reserved.memory_mb += p.memory_mb;
      it->second.reserved.disk_gb += p.disk_gb;
      it->second.deployments.push_back(p.deployment_id);
      auto dit = s_.deployments.find(p.deployment_id);
      if (dit != s_.deployments.end() && !dit->second.anti_affinity_key.empty()) {
        it->second.anti_affinity_keys.push_back(std::to_string(dit->second.organization_id) + "/" +
                                                dit->second.anti_affinity_key);
      }
    }
    std::vector<placement::Node> list;
    list.reserve(nodes.size());
    for (auto& [id, n] : nodes)
      list.push_back(std::move(n));
    cluster_.emplace(std::move(list));
  }

  // Places one replica: a new placement `starting` with its container_start queued, or the reason
  // nothing fits. `reuse` is an unplaced placement of the replica to fill in.
  Placement* place(const Deployment& d, int replica, const std::vector<std::int64_t>& avoid,
                   std::int64_t migration_id, Placement* reuse, std::string& reason) {
    placement::Request req;
    req.deployment_id = d.id;
    req.replica = replica;
    req.organization_id = d.organization_id;
    req.pool = d.pool;
    req.need = {d.cpu_cores, d.memory_mb, d.disk_gb};
    req.anti_affinity_key = d.anti_affinity_key;
    req.avoid = avoid;
    placement::Choice choice = cluster_->place(req);
    if (!choice.placed()) {
      reason = choice.reason;
      ++r_.unplaceable;
      return nullptr;
    }
    auto ports = choose_host_ports(used_ports_[choice.node_id], o_.port_range, d.ports.size());
    if (!ports) {
      cluster_->release(choice.node_id, req);
      reason = "no free host port on " + node_name(choice.node_id) + " in " +
               std::to_string(o_.port_range.first) + "-" + std::to_string(o_.port_range.last);
      ++r_.unplaceable;
      return nullptr;
    }
    Placement* p = reuse;
    if (!p) {
      Placement fresh;
      fresh.id = ids_("placements");
      fresh.is_new = true;
      s_.placements.push_back(std::move(fresh));
      pidx_[s_.placements.back().id] = s_.placements.size() - 1;
      p = &s_.placements.back();
    }
    const NodeView* n = node(choice.node_id);
    p->deployment_id = d.id;
    p->replica = replica;
    p->node_id = choice.node_id;
    p->container_name = container_name(d.id, replica, p->id);
    p->state = "starting";
    p->reason = "";
    p->ports.clear();
    for (std::size_t i = 0; i < d.ports.size(); ++i) {
      p->ports.push_back({d.ports[i].container_port, (*ports)[i], d.ports[i].protocol});
      used_ports_[choice.node_id].insert((*ports)[i]);
    }
    p->host_ip =
        o_.publish_on == "node_address" && n && !n->address.empty() ? n->address : "0.0.0.0";
    p->cpu_cores = d.cpu_cores;
    p->memory_mb = d.memory_mb;
    p->disk_gb = d.disk_gb;
    p->migration_id = migration_id;
    p->dirty = true;
    queue_start(*p, d);
    decide({{"action", "place"},
            {"service", service(d)},
            {"replica", replica},
            {"node_id", choice.node_id},
            {"node", node_name(choice.node_id)},
            {"score", choice.score},
            {"placement_id", p->id},
            {"container", p->container_name},
            {"migration_id", migration_id}});
    return p;
  }

  // ---- step 3: deployments ----
  bool in_flight_migration(std::int64_t deployment_id, int replica) const {
    auto it = migrations_of_.find(deployment_id);
    if (it == migrations_of_.end()) return false;
    for (std::size_t i : it->second) {
      const Migration& m = s_.migrations[i];
      if (m.replica == replica &&
          (m.state == "pending" || m.state == "starting" || m.state == "switching"))
        return true;
    }
    return false;
  }

  void cancel_migrations(std::int64_t deployment_id, std::optional<int> replica,
                         const std::string& why) {
    auto mit = migrations_of_.find(deployment_id);
    if (mit == migrations_of_.end()) return;
    for (std::size_t i : mit->second) {
      Migration& m = s_.migrations[i];
      if (replica && m.replica != *replica) continue;
      // A move already starting is cancelled too: its new placement is retired with the rest.
      if (m.state == "pending" || m.state == "awaiting_approval" || m.state == "starting")
        step(m, "cancelled", "cancelled", why);
    }
  }

  void deployments() {
    // Indexes by deployment (placements appended below are never looked up here again).
    std::map<std::int64_t, std::vector<std::size_t>> placements_of;
    for (std::size_t i = 0; i < s_.placements.size(); ++i)
      placements_of[s_.placements[i].deployment_id].push_back(i);
    migrations_of_.clear();
    for (std::size_t i = 0; i < s_.migrations.size(); ++i)
      migrations_of_[s_.migrations[i].deployment_id].push_back(i);
    static const std::vector<std::size_t> kNone;
    for (auto& [id, d] : s_.deployments) {
      auto pit = placements_of.find(id);
      const std::vector<std::size_t>& mine = pit == placements_of.end() ? kNone : pit->second;
      std::map<int, std::vector<std::size_t>> by_replica;
      for (std::size_t i : mine) {
        const Placement& p = s_.placements[i];
        if (p.current()) by_replica[p.replica].push_back(i);
      }
      if (d.state == "deleting") {
        cancel_migrations(id, std::nullopt, "deployment deleted");
        for (auto& [replica, list] : by_replica) {
          for (std::size_t i : list)
            retire(s_.placements[i], "deployment deleted");
        }
        drop_routes(id, std::nullopt);
        const bool any_left = std::any_of(mine.begin(), mine.end(), [&](std::size_t i) {
          return s_.placements[i].state != "removed";
        });
        if (!any_left) {
          d.state = "deleted";
          d.dirty = true;
          decide({{"action", "deployment_deleted"}, {"deployment_id", id}});
        }
        continue;
      }
      if (d.state != "active") continue;
      for (int replica = 0; replica < d.replicas; ++replica) {
        auto it = by_replica.find(replica);
        if (it == by_replica.end() || it->second.empty()) {
          place_replica(d, replica, nullptr);
          continue;
        }
        Placement* unplaced = nullptr;
        bool healthy = false;
        std::vector<std::size_t> failed;
        for (std::size_t i : it->second) {
          Placement& p = s_.placements[i];
          if (p.state == "unplaced") {
            unplaced = &p;
          } else if (p.state == "failed" || (p.state == "lost" && !reachable(p.node_id))) {
            // Its start failed, or it was lost with its node and no move brought it elsewhere
            // (the move failed): placed again, after retry_failed_after.
            failed.push_back(i);
          } else {
            healthy = true;
          }
        }
        if (unplaced) {
          place_replica(d, replica, unplaced);
        } else if (!healthy && !failed.empty() && !in_flight_migration(id, replica)) {
          bool due = true;
          for (std::size_t i : failed)
            due = due && s_.placements[i].age >= o_.retry_failed_after;
          if (!due) continue;  // retried by a later cycle
          // Not on the node where it just failed (an unplaced retry next cycle may use it again).
          std::vector<std::int64_t> avoid;
          for (std::size_t i : failed)
            avoid.push_back(s_.placements[i].node_id);
          for (std::size_t i : failed) {
            retire(s_.placements[i], s_.placements[i].state == "lost"
                                         ? "replaced: its node is gone and its move failed"
                                         : "replaced after its start failed");
          }
          place_replica(d, replica, nullptr, avoid);
        }
      }
      for (auto& [replica, list] : by_replica) {
        if (replica < d.replicas) continue;
        cancel_migrations(id, replica, "replica scaled away");
        for (std::size_t i : list)
          retire(s_.placements[i], "scaled down to " + std::to_string(d.replicas) + " replicas");
        drop_routes(id, replica);
      }
    }
  }

  void place_replica(Deployment& d, int replica, Placement* unplaced,
                     const std::vector<std::int64_t>& avoid = {}) {
    std::string reason;
    const std::size_t index =
        unplaced ? static_cast<std::size_t>(unplaced - s_.placements.data()) : s_.placements.size();
    Placement* p = place(d, replica, avoid, 0, unplaced, reason);
    if (p) return;
    if (index < s_.placements.size()) {
      Placement& u = s_.placements[index];
      if (u.reason != reason) {
        u.reason = reason;
        u.dirty = true;
      }
    } else {
      Placement u;
      u.id = ids_("placements");
      u.is_new = true;
      u.dirty = true;
      u.deployment_id = d.id;
      u.replica = replica;
      u.state = "unplaced";
      u.reason = reason;
      u.cpu_cores = d.cpu_cores;
      u.memory_mb = d.memory_mb;
      u.disk_gb = d.disk_gb;
      s_.placements.push_back(std::move(u));
      pidx_[s_.placements.back().id] = s_.placements.size() - 1;
    }
    decide({{"action", "unplaced"},
            {"service", service(d)},
            {"replica", replica},
            {"reason", reason}});
  }

  // ---- step 4: failed nodes and plan decisions ----
  std::map<std::int64_t, std::vector<std::size_t>> placements_by_node() const {
    std::map<std::int64_t, std::vector<std::size_t>> out;
    for (std::size_t i = 0; i < s_.placements.size(); ++i)
      if (s_.placements[i].node_id != 0) out[s_.placements[i].node_id].push_back(i);
    return out;
  }

  void failed_nodes() {
    const auto on_node = placements_by_node();
    for (const auto& [node_id, n] : s_.nodes) {
      auto trigger = failure_trigger(n, o_);
      if (!trigger) continue;
      auto oit = on_node.find(node_id);
      if (oit == on_node.end()) continue;
      // Current placements on the node, per organisation.
      std::map<std::int64_t, std::vector<std::size_t>> by_org;
      for (std::size_t i : oit->second) {
        const Placement& p = s_.placements[i];
        if (!p.current() || p.state == "unplaced") continue;
        auto dit = s_.deployments.find(p.deployment_id);
        if (dit == s_.deployments.end() || dit->second.state != "active") continue;
        by_org[dit->second.organization_id].push_back(i);
      }
      if (by_org.empty()) continue;
      if (s_.held_sites.count(n.site)) {
        ++r_.held_nodes;
        decide({{"action", "held"},
                {"node_id", node_id},
                {"node", n.name},
                {"site", n.site},
                {"reason", "site '" + n.site + "' is held as unreachable: no migration"}});
        continue;
      }
      for (const auto& [org_id, list] : by_org) {
        auto lp = s_.latest_plans.find({node_id, org_id});
        if (lp != s_.latest_plans.end() &&
            (lp->second.during_outage || lp->second.state == "awaiting_approval" ||
             lp->second.state == "executing"))
          continue;
        open_plan(n, *trigger, org_id, list);
      }
    }
    // Plans decided by the API, and nodes that came back.
    std::map<std::int64_t, std::vector<Migration*>> by_plan;
    for (auto& m : s_.migrations)
      by_plan[m.plan_id].push_back(&m);
    for (auto& [plan_id, plan] : s_.plans) {
      const NodeView* n = node(plan.node_id);
      const bool back = n && is_reachable(*n, o_) && n->status != "draining";
      const std::vector<Migration*>& ms = by_plan[plan_id];
      if (plan.state == "awaiting_approval" && back) {
        plan.state = "cancelled";
        plan.dirty = plan.finished = true;
        plan.reason = (plan.reason + "; cancelled: " + n->name + " came back").substr(0, 2000);
        for (Migration* m : ms)
          if (m->state == "awaiting_approval")
            step(*m, "cancelled", "cancelled", n->name + " came back before approval");
        decide({{"action", "plan_cancelled"}, {"plan_id", plan_id}, {"node", n->name}});
        continue;
      }
      for (Migration* m : ms) {
        if (plan.state == "executing" && m->state == "awaiting_approval") {
          step(*m, "pending", "approved", "plan approved");
        } else if (plan.state == "rejected" && m->state == "awaiting_approval") {
          step(*m, "rejected", "rejected", "plan rejected");
        } else if (plan.state == "cancelled" && m->state == "awaiting_approval") {
          step(*m, "cancelled", "cancelled", "plan cancelled");
        }
        if (plan.state == "executing" && back && m->state == "pending") {
          step(*m, "cancelled", "cancelled", n->name + " came back before the move started");
        }
      }
    }
  }

  void open_plan(const NodeView& n, const std::string& trigger, std::int64_t org_id,
                 const std::vector<std::size_t>& list) {
    auto oit = s_.organizations.find(org_id);
    if (oit == s_.organizations.end()) return;
    const Organization& org = oit->second;
    Plan plan;
    plan.id = ids_("migration_plans");
    plan.is_new = plan.dirty = true;
    plan.node_id = n.id;
    plan.organization_id = org_id;
    plan.trigger = trigger;
    plan.policy = org.policy;
    plan.state = org.policy == "automatic" ? "executing"
                 : org.policy == "manual"  ? "awaiting_approval"
                                           : "recorded";
    plan.reason = trigger == "offline" ? n.name + " offline for " + seconds_text(n.status_age) +
                                             " (grace " + seconds_text(o_.offline_grace) + ")"
                                       : n.name + " draining";
    const std::string mstate = org.policy == "automatic" ? "pending"
                               : org.policy == "manual"  ? "awaiting_approval"
                                                         : "recorded";
    for (std::size_t i : list) {
      const Placement& p = s_.placements[i];
      Migration m;
      m.id = ids_("migrations");
      m.is_new = m.dirty = true;
      m.plan_id = plan.id;
      m.deployment_id = p.deployment_id;
      m.replica = p.replica;
      m.from_node_id = n.id;
      m.from_placement_id = p.id;
      m.state = mstate;
      m.reason = plan.reason;
      m.new_steps.push_back({"planned", plan.reason + "; policy " + org.policy});
      s_.migrations.push_back(std::move(m));
      midx_[s_.migrations.back().id] = s_.migrations.size() - 1;
    }
    ++r_.plans_opened;
    decide({{"action", "plan"},
            {"plan_id", plan.id},
            {"node", n.name},
            {"organization", org.name},
            {"policy", org.policy},
            {"state", plan.state},
            {"moves", list.size()},
            {"reason", plan.reason}});
    json payload{{"organization_id", org_id}, {"plan_id", plan.id},
                 {"node_id", n.id},           {"node", n.name},
                 {"containers", list.size()}, {"owners", org.owners}};
    const std::string count = std::to_string(list.size()) + " container" +
                              (list.size() == 1 ? "" : "s") + " of " + org.name;
    if (org.policy == "manual") {
      notify("migration.approval_required", "warning",
             "manual migration required for " + n.name + ": " + count,
             plan.reason + ". Approve or reject the plan.", n.id, payload,
             "plan:" + std::to_string(plan.id) + ":approval_required");
    } else if (org.policy == "none") {
      notify("migration.recorded", "info",
             n.name + " failed: " + count + " not moved (policy none)",
             plan.reason + ". The organisation's policy is none: the plan is recorded only.", n.id,
             payload, "plan:" + std::to_string(plan.id) + ":recorded");
    }
    s_.latest_plans[{n.id, org_id}] = {.state = plan.state, .during_outage = true};
    s_.plans[plan.id] = std::move(plan);
  }

  // ---- step 5: execute pending moves ----
  void execute() {
    int allowed = moves_allowed(o_.max_moves_per_minute, s_.moves_last_minute);
    std::map<std::int64_t, int> moving;
    for (const auto& m : s_.migrations)
      if (m.state == "starting" || m.state == "switching") ++moving[m.deployment_id];
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < s_.migrations.size(); ++i)
      if (s_.migrations[i].state == "pending") pending.push_back(i);
    std::sort(pending.begin(), pending.end(), [&](std::size_t a, std::size_t b) {
      return s_.migrations[a].id < s_.migrations[b].id;
    });
    for (std::size_t i : pending) {
      Migration& m = s_.migrations[i];
      auto dit = s_.deployments.find(m.deployment_id);
      if (dit == s_.deployments.end() || dit->second.state != "active") {
        step(m, "cancelled", "cancelled", "deployment deleted");
        continue;
      }
      Deployment& d = dit->second;
      Placement* old = placement(m.from_placement_id);
      if (!old || !old->current()) {
        step(m, "cancelled", "cancelled", "the replica no longer runs there");
        continue;
      }
      const NodeView* from = node(m.from_node_id);
      if (from && s_.held_sites.count(from->site)) {
        ++r_.held_nodes;
        continue;  // partition hold: waits for the site to clear
      }
      if (allowed <= 0) {
        ++r_.rate_limited;  // the window slides: a regular cycle starts them, no hurry
        continue;
      }
      if (disruption_room(d.max_unavailable, moving[d.id]) <= 0) {
        ++r_.rate_limited;
        continue;
      }
      std::vector<std::int64_t> avoid = m.avoid;
      avoid.push_back(m.from_node_id);
      std::string reason;
      Placement* p = place(d, m.replica, avoid, m.id, nullptr, reason);
      if (!p) {
        fail_migration(m, reason);
        continue;
      }
      --allowed;
      ++moving[d.id];
      ++r_.migrations_started;
      m.to_node_id = p->node_id;
      m.to_placement_id = p->id;
      ++m.attempts;
      m.started = true;
      step(m, "starting", "start",
           "container_start " + p->container_name + " queued on " + node_name(p->node_id));
      old = placement(m.from_placement_id);  // place() may have grown the vector
      if (from && from->status != "draining" && old->state != "stopping" && old->state != "lost") {
        old->state = "lost";
        old->reason = node_name(m.from_node_id) + " is offline";
        old->dirty = true;
      }
    }
  }

  // ---- step 6: stale copies and returned nodes ----
  void stale_copies() {
    const auto on_node = placements_by_node();
    static const std::vector<std::size_t> kNone;
    for (const auto& [node_id, n] : s_.nodes) {
      if (!is_reachable(n, o_)) continue;
      auto oit = on_node.find(node_id);
      const std::vector<std::size_t>& mine = oit == on_node.end() ? kNone : oit->second;
      std::set<std::string> keep, keep_names;
      for (std::size_t i : mine) {
        const Placement& p = s_.placements[i];
        if (p.current() || p.state == "stopping") {
          keep.insert(std::to_string(p.id));
          keep_names.insert(p.container_name);
        }
      }
      for (std::size_t i : mine) {
        Placement& p = s_.placements[i];
        if (p.state == "lost")
          queue_remove(p, n.name + " is reachable again: its copy must not run twice");
      }
      for (const auto& name : stale_containers(n, keep, keep_names)) {
        s_.commands.push_back({.node_id = node_id,
                               .action = "container_remove",
                               .params_json = json{{"name", name}, {"force", true}}.dump(),
                               .idempotency_key = "stale:" + std::to_string(node_id) + ":" + name,
                               .expires_in = std::chrono::hours(1)});
        ++r_.stale_removes;
        decide({{"action", "container_remove"},
                {"node_id", node_id},
                {"container", name},
                {"reason", "stale copy: not a current placement on " + n.name}});
      }
    }
  }

  // ---- step 7: plans finish ----
  void finish_plans() {
    std::map<std::int64_t, std::vector<const Migration*>> by_plan;
    for (const auto& m : s_.migrations)
      by_plan[m.plan_id].push_back(&m);
    for (auto& [plan_id, plan] : s_.plans) {
      if (plan.state != "executing" && !plan.dirty) continue;
      int moves = 0, moved = 0, failed = 0, open = 0, cancelled = 0, done = 0;
      for (const Migration* mp : by_plan[plan_id]) {
        const Migration& m = *mp;
        ++moves;
        if (m.state == "done") ++done;
        if (m.state == "done" || m.state == "cleanup" || m.state == "switching") ++moved;
        if (m.state == "failed") ++failed;
        if (m.state == "cancelled" || m.state == "rejected") ++cancelled;
        if (m.state == "pending" || m.state == "starting" || m.state == "awaiting_approval") ++open;
      }
      const std::string summary =
          json{{"moves", moves},   {"moved", moved},         {"done", done},
               {"failed", failed}, {"cancelled", cancelled}, {"pending", open}}
              .dump();
      if (summary != plan.summary_json) {
        plan.summary_json = summary;
        plan.dirty = true;
      }
      if (plan.state != "executing" || open > 0) continue;
      plan.state = moved == 0 && failed == 0 ? "cancelled" : failed > 0 ? "failed" : "done";
      plan.finished = plan.dirty = true;
      decide({{"action", "plan_finished"},
              {"plan_id", plan_id},
              {"state", plan.state},
              {"moved", moved},
              {"failed", failed}});
      if (moved + failed == 0) continue;
      const std::string name = node_name(plan.node_id);
      json payload{{"audience", "admins"},
                   {"plan_id", plan_id},
                   {"node_id", plan.node_id},
                   {"node", name},
                   {"organization_id", plan.organization_id},
                   {"moved", moved},
                   {"failed", failed}};
      notify("migration.node_summary", failed > 0 ? "critical" : "warning",
             name + " " + (plan.trigger == "draining" ? "drained" : "failed") + ": " +
                 std::to_string(moved) + " moved, " + std::to_string(failed) + " failed",
             plan.reason, plan.node_id, payload,
             "plan:" + std::to_string(plan_id) + ":node_summary");
    }
  }

  Snapshot& s_;
  const PlannerOptions& o_;
  const IdSource& ids_;
  EngineResult r_;
  std::map<std::int64_t, std::size_t> pidx_, midx_;
  std::map<std::int64_t, std::vector<std::size_t>> migrations_of_;  // by deployment
  std::multimap<std::int64_t, std::size_t> from_index_;  // migrations by from_placement_id
  std::map<std::int64_t, std::set<int>> used_ports_;
  std::optional<placement::Cluster> cluster_;
};

}  // namespace

EngineResult run_engine(Snapshot& snapshot, const PlannerOptions& options, const IdSource& ids) {
  return Engine(snapshot, options, ids).run();
}

}  // namespace fleet::planner
