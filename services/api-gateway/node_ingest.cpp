#include "node_ingest.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "api_error.h"
#include "config/config.h"
#include "json_body.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxContainers = 500;
constexpr std::size_t kMaxLabels = 100;
constexpr std::size_t kMaxPorts = 100;

std::chrono::seconds seconds_of(const config::Config& c, std::string_view key) {
  return std::chrono::duration_cast<std::chrono::seconds>(c.duration(key));
}

// One published port of a container: {container_port, host_port, host_ip?, protocol?}.
void check_port(const json& entry, const std::string& at) {
  if (!entry.is_object()) throw ApiError::bad_request("'" + at + "' must be an object", at);
  JsonBody p(entry, at + ".");
  p.only({"container_port", "host_port", "host_ip", "protocol"});
  (void)p.integer("container_port", 1, 65535);
  (void)p.opt_integer("host_port", 0, 65535);  // 0: exposed, not published
  (void)p.opt_string("host_ip", 64, true);
  if (auto protocol = p.opt_string("protocol", 8, true)) {
    if (*protocol != "tcp" && *protocol != "udp" && *protocol != "sctp")
      throw ApiError::bad_request("'" + at + ".protocol' must be tcp, udp or sctp",
                                  at + ".protocol");
  }
}

// One entry of container_list: {id, name, image, state, status, labels:{}, ports:[]}; every field
// optional but typed and bounded. Errors name "container_list[i].field".
void check_container(const json& entry, std::size_t index) {
  const std::string at = "container_list[" + std::to_string(index) + "]";
  if (!entry.is_object()) throw ApiError::bad_request("'" + at + "' must be an object", at);
  JsonBody c(entry, at + ".");
  c.only({"id", "name", "image", "state", "status", "labels", "ports"});
  if (auto ports = c.opt_array("ports")) {
    const std::string field = at + ".ports";
    if (ports->size() > kMaxPorts) {
      throw ApiError::bad_request(
          "'" + field + "' has more than " + std::to_string(kMaxPorts) + " entries", field);
    }
    for (std::size_t i = 0; i < ports->size(); ++i)
      check_port((*ports)[i], field + "[" + std::to_string(i) + "]");
  }
  (void)c.opt_string("id", 128, true);
  (void)c.opt_string("name", 255, true);
  (void)c.opt_string("image", 512, true);
  (void)c.opt_string("state", 32, true);
  (void)c.opt_string("status", 200, true);
  if (auto labels = c.opt_object("labels")) {
    const std::string field = at + ".labels";
    if (labels->size() > kMaxLabels) {
      throw ApiError::bad_request(
          "'" + field + "' has more than " + std::to_string(kMaxLabels) + " labels", field);
    }
    for (const auto& [key, value] : labels->items()) {
      if (key.size() > 255 || !value.is_string() ||
          value.get_ref<const std::string&>().size() > 1000)
        throw ApiError::bad_request(
            "'" + field + "' must map names of at most 255 bytes to strings of at most 1000",
            field);
    }
  }
}

}  // namespace

