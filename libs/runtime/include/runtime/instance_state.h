// How a service_instances row reads to people: "stale" when a process that says it is running
// has not refreshed its row for a while. Shared by fleetctl status and the API.
#pragma once

#include <algorithm>
#include <string>

namespace fleet::runtime {

// Workers refresh their row every cycle and at least once a minute while they wait, so silence
// for 3 x min(interval, 60 s) + 60 s means the process most likely died without saying so.
inline double stale_after_seconds(double interval_seconds) {
  return 3 * std::min(interval_seconds, 60.0) + 60;
}

inline std::string instance_state(const std::string& state, double heartbeat_age_seconds,
                                  double interval_seconds) {
  const bool alive = state == "running" || state == "starting" || state == "stopping";
  if (alive && heartbeat_age_seconds > stale_after_seconds(interval_seconds)) return "stale";
  return state;
}

}  // namespace fleet::runtime
