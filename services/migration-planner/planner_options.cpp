#include "planner_options.h"

#include <charconv>

#include "config/config.h"
#include "runtime/worker.h"

namespace fleet::planner {
namespace {

constexpr double kDay = 86'400;

milliseconds secs(std::int64_t s) {
  return milliseconds(s * 1000);
}

bool parse_port(std::string_view s, int& out) {
  if (s.empty() || s.size() > 5) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 1 && out <= 65535;
}

}  // namespace

bool parse_port_range(const std::string& text, PortRange& out) {
  const auto dash = text.find('-');
  if (dash == std::string::npos) return false;
  PortRange r;
  if (!parse_port(std::string_view(text).substr(0, dash), r.first)) return false;
  if (!parse_port(std::string_view(text).substr(dash + 1), r.last)) return false;
  if (r.first > r.last) return false;
  out = r;
  return true;
}

void declare_config(config::Schema& s) {
  using config::Type;
  s.add({.name = "planner.offline_grace",
         .type = Type::kDuration,
         .help = "an offline node's containers move this long after it went offline",
         .default_value = secs(60),
         .min = 0,
         .max = kDay});
  s.add({.name = "planner.reachable_within",
         .type = Type::kDuration,
         .help = "a node is reachable (old containers can be removed) while its last heartbeat is "
                 "younger than this",
         .default_value = secs(90),
         .min = 5,
         .max = kDay});
  s.add({.name = "planner.start_timeout",
         .type = Type::kDuration,
         .help = "a container_start not done within this expires: the start failed",
         .default_value = secs(300),
         .min = 5,
         .max = kDay});
  s.add({.name = "planner.port_range",
         .type = Type::kString,
         .help = "host ports the planner publishes containers on, per node (first-last)",
         .default_value = std::string("20000-29999")});
  s.add({.name = "planner.publish_on",
         .type = Type::kString,
         .help = "any (0.0.0.0) or node_address (the node's first registered address)",
         .default_value = std::string("any"),
         .choices = {"any", "node_address"}});
  s.add({.name = "planner.max_moves_per_minute",
         .type = Type::kInt,
         .help = "fleet-wide: at most this many migrations start per minute",
         .default_value = std::int64_t{120},
         .min = 1,
         .max = 1'000'000});
  s.add({.name = "planner.max_start_attempts",
         .type = Type::kInt,
         .help = "a migration tries at most this many target nodes before it fails",
         .default_value = std::int64_t{2},
         .min = 1,
         .max = 100});
  s.add({.name = "planner.retry_failed_after",
         .type = Type::kDuration,
         .help = "a replica whose container failed to start is placed again after this",
         .default_value = secs(60),
         .min = 0,
         .max = kDay});
  s.add({.name = "planner.route_file",
         .type = Type::kString,
         .help = "optional: after a route change, all routes are written here (JSON, atomically)"});
}

PlannerOptions options_from(const config::Config& c) {
  PlannerOptions o;
  o.offline_grace = c.duration("planner.offline_grace");
  o.reachable_within = c.duration("planner.reachable_within");
  o.start_timeout = c.duration("planner.start_timeout");
  if (!parse_port_range(c.str("planner.port_range"), o.port_range)) {
    throw runtime::ConfigError("planner.port_range: '" + c.str("planner.port_range") +
                               "' is not first-last with 1 <= first <= last <= 65535");
  }
  o.publish_on = c.str("planner.publish_on");
  o.max_moves_per_minute = static_cast<int>(c.integer("planner.max_moves_per_minute"));
  o.max_start_attempts = static_cast<int>(c.integer("planner.max_start_attempts"));
  o.retry_failed_after = c.duration("planner.retry_failed_after");
  o.route_file = c.optional_str("planner.route_file").value_or("");
  return o;
}

}  // namespace fleet::planner
