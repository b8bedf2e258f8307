#include "dispatch/job.h"

#include <nlohmann/json.hpp>

namespace fleet::dispatch {

bool is_idempotent(const std::string& action, const std::string& params_json) {
  if (action == "set_preset" || action == "start_mining" || action == "stop_mining" ||
      action == "pause_mining" || action == "resume_mining") {
    return true;
  }
  if (action == "find_miner") {
    // A toggle, unless the wanted state is named.
    auto p = nlohmann::json::parse(params_json, nullptr, false);
    return p.is_object() && p.contains("on") && p["on"].is_boolean();
  }
  return false;
}

}  // namespace fleet::dispatch
