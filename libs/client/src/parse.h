// JSON answers of the API -> the client's structs. A missing required field or a wrong type is a
// ProtocolError naming the record and the field; nullable fields become std::optional.
#pragma once

#include <nlohmann/json.hpp>

#include "client/alerting_types.h"
#include "client/paging.h"
#include "client/relay_types.h"
#include "client/types.h"

namespace fleet::client::parse {

Worker worker(const nlohmann::json& j);
WorkerDetail worker_detail(const nlohmann::json& j);
Miner miner(const nlohmann::json& j);
Model model(const nlohmann::json& j);
ServiceInstance service(const nlohmann::json& j);
FleetSummary summary(const nlohmann::json& j);
User user(const nlohmann::json& j);
Identity identity(const nlohmann::json& j);
ApiKey api_key(const nlohmann::json& j);
Rule rule(const nlohmann::json& j);
ConditionCheck condition_check(const nlohmann::json& j);
RuleTestResult rule_test(const nlohmann::json& j);
Alert alert(const nlohmann::json& j);
Silence silence(const nlohmann::json& j);
Command command(const nlohmann::json& j);
RelayController relay_controller(const nlohmann::json& j);
RelayMapping relay_mapping(const nlohmann::json& j);

// {"items": [...]} (and "next"/"limit" when paged) with each item read by `item`.
template <class T, class Fn>
Page<T> page(const nlohmann::json& j, Fn item);

// Helpers shared by the request builders.
nlohmann::json labels_json(const Labels& labels);
nlohmann::json scope_json(const RuleScope& scope);

}  // namespace fleet::client::parse

#include "parse_page.h"
