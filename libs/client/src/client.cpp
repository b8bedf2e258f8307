// Client, and the fleet resources: workers, miners, models, services, summary, readings.
#include "client/client.h"

#include "parse.h"
#include "session.h"

namespace fleet::client {
namespace {

using json = nlohmann::json;

std::string id_path(const char* base, std::int64_t id, const char* rest = "") {
  return std::string(base) + "/" + std::to_string(id) + rest;
}

}  // namespace

Client::Client(ClientOptions options) : session_(std::make_unique<Session>(std::move(options))) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

void Client::login(const std::string& username, const std::string& password) {
  session_->login(username, password);
}

void Client::logout() {
  session_->logout();
}

Identity Client::me() {
  return parse::identity(session_->call("GET", "/api/auth/me"));
}

std::vector<ServiceInstance> Client::services(bool include_ended) {
  Query q("/api/services");
  if (include_ended) q.add("all", std::string("true"));
  return parse::page<ServiceInstance>(session_->call("GET", q.str()), parse::service).items;
}

FleetSummary Client::summary() {
  return parse::summary(session_->call("GET", "/api/summary"));
}

ReadingsAccepted Client::push_readings(const std::vector<Reading>& readings) {
  json list = json::array();
  for (const auto& r : readings) {
    json j = {{"worker_id", r.worker_id}, {"metric", r.metric}};
    if (r.value) j["value"] = *r.value;
    if (!r.json_value_json.empty()) {
      json v = json::parse(r.json_value_json, nullptr, false);
      if (v.is_discarded()) throw ConfigurationError("a reading's json_value is not valid JSON");
      j["json_value"] = v;
    }
    if (!r.metadata_json.empty()) {
      json v = json::parse(r.metadata_json, nullptr, false);
      if (v.is_discarded() || !v.is_object())
        throw ConfigurationError("a reading's metadata is not a JSON object");
      j["metadata"] = v;
    }
    if (r.ts) j["ts"] = *r.ts;
    list.push_back(j);
  }
  json body = {{"readings", list}};
  json out = session_->call("POST", "/api/readings", &body);
  return {out.value("accepted", std::int64_t{0}), out.value("new", std::int64_t{0})};
}

std::string Client::request_json(const std::string& method, const std::string& target,
                                 const std::string& body) {
  return session_->call_text(method, target, body);
}

// --- workers ---

Page<Worker> WorkersApi::page(const WorkerFilter& filter, const std::optional<std::string>& after) {
  Query q("/api/workers");
  q.add("kind", filter.kind).add("status", filter.status).add("farm_id", filter.farm_id);
  q.add("label", filter.label).add("q", filter.q).add_limit(filter.limit).add("after", after);
  return parse::page<Worker>(s_.call("GET", q.str()), parse::worker);
}

PageRange<Worker> WorkersApi::all(const WorkerFilter& filter) {
  // Captures the session, not this view: the view is often a temporary of the for statement.
  Session* session = &s_;
  return PageRange<Worker>([session, filter](const std::optional<std::string>& after) {
    return WorkersApi(*session).page(filter, after);
  });
}

WorkerDetail WorkersApi::get(std::int64_t id) {
  return parse::worker_detail(s_.call("GET", id_path("/api/workers", id)));
}

Worker WorkersApi::update(std::int64_t id, const WorkerChange& change) {
  json body = json::object();
  if (change.name) body["name"] = *change.name;
  if (change.labels) body["labels"] = parse::labels_json(*change.labels);
  if (change.managed) body["managed"] = *change.managed;
  return parse::worker(s_.call("PATCH", id_path("/api/workers", id), &body));
}

// --- miners ---

Page<Miner> MinersApi::page(const MinerFilter& filter, const std::optional<std::string>& after) {
  Query q("/api/miners");
  q.add("managed", filter.managed).add("online", filter.online).add("model", filter.model);
  q.add("q", filter.q).add_limit(filter.limit).add("after", after);
  return parse::page<Miner>(s_.call("GET", q.str()), parse::miner);
}

PageRange<Miner> MinersApi::all(const MinerFilter& filter) {
  // Captures the session, not this view: the view is often a temporary of the for statement.
  Session* session = &s_;
  return PageRange<Miner>([session, filter](const std::optional<std::string>& after) {
    return MinersApi(*session).page(filter, after);
  });
}

Miner MinersApi::get(std::int64_t id) {
  return parse::miner(s_.call("GET", id_path("/api/miners", id)));
}

Miner MinersApi::set_managed(std::int64_t id, bool managed) {
  json body = {{"managed", managed}};
  return parse::miner(s_.call("PATCH", id_path("/api/miners", id), &body));
}

Miner MinersApi::set_unlock_password(std::int64_t id, const std::optional<std::string>& password) {
  json body = {{"unlock_password", password ? json(*password) : json()}};
  return parse::miner(s_.call("PATCH", id_path("/api/miners", id), &body));
}

std::int64_t MinersApi::rescan(std::int64_t id) {
  json out = s_.call("POST", id_path("/api/miners", id, "/rescan"));
  if (!out.is_object() || !out.contains("request_id") || !out["request_id"].is_number_integer()) {
    throw ProtocolError("the rescan answer has no request_id");
  }
  return out["request_id"].get<std::int64_t>();
}

// --- models ---

std::vector<Model> ModelsApi::list() {
  return parse::page<Model>(s_.call("GET", "/api/models"), parse::model).items;
}

void ModelsApi::set_max_preset(const std::string& alias, const std::optional<std::string>& preset) {
  json body = {{"max_preset", preset ? json(*preset) : json()}};
  s_.call("PATCH", "/api/models/" + encode_query(alias), &body);
}

}  // namespace fleet::client
