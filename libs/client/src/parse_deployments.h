// JSON answers of the deployment routes (issue 14) -> the client's structs (src only).
#pragma once

#include <nlohmann/json.hpp>

#include "client/deployment_types.h"

namespace fleet::client::parse {

Organization organization(const nlohmann::json& j);
Deployment deployment(const nlohmann::json& j);
DeploymentDetail deployment_detail(const nlohmann::json& j);
Placement placement(const nlohmann::json& j);
Route route(const nlohmann::json& j);
Migration migration(const nlohmann::json& j);
MigrationPlan migration_plan(const nlohmann::json& j);

// {items, total, limit, offset} with each item read by `item`.
template <class T, class Fn>
OffsetPage<T> offset_page(const nlohmann::json& j, Fn item);

}  // namespace fleet::client::parse

#include "record_reader.h"

namespace fleet::client::parse {

template <class T, class Fn>
OffsetPage<T> offset_page(const nlohmann::json& j, Fn item) {
  OffsetPage<T> out;
  for (const auto& i : record::items_of(j))
    out.items.push_back(item(i));
  const record::Reader r(j, "page");
  out.total = r.i64("total");
  out.limit = r.i64("limit");
  out.offset = r.i64("offset");
  return out;
}

}  // namespace fleet::client::parse
