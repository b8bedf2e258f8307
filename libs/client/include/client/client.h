// A typed C++ client for the fleetward REST API (docs/client.md): API key or login, typed
// results, keyset paging with an auto-paging range, and an exception hierarchy (client/errors.h).
//
//   auto client = fleet::client::Client(fleet::client::from_environment());
//   for (const auto& m : client.miners().all({.online = false})) std::cout << m.mac << "\n";
//
// Every call throws a client::Error subclass on failure. A Client is not safe for concurrent
// use: give each thread its own. The resource objects (client.miners(), ...) are cheap views that
// must not outlive their Client.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/alerting_types.h"
#include "client/deployment_types.h"
#include "client/errors.h"
#include "client/hiveos_types.h"
#include "client/node_types.h"
#include "client/notify_types.h"
#include "client/options.h"
#include "client/paging.h"
#include "client/relay_types.h"
#include "client/types.h"

namespace fleet::client {

class Session;  // the connection, credentials and retries (src/session.h)

struct WorkerFilter {
  std::optional<std::string> kind;
  std::optional<std::string> status;
  std::optional<std::int64_t> farm_id;
  std::optional<std::string> label;  // "key:value"
  std::optional<std::string> q;      // name contains
  int limit = 0;                     // page size 1..1000; 0 = the server's default (100)
};

struct MinerFilter {
  std::optional<bool> managed;
  std::optional<bool> online;
  std::optional<std::string> model;  // alias
  std::optional<std::string> q;      // MAC, IP or name contains
  int limit = 0;
};

struct AlertFilter {
  std::optional<std::string> state;  // open, pending, firing, resolved
  std::optional<std::string> severity;
  std::optional<std::int64_t> worker_id;
  std::optional<std::int64_t> rule_id;
  int limit = 0;
};

struct CommandFilter {
  std::optional<std::int64_t> worker_id;
  std::optional<std::string> state;
  std::optional<std::string> origin;
  int limit = 0;
};

class WorkersApi {
 public:
  explicit WorkersApi(Session& s) : s_(s) {}
  Page<Worker> page(const WorkerFilter& filter = {}, const std::optional<std::string>& after = {});
  PageRange<Worker> all(const WorkerFilter& filter = {});
  WorkerDetail get(std::int64_t id);
  Worker update(std::int64_t id, const WorkerChange& change);

 private:
  Session& s_;
};

class MinersApi {
 public:
  explicit MinersApi(Session& s) : s_(s) {}
  Page<Miner> page(const MinerFilter& filter = {}, const std::optional<std::string>& after = {});
  PageRange<Miner> all(const MinerFilter& filter = {});
  Miner get(std::int64_t id);
  Miner set_managed(std::int64_t id, bool managed);
  // nullopt resets it to the configured default.
  Miner set_unlock_password(std::int64_t id, const std::optional<std::string>& password);
  // Asks discovery to look at the miner again; returns the request id.
  std::int64_t rescan(std::int64_t id);

 private:
  Session& s_;
};

class ModelsApi {
 public:
  explicit ModelsApi(Session& s) : s_(s) {}
  std::vector<Model> list();
  // nullopt clears it. A preset the model does not have is a ValidationError (field max_preset).
  void set_max_preset(const std::string& alias, const std::optional<std::string>& preset);

 private:
  Session& s_;
};

class RulesApi {
 public:
  explicit RulesApi(Session& s) : s_(s) {}
  std::vector<Rule> list();
  Rule get(std::int64_t id);
  Rule create(const RuleDraft& draft);
  Rule create_json(const std::string& json);  // the API's rule JSON (docs/rules.md)
  Rule update(std::int64_t id, const RuleDraft& change);
  Rule update_json(std::int64_t id, const std::string& json);
  void remove(std::int64_t id);
  ConditionCheck validate(const std::string& condition,
                          const std::optional<std::string>& clear_condition = {});
  RuleTestResult test(const std::string& condition, const std::optional<RuleScope>& scope = {});

 private:
  Session& s_;
};

class AlertsApi {
 public:
  explicit AlertsApi(Session& s) : s_(s) {}
  Page<Alert> page(const AlertFilter& filter = {}, const std::optional<std::string>& after = {});
  PageRange<Alert> all(const AlertFilter& filter = {});
  Alert get(std::int64_t id);  // with its events
  Alert acknowledge(std::int64_t id);

 private:
  Session& s_;
};

class SilencesApi {
 public:
  explicit SilencesApi(Session& s) : s_(s) {}
  // Active and scheduled silences; with include_ended, ended ones too.
  std::vector<Silence> list(bool include_ended = false);
  Silence create(const SilenceRequest& request);
  Silence end(std::int64_t id);

 private:
  Session& s_;
};

class CommandsApi {
 public:
  explicit CommandsApi(Session& s) : s_(s) {}
  // Queues an action on a worker. Safe to retry: an Idempotency-Key is always sent.
  Command queue(std::int64_t worker_id, const CommandRequest& request);
  Page<Command> page(const CommandFilter& filter = {},
                     const std::optional<std::string>& after = {});
  PageRange<Command> all(const CommandFilter& filter = {});
  Command get(std::int64_t id);
  Command cancel(std::int64_t id);

