// A small metric catalogue shared by the rules unit tests (the real one lives in sql/0010).
#pragma once

#include "rules/catalogue.h"

namespace fleet::rules::test {

inline MetricCatalogue catalogue() {
  MetricCatalogue c;
  auto number = [&](const char* name, std::vector<std::string> kinds) {
    c.add({.name = name,
           .type = ValueType::kNumber,
           .unit = "",
           .description = name,
           .kinds = std::move(kinds)});
  };
  number("temperature", {"asic", "rig", "node", "device"});
  number("chip_temp_max", {"asic"});
  number("fan_rpm_min", {"asic", "rig"});
  number("hashrate", {"asic", "rig"});
  number("hashrate_nominal", {"asic"});
  number("power", {"asic", "rig", "node", "device"});
  number("ph", {"device"});
  c.add({.name = "miner_state",
         .type = ValueType::kState,
         .description = "state",
         .kinds = {"asic"},
         .states = {"mining", "stopped", "failure", "restarting"}});
  c.add({.name = "worker_status",
         .type = ValueType::kState,
         .description = "status",
         .kinds = {"asic", "rig", "node", "device"},
         .states = {"pending", "online", "offline", "unreachable"},
         .source = MetricSource::kWorker});
  c.add({.name = "last_seen_age",
         .type = ValueType::kNumber,
         .description = "age",
         .kinds = {"asic", "rig", "node", "device"},
         .source = MetricSource::kWorker});
  return c;
}

}  // namespace fleet::rules::test
