// Route registration, one function per area of the API.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <optional>

#include "authenticator.h"
#include "heartbeat_batcher.h"
#include "hiveos_options.h"
#include "node_admin_options.h"
#include "node_ingest.h"
#include "router.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"

namespace pqxx {
class transaction_base;
}

namespace fleet::gateway {

void add_auth_routes(Router& router, Authenticator& auth);
void add_fleet_routes(Router& router);  // workers, fleet summary, services, readings, audit
class MinerListModel;
// Miners, models, statuses, chip telemetry (seed 003). Without a secret box, unlock passwords
// cannot be stored (503). With `in_memory`, list pages come from it while it is current.
void add_miner_routes(Router& router, const std::optional<secrets::SecretBox>& box,
                      const MinerListModel* in_memory = nullptr);
// Rules, the metric catalogue (issue 3's engine); alerts and silences; manual commands.
void add_rule_routes(Router& router);
void add_alert_routes(Router& router);
void add_command_routes(Router& router);
// Relay controllers and workers' relay mappings (issue 10).
void add_relay_routes(Router& router);
// HiveOS accounts (issue 11): add (token checked with HiveOS), list, show, change, delete.
void add_hiveos_routes(Router& router, const std::optional<secrets::SecretBox>& box,
                       HiveosAccountOptions options);
// Container host nodes, the operator's side (issue 13): registration tokens, the install script
// and agent download, node lists, detail, drain/undrain/revoke/remove, stats, status history.
void add_node_admin_routes(Router& router, const NodeAdminOptions& options);
void add_node_token_routes(Router& router, const NodeAdminOptions& options);
// What node agents call (issue 13): registration, heartbeats, credential rotation, commands.
void add_node_agent_routes(Router& router, Authenticator& authenticator, HeartbeatBatcher& batcher,
                           const NodeIngestOptions& options);
// Organisations, deployments, routes, migration plans and migrations (issue 14).
void add_deployment_routes(Router& router);
// HiveOS workers: the rigs list and totals (issue 11).
void add_rig_routes(Router& router);
// Notifications (issue 12): channels (admin; secrets sealed, never returned) with "send a test",
// routes and subscriptions, and what the notifier did (notifications, messages, retry now).
// `resolves` decides whether a channel's host resolves (notification_config.h).
void add_notification_channel_routes(Router& router, const std::optional<secrets::SecretBox>& box,
                                     std::function<bool(const std::string&)> resolves);
void add_notification_route_routes(Router& router);
void add_notification_message_routes(Router& router);
void add_probe_routes(Router& router, const runtime::Setup& setup);
void add_openapi_route(Router& router, std::string version);

// Common OpenAPI fragments.
nlohmann::json page_schema(const nlohmann::json& item);
// {"items", "total", "limit", "offset"} of `item`.
nlohmann::json offset_page_schema(const nlohmann::json& item);
// An ILIKE pattern matching `text` anywhere, with %, _ and \ taken literally.
std::string like_pattern(const std::string& text);
// One of workers.status's values.
bool is_worker_status(const std::string& status);
nlohmann::json query_param(const char* name, const char* type, const char* description);

// A HiveOS worker's detail (rigs row: ids, platform, versions, GPUs, boards, hashrates,
// problems, stats_time, stale, account), or null when it has none.
nlohmann::json hiveos_rig_of(pqxx::transaction_base& tx, std::int64_t worker_id);

// A worker's relay mapping as the API shows it, or null when it has none.
nlohmann::json relay_mapping_of(pqxx::transaction_base& tx, std::int64_t worker_id);

}  // namespace fleet::gateway