void declare_node_config(config::Schema& s) {
  using config::Type;
  auto percent = [&](const char* name, double value, const char* help) {
    s.add({.name = name,
           .type = Type::kDouble,
           .help = help,
           .default_value = value,
           .min = 0,
           .max = 100});
  };
  percent("nodes.limits.cpu_percent", 90, "a node heartbeat above this CPU use is over limit");
  percent("nodes.limits.memory_percent", 95,
          "a node heartbeat above this memory use is over limit");
  percent("nodes.limits.disk_percent", 90, "a node heartbeat above this disk use is over limit");
  s.add({.name = "nodes.gap",
         .type = Type::kDuration,
         .help = "a node heartbeat later than this after the previous one starts a new streak",
         .default_value = std::chrono::milliseconds(75'000),
         .min = 1,
         .max = 86'400});
  s.add({.name = "nodes.heartbeat_interval",
         .type = Type::kDuration,
         .help = "how often node agents are told to send a heartbeat (seed 002: 30 s)",
         .default_value = std::chrono::milliseconds(30'000),
         .min = 1,
         .max = 3'600});
  s.add({.name = "nodes.command_poll",
         .type = Type::kDuration,
         .help = "how often node agents are told to ask for commands",
         .default_value = std::chrono::milliseconds(5'000),
         .min = 1,
         .max = 3'600});
  s.add({.name = "nodes.readings_min_interval",
         .type = Type::kDuration,
         .help = "a node's heartbeat metrics go to the readings history at most this often (every "
                 "heartbeat updates the node and its latest metrics)",
         .default_value = std::chrono::milliseconds(60'000),
         .min = 0,
         .max = 86'400});
  s.add({.name = "nodes.max_clock_skew",
         .type = Type::kDuration,
         .help = "a heartbeat's sent_at further ahead of the gateway's clock is replaced by the "
                 "gateway's time (and logged)",
         .default_value = std::chrono::milliseconds(60'000),
         .min = 0,
         .max = 86'400});
  s.add({.name = "nodes.ingest_writers",
         .type = Type::kInt,
         .help = "threads (each with its own database connection) writing heartbeat batches",
         .default_value = std::int64_t{2},
         .min = 1,
         .max = 16});
  s.add({.name = "nodes.ingest_max_batch",
         .type = Type::kInt,
         .help = "heartbeats written in one transaction at most",
         .default_value = std::int64_t{2'000},
         .min = 1,
         .max = 100'000});
}

NodeIngestOptions node_options_from(const config::Config& c) {
  NodeIngestOptions o;
  o.limits.cpu_percent = c.number("nodes.limits.cpu_percent");
  o.limits.memory_percent = c.number("nodes.limits.memory_percent");
  o.limits.disk_percent = c.number("nodes.limits.disk_percent");
  o.gap = seconds_of(c, "nodes.gap");
  o.heartbeat_interval = seconds_of(c, "nodes.heartbeat_interval");
  o.command_poll = seconds_of(c, "nodes.command_poll");
  o.readings_min_interval = seconds_of(c, "nodes.readings_min_interval");
  o.max_clock_skew = seconds_of(c, "nodes.max_clock_skew");
  o.writers = static_cast<int>(c.integer("nodes.ingest_writers"));
  o.max_batch = static_cast<std::size_t>(c.integer("nodes.ingest_max_batch"));
  return o;
}

Heartbeat parse_heartbeat(std::string_view body, std::int64_t worker_id, Clock::WallTime now,
                          std::chrono::seconds max_clock_skew) {
  JsonBody b = JsonBody::parse(body, 8);
  b.only({"seq", "sent_at", "cpu_percent", "memory_percent", "disk_percent", "containers",
          "containers_running", "container_list"});
  Heartbeat h;
  h.worker_id = worker_id;
  h.seq = b.integer("seq", 0, INT64_MAX);
  const std::string sent = b.string("sent_at", 40);
  const auto sent_at = parse_utc_timestamp(sent);
  if (!sent_at) {
    throw ApiError::bad_request(
        "'sent_at' must be an RFC 3339 time in UTC, like 2026-12-04T08:00:00Z", "sent_at");
  }
  if (*sent_at > now + max_clock_skew) {
    h.clock_ahead = true;
    h.sent_at = format_utc_timestamp(now);
  } else {
    h.sent_at = format_utc_timestamp(*sent_at);
  }
  auto percent = [&](const char* field) {
    auto v = b.opt_number(field, 0, 100);
    if (!v) throw ApiError::bad_request("'" + std::string(field) + "' is required", field);
    return *v;
  };
  h.cpu_percent = percent("cpu_percent");
  h.memory_percent = percent("memory_percent");
  h.disk_percent = percent("disk_percent");
  h.containers = b.integer("containers", 0, 1'000'000);
  h.containers_running = b.integer("containers_running", 0, 1'000'000);
  if (h.containers_running > h.containers) {
    throw ApiError::bad_request("'containers_running' must not exceed 'containers'",
                                "containers_running");
  }
  json list = b.opt_array("container_list").value_or(json::array());
  if (list.size() > kMaxContainers) {
    throw ApiError::bad_request(
        "'container_list' has more than " + std::to_string(kMaxContainers) + " entries",
        "container_list");
  }
  for (std::size_t i = 0; i < list.size(); ++i)
    check_container(list[i], i);
  h.container_list = list.dump(-1, ' ', false, json::error_handler_t::replace);
  return h;
}

std::vector<std::string> limits_broken(const Heartbeat& h, const NodeLimits& limits) {
  std::vector<std::string> out;
  if (h.cpu_percent > limits.cpu_percent) out.emplace_back("cpu_percent");
  if (h.memory_percent > limits.memory_percent) out.emplace_back("memory_percent");
  if (h.disk_percent > limits.disk_percent) out.emplace_back("disk_percent");
  return out;
}

std::optional<Clock::WallTime> parse_utc_timestamp(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)
  auto digits = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    if (at + n > t.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') ||
      t[13] != ':' || t[16] != ':')
    return std::nullopt;
  const auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2), hour = digits(11, 2),
             minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (*year < 1970 || *month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 ||
      *minute > 59 || *second > 60)
    return std::nullopt;
  std::size_t at = 19;
  long long micros = 0;
  if (at < t.size() && t[at] == '.') {
    ++at;
    int places = 0;
    while (at < t.size() && t[at] >= '0' && t[at] <= '9') {
      if (places < 6) micros = micros * 10 + (t[at] - '0');
      ++places;
      ++at;
    }
    if (places == 0 || places > 9) return std::nullopt;
    for (int p = places; p < 6; ++p)
      micros *= 10;
  }
  const std::string_view zone = t.substr(at);
  if (zone != "Z" && zone != "z" && zone != "+00:00") return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  const time_t seconds = timegm(&tm);
  // timegm normalises 2026-02-31 to March: such a date is malformed.
  std::tm back{};
  gmtime_r(&seconds, &back);
  if (back.tm_mday != *day && *second != 60) return std::nullopt;
  return Clock::WallTime(std::chrono::seconds(seconds)) + std::chrono::microseconds(micros);
}

std::string format_utc_timestamp(Clock::WallTime time) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  const time_t seconds = static_cast<time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros % 1'000'000));
  return buf;
}

}  // namespace fleet::gateway
