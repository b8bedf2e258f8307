#include "notifier_document.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "notify/template.h"

namespace fleet::notifier {
namespace {

using json = nlohmann::json;

json object_or_empty(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json::object();
}

bool resolves(const std::string& event) {
  return event.ends_with(".resolved") || event.ends_with(".recovered");
}

json item_json(const Facts& n) {
  json worker = nullptr;
  if (n.worker_id != 0) {
    worker = {{"id", n.worker_id},
              {"name", n.worker_name},
              {"kind", n.worker_kind},
              {"site", n.site.empty() ? json(nullptr) : json(n.site)}};
  }
  return {{"id", n.id},
          {"event", n.event},
          {"severity", n.severity},
          {"title", sanitize_utf8(n.title)},
          {"body", sanitize_utf8(n.body)},
          {"created_at", n.created_at},
          {"worker", worker},
          {"rule_id", n.rule_id == 0 ? json(nullptr) : json(n.rule_id)},
          {"alert_id", n.alert_id == 0 ? json(nullptr) : json(n.alert_id)},
          {"payload", object_or_empty(n.payload)}};
}

}  // namespace

std::string document_status(const std::vector<Facts>& items) {
  if (!items.empty() &&
      std::all_of(items.begin(), items.end(), [](const Facts& n) { return resolves(n.event); })) {
    return "resolved";
  }
  for (const auto& n : items) {
    if (!resolves(n.event) && severity_rank(n.severity) >= 1) return "firing";
  }
  return "info";
}

Document render_document(const DocumentInput& in) {
  Document d;
  d.status = document_status(in.items);
  std::map<std::string, std::int64_t> counts{{"critical", 0}, {"warning", 0}, {"info", 0}};
  std::string severity = "info";
  for (const auto& n : in.items) {
    ++counts[n.severity];
    if (severity_rank(n.severity) > severity_rank(severity)) severity = n.severity;
  }
  // The group's fields as a map, from the key "event=a|site=b".
  json group = json::object();
  std::map<std::string, std::string> values;
  for (const auto& pair : split(in.group_key, '|')) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos) continue;
    group[pair.substr(0, eq)] = pair.substr(eq + 1);
    values[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  const Facts* first = in.items.empty() ? nullptr : &in.items.front();
  const std::size_t count = in.items.size();
  values["count"] = std::to_string(count);
  values["severity"] = severity;
  values["status"] = d.status;
  values["channel"] = in.channel;
  values["first_title"] = first ? first->title : "";
  if (!values.contains("event") && first) values["event"] = first->event;
  if (!values.contains("site") && first) values["site"] = first->site;
  if (!values.contains("worker") && first) values["worker"] = first->worker_name;

  if (!in.template_title.empty()) {
    d.title = notify::render_template(in.template_title, values);
  } else if (count == 1 && first) {
    d.title = first->title;
  } else {
    d.title = std::to_string(count) + " notifications: " + values["event"];
    if (!values["site"].empty()) d.title += " at " + values["site"];
  }
  if (in.kind == "repeat") d.title = "[still firing] " + d.title;
  std::string text;
  if (!in.template_text.empty()) {
    text = notify::render_template(in.template_text, values);
  } else {
    const std::size_t listed = std::min<std::size_t>(count, static_cast<std::size_t>(in.max_items));
    for (std::size_t i = 0; i < listed; ++i) {
      const auto& n = in.items[i];
      text += "[" + n.severity + "] " + n.title + (n.body.empty() ? "" : ": " + n.body) + "\n";
    }
    if (listed < count) text += "... and " + std::to_string(count - listed) + " more\n";
  }
  json items = json::array();
  const std::size_t listed = std::min<std::size_t>(count, static_cast<std::size_t>(in.max_items));
  for (std::size_t i = 0; i < listed; ++i)
    items.push_back(item_json(in.items[i]));
  json doc{{"version", 1},
           {"id", in.idempotency_key},
           {"kind", in.kind},
           {"channel", in.channel},
           {"group_key", in.group_key},
           {"group", group},
           {"status", d.status},
           {"severity", severity},
           {"title", sanitize_utf8(d.title)},
           {"text", sanitize_utf8(text)},
           {"count", count},
           {"counts", counts},
           {"notifications", items},
           {"truncated", count - listed},
           {"created_at", in.created_at}};
  d.json = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  return d;
}

std::string make_idempotency_key(std::int64_t message_id, std::uint32_t random) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", random);
  return "fw-" + std::to_string(message_id) + "-" + hex;
}

}  // namespace fleet::notifier