 private:
  Session& s_;
};

// Relay controllers (admins change them) and workers' relay mappings (operators).
class RelaysApi {
 public:
  explicit RelaysApi(Session& s) : s_(s) {}
  std::vector<RelayController> controllers();
  RelayController controller(std::int64_t id);
  // By id when `name_or_id` is all digits and such a controller exists, else by name; throws
  // NotFoundError when there is none.
  RelayController find_controller(const std::string& name_or_id);
  RelayController create_controller(const RelayControllerDraft& draft);
  RelayController update_controller(std::int64_t id, const RelayControllerDraft& change);
  // A ConflictError naming the mapped workers while any are mapped.
  void remove_controller(std::int64_t id);
  // Every mapping (optionally of one controller), by controller and channel.
  std::vector<RelayMapping> mappings(std::optional<std::int64_t> controller_id = {});
  // nullopt when the worker has no mapping (NotFoundError when the worker does not exist).
  std::optional<RelayMapping> mapping(std::int64_t worker_id);
  // Maps (or re-maps) a worker; ConflictError when another worker has the channel.
  RelayMapping map(std::int64_t worker_id, const RelayMappingRequest& request);
  void unmap(std::int64_t worker_id);

 private:
  Session& s_;
};

// Notification channels and routes (admins), subscriptions (each user their own), the messages
// the notifier sent and "retry now" (operators) (issue 12).
struct MessageFilter {
  std::optional<std::string> state;  // pending | sending | retrying | delivered | dead
  std::optional<std::int64_t> channel_id;
  int limit = 50;  // newest first, at most 500
};

class NotificationsApi {
 public:
  explicit NotificationsApi(Session& s) : s_(s) {}
  std::vector<NotificationChannel> channels();
  NotificationChannel channel(std::int64_t id);
  // A ValidationError naming the field (e.g. config.url) when the server refuses it.
  NotificationChannel create_channel(const NotificationChannelDraft& draft);
  NotificationChannel update_channel(std::int64_t id, const NotificationChannelDraft& change);
  void remove_channel(std::int64_t id);
  // Writes a notifier.test notification for the channel; returns its id.
  std::int64_t test_channel(std::int64_t id);
  std::vector<NotificationRecord> routes();
  NotificationRecord create_route(const std::string& route_json);
  void remove_route(std::int64_t id);
  std::vector<NotificationRecord> subscriptions();
  NotificationRecord subscribe(const std::string& subscription_json);
  void unsubscribe(std::int64_t id);
  std::vector<NotificationMessage> messages(const MessageFilter& filter = {});
  NotificationMessage message(std::int64_t id);
  // A dead or retrying message is sent again now (ConflictError in other states).
  NotificationMessage retry(std::int64_t id);

 private:
  Session& s_;
};

// HiveOS accounts (issue 11): everyone reads; operators add and change them (the token is
// checked with HiveOS: a rejected one is an InvalidArgument-style error naming "token"); admins
// turn exec on and delete accounts.
class HiveosApi {
 public:
  explicit HiveosApi(Session& s) : s_(s) {}
  std::vector<HiveosAccount> accounts();
  HiveosAccount account(std::int64_t id);
  // By id when `name_or_id` is all digits and such an account exists, else by name; throws
  // NotFoundError when there is none.
  HiveosAccount find_account(const std::string& name_or_id);
  HiveosAccount add(const HiveosAccountDraft& draft);
  HiveosAccount update(std::int64_t id, const HiveosAccountDraft& change);
  // Returns how many workers became 'removed' with it.
  std::int64_t remove(std::int64_t id);

 private:
  Session& s_;
};

// Container host nodes (issue 13): everyone reads; operators drain; admins revoke, remove and
// manage registration tokens.
class NodesApi {
 public:
  explicit NodesApi(Session& s) : s_(s) {}
  NodePage page(const NodeFilter& filter = {});
  // Every node the filter matches, page after page.
  std::vector<Node> all(NodeFilter filter = {});
  Node get(std::int64_t id);  // the detail: raw also holds host facts and the container list
  std::vector<StatusChange> history(std::int64_t id, int limit = 0);  // newest first
  NodeStats stats();
  // A ConflictError when the node is removed or (drain) already draining / (undrain) not.
  Node drain(std::int64_t id, const std::string& reason = "");
  Node undrain(std::int64_t id, const std::string& reason = "");
  Node revoke_credential(std::int64_t id);
  // A ConflictError (field "force") while deployment containers remain, unless kForce.
  Node remove(std::int64_t id, NodeRemoval removal = NodeRemoval::kRefuseWithDeployments);

  // The returned token's `token` and `install_command` are shown only this once.
  RegistrationToken create_token(const RegistrationTokenRequest& request);
  std::vector<RegistrationToken> tokens();  // newest first, every page
  RegistrationToken revoke_token(std::int64_t id);

