#include "notifier_rules.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

namespace fleet::notifier {
namespace {

using json = nlohmann::json;

bool contains(const json& a, const json& b) {
  if (b.is_object()) {
    if (!a.is_object()) return false;
    for (const auto& [k, v] : b.items()) {
      const auto it = a.find(k);
      if (it == a.end() || !contains(*it, v)) return false;
    }
    return true;
  }
  if (b.is_array()) {
    if (!a.is_array()) return false;
    return std::all_of(b.begin(), b.end(), [&](const json& e) {
      return std::any_of(a.begin(), a.end(), [&](const json& x) { return contains(x, e); });
    });
  }
  return a == b;
}

template <class T>
bool any_or_in(const std::vector<T>& allowed, const T& value) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

std::int64_t payload_channel(const Facts& n) {
  const json p = json::parse(n.payload, nullptr, false);
  if (!p.is_object()) return 0;
  const auto it = p.find("channel_id");
  return it != p.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

std::string id_text(std::int64_t id) {
  return id == 0 ? "" : std::to_string(id);
}

}  // namespace

int severity_rank(const std::string& s) {
  if (s == "info") return 0;
  if (s == "warning") return 1;
  if (s == "critical") return 2;
  return -1;
}

bool event_matches(const std::vector<std::string>& patterns, const std::string& event) {
  if (patterns.empty()) return true;
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    if (!p.empty() && p.back() == '*') {
      return event.compare(0, p.size() - 1, p, 0, p.size() - 1) == 0;
    }
    return p == event;
  });
}

bool json_contains(const std::string& container, const std::string& contained) {
  const json b = json::parse(contained, nullptr, false);
  if (b.is_discarded() || (b.is_object() && b.empty())) return true;
  const json a = json::parse(container, nullptr, false);
  return !a.is_discarded() && contains(a, b);
}

bool route_matches(const Route& r, const Facts& n) {
  if (!any_or_in(r.severities, n.severity) || !event_matches(r.events, n.event)) return false;
  if (!r.sites.empty() && (n.site.empty() || !any_or_in(r.sites, n.site))) return false;
  if (!r.farm_ids.empty() && (n.farm_id == 0 || !any_or_in(r.farm_ids, n.farm_id))) return false;
  if (r.worker_labels != "{}" && !r.worker_labels.empty()) {
    if (n.worker_id == 0 || !json_contains(n.worker_labels, r.worker_labels)) return false;
  }
  return true;
}

std::string group_key(const std::vector<std::string>& group_by, const Facts& n) {
  std::string key;
  for (const auto& field : group_by) {
    std::string value;
    if (field == "event")
      value = n.event;
    else if (field == "severity")
      value = n.severity;
    else if (field == "site")
      value = n.site;
    else if (field == "farm")
      value = id_text(n.farm_id);
    else if (field == "worker")
      value = id_text(n.worker_id);
    else if (field == "rule")
      value = id_text(n.rule_id);
    else if (field == "source")
      value = n.source;
    if (!key.empty()) key += '|';
    key += field + "=" + value;
  }
  return key;
}

std::vector<Target> route(const Facts& n, const std::vector<Channel>& channels,
                          const std::vector<Route>& routes,
                          const std::vector<Subscription>& subscriptions) {
  std::vector<Target> out;
  std::set<std::pair<std::int64_t, std::string>> seen;
  auto channel_of = [&](std::int64_t id) -> const Channel* {
    for (const auto& c : channels) {
      if (c.id == id) return c.enabled ? &c : nullptr;
    }
    return nullptr;
  };
  auto add = [&](std::int64_t channel_id, const std::string& recipient) {
    const Channel* c = channel_of(channel_id);
    if (c == nullptr || !seen.emplace(channel_id, recipient).second) return;
    out.push_back({channel_id, recipient, group_key(c->group_by, n)});
  };
  if (n.event == "notifier.test") {
    add(payload_channel(n), "");
    return out;
  }
  const std::int64_t about =
      n.event == "notifier.channel_failing" || n.event == "notifier.channel_recovered"
          ? payload_channel(n)
          : 0;
  for (const auto& r : routes) {
    if (r.channel_id != about && route_matches(r, n)) add(r.channel_id, "");
  }
  const int rank = severity_rank(n.severity);
  for (const auto& s : subscriptions) {
    if (s.channel_id == about) continue;
    if (std::find(n.owners.begin(), n.owners.end(), s.user_id) == n.owners.end()) continue;
    if (!event_matches(s.events, n.event) || rank < severity_rank(s.min_severity)) continue;
    add(s.channel_id, s.address);
  }
  return out;
}

bool flush_due(WallTime first_pending, std::optional<WallTime> last_sent, milliseconds group_wait,
               milliseconds group_interval, WallTime now) {
  if (!last_sent || first_pending >= *last_sent + group_interval) {
    return now >= first_pending + group_wait;
  }
  return now >= *last_sent + group_interval;
}

Verdict judge_attempt(const notify::SendResult& result, int attempts, int retry_base,
                      milliseconds age, const RetryPolicy& policy, double unit_random) {
  Verdict v;
  if (result.outcome == notify::SendResult::Outcome::kDelivered) {
    v.state = Verdict::State::kDelivered;
    return v;
  }
  const int counted = attempts - retry_base;
  if (result.permanent) {
    v.state = Verdict::State::kDead;
    v.dead_reason = "permanent failure: " + result.error;
  } else if (counted >= policy.max_attempts) {
    v.state = Verdict::State::kDead;
    v.dead_reason = "gave up after " + std::to_string(counted) + " attempts: " + result.error;
  } else if (age >= policy.max_age) {
    v.state = Verdict::State::kDead;
    v.dead_reason = "older than the channel's max_age: " + result.error;
  } else {
    v.retry_in = backoff_delay(policy.backoff, std::max(counted, 1), unit_random);
  }
  return v;
}

}  // namespace fleet::notifier