 private:
  Session& s_;
};

// Organisations (issue 14): everyone reads; admins create, change, delete and manage members.
class OrganizationsApi {
 public:
  explicit OrganizationsApi(Session& s) : s_(s) {}
  OffsetPage<Organization> page(const std::optional<std::string>& q = {}, int limit = 0,
                                std::int64_t offset = 0);
  std::vector<Organization> all();  // by name, every page
  Organization get(std::int64_t id);
  // A ConflictError (field "name") when the name is taken.
  Organization create(const OrganizationRequest& request);
  Organization change(std::int64_t id, const OrganizationChange& change);
  // A ConflictError (field "deployments") while deployments that are not deleted remain.
  void remove(std::int64_t id);
  // role: owner or member.
  Organization set_member(std::int64_t id, std::int64_t user_id, const std::string& role);
  Organization remove_member(std::int64_t id, std::int64_t user_id);

 private:
  Session& s_;
};

// Deployments and their routes (issue 14): everyone reads; operators create, change, delete.
class DeploymentsApi {
 public:
  explicit DeploymentsApi(Session& s) : s_(s) {}
  OffsetPage<Deployment> page(const DeploymentFilter& filter = {});
  std::vector<Deployment> all(DeploymentFilter filter = {});  // every page
  DeploymentDetail get(std::int64_t id);
  // A ConflictError (field "name") when the organisation has a deployment of that name.
  DeploymentDetail create(const DeploymentRequest& request);
  // A ConflictError (field "state") unless the deployment is active.
  DeploymentDetail change(std::int64_t id, const DeploymentChange& change);
  // State deleting: migration-planner stops and removes its containers.
  DeploymentDetail remove(std::int64_t id);
  std::vector<Route> routes(std::optional<std::int64_t> deployment_id = {});
  // The routes as a file a reverse proxy loads (the file's text).
  std::string route_file(RouteFileFormat format);

 private:
  Session& s_;
};

// Migration plans and migrations (issue 14): everyone reads; operators approve and reject.
class MigrationsApi {
 public:
  explicit MigrationsApi(Session& s) : s_(s) {}
  OffsetPage<MigrationPlan> plans(const PlanFilter& filter = {});
  MigrationPlan plan(std::int64_t id);  // with its migrations and their steps
  // A ConflictError (field "state") unless the plan awaits approval.
  MigrationPlan approve(std::int64_t id, const std::string& note = "");
  MigrationPlan reject(std::int64_t id, const std::string& note = "");
  OffsetPage<Migration> page(const MigrationFilter& filter = {});
  Migration get(std::int64_t id);  // with its steps

 private:
  Session& s_;
};

class UsersApi {  // admin
 public:
  explicit UsersApi(Session& s) : s_(s) {}
  std::vector<User> list();
  User create(const std::string& username, const std::string& password, const std::string& role);
  User set_role(std::int64_t id, const std::string& role);
  User set_disabled(std::int64_t id, bool disabled);
  void remove(std::int64_t id);

 private:
  Session& s_;
};

class KeysApi {
 public:
  explicit KeysApi(Session& s) : s_(s) {}
  std::vector<ApiKey> list();
  // The returned key's `key` holds the secret, shown only this once. Needs a login session.
  ApiKey create(const std::string& name, const std::optional<std::string>& role = {},
                std::optional<int> expires_in_days = {});
  void revoke(std::int64_t id);

 private:
  Session& s_;
};

class Client {
 public:
  // Checks the options (throws ConfigurationError); connects on the first call.
  explicit Client(ClientOptions options);
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Logs in now with these credentials (they replace the options'); later calls use the token.
  void login(const std::string& username, const std::string& password);
  // Revokes the session token (no-op with an API key).
  void logout();
  Identity me();

  WorkersApi workers() { return WorkersApi(*session_); }
  MinersApi miners() { return MinersApi(*session_); }
  ModelsApi models() { return ModelsApi(*session_); }
  RulesApi rules() { return RulesApi(*session_); }
  AlertsApi alerts() { return AlertsApi(*session_); }
  SilencesApi silences() { return SilencesApi(*session_); }
  CommandsApi commands() { return CommandsApi(*session_); }
  RelaysApi relays() { return RelaysApi(*session_); }
  NotificationsApi notifications() { return NotificationsApi(*session_); }
  HiveosApi hiveos() { return HiveosApi(*session_); }
  NodesApi nodes() { return NodesApi(*session_); }
  OrganizationsApi organizations() { return OrganizationsApi(*session_); }
  DeploymentsApi deployments() { return DeploymentsApi(*session_); }
  MigrationsApi migrations() { return MigrationsApi(*session_); }
  UsersApi users() { return UsersApi(*session_); }
  KeysApi keys() { return KeysApi(*session_); }

  std::vector<ServiceInstance> services(bool include_ended = false);
  FleetSummary summary();
  ReadingsAccepted push_readings(const std::vector<Reading>& readings);

  // Any call not modelled above: the answer's JSON text ("" for 204). `body` is JSON text.
  std::string request_json(const std::string& method, const std::string& target,
                           const std::string& body = "");

 private:
  std::unique_ptr<Session> session_;
};

}  // namespace fleet::client
