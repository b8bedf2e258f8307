// Mappers for the identification payloads: /info, /model, /autotune/presets.
#include <cctype>
#include <cstdlib>

#include "core/strings.h"
#include "json_fields.h"

namespace fleet::firmware {

using detail::FieldReader;
using detail::json;

bool InfoPayload::is_vnish() const {
  return to_lower(trim(fw_name)) == "vnish";
}

Result<InfoPayload> parse_info(std::string_view body, const PayloadLimits& limits,
                               FieldIssues* issues) {
  auto doc = detail::parse_document(body, limits, "/info");
  if (!doc.ok()) return doc.error();
  if (!doc->is_object()) return detail::payload_error("/info", "expected a JSON object");
  FieldReader r(*doc, "", issues);
  InfoPayload out;
  auto fw_name = r.string("fw_name", 64);
  if (!fw_name || fw_name->empty()) return detail::payload_error("/info", "fw_name is missing");
  out.fw_name = *fw_name;
  out.fw_version = r.string("fw_version", 64).value_or("");
  out.miner = r.string("miner", 128).value_or("");
  out.model = to_lower(r.string("model", 64).value_or(""));
  out.hr_measure = r.string("hr_measure", 16).value_or("");
  out.platform = r.string("platform", 32).value_or("");
  out.serial = r.string("serial", 128).value_or("");
  out.build_name = r.string("build_name", 64).value_or("");

  FieldReader system = r.child("system");
  FieldReader net = system.child("network_status");
  if (auto mac = net.string("mac", 64)) {
    out.mac = normalize_mac(*mac);
    if (!out.mac) net.issue("mac", "not a MAC address");
  }
  out.ip = net.string("ip", 64);
  out.hostname = net.string("hostname", 128);
  out.uptime = system.string("uptime", 64);
  return out;
}

Result<ModelPayload> parse_model(std::string_view body, const PayloadLimits& limits,
                                 FieldIssues* issues) {
  auto doc = detail::parse_document(body, limits, "/model");
  if (!doc.ok()) return doc.error();
  if (!doc->is_object()) return detail::payload_error("/model", "expected a JSON object");
  FieldReader r(*doc, "", issues);
  ModelPayload out;
  out.alias = to_lower(r.string("model", 64).value_or(""));
  if (out.alias.empty()) return detail::payload_error("/model", "model is missing");
  out.full_name = r.string("full_name", 128).value_or("");
  out.algorithm = r.string("algorithm", 32).value_or("");
  out.series = r.string("series", 32).value_or("");
  out.hr_measure = r.string("hr_measure", 16).value_or("");
  FieldReader chain = r.child("chain");
  out.chips_per_chain = chain.int32("chips_per_chain", 1, 10'000);
  out.num_chains = chain.int32("num_chains", 1, 64);
  return out;
}

namespace {

// pyasic's reading of `pretty`: "<power> watt ~ <hashrate> TH" (either side may be absent).
void parse_pretty(Preset& p) {
  const auto tilde = p.pretty.find('~');
  if (tilde == std::string::npos) return;
  auto number_in = [](std::string_view text) -> std::optional<double> {
    text = trim(text);
    std::string digits;
    for (char c : text) {
      if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
        digits += c;
      } else if (!digits.empty()) {
        break;
      }
    }
    if (digits.empty()) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(digits.c_str(), &end);
    if (end == digits.c_str() || v < 0 || v > 1e7) return std::nullopt;
    return v;
  };
  const std::string_view left = std::string_view(p.pretty).substr(0, tilde);
  const std::string_view right = std::string_view(p.pretty).substr(tilde + 1);
  if (to_lower(left).find("watt") != std::string::npos) p.power_w = number_in(left);
  const std::string r = to_lower(right);
  if (r.find("th") != std::string::npos) {
    p.hashrate_ths = number_in(right);
  } else if (r.find("gh") != std::string::npos) {
    if (auto v = number_in(right)) p.hashrate_ths = *v / 1000.0;
  }
}

}  // namespace

Result<std::vector<Preset>> parse_presets(std::string_view body, const PayloadLimits& limits,
                                          FieldIssues* issues) {
  auto doc = detail::parse_document(body, limits, "/autotune/presets");
  if (!doc.ok()) return doc.error();
  const json* list = nullptr;
  if (doc->is_array()) {
    list = &*doc;
  } else if (doc->is_object()) {
    auto it = doc->find("presets");
    if (it != doc->end() && it->is_array()) list = &*it;
  }
  if (list == nullptr) {
    return detail::payload_error("/autotune/presets",
                                 "expected an array or an object with a presets array");
  }
  std::vector<Preset> out;
  constexpr size_t kMaxPresets = 256;
  for (size_t i = 0; i < list->size() && out.size() < kMaxPresets; ++i) {
    FieldReader r((*list)[i], "presets[" + std::to_string(i) + "]", issues);
    auto name = r.string("name", 64);
    if (!name || name->empty()) {
      detail::add_issue(issues, r.path() + ": preset without a name skipped");
      continue;
    }
    Preset p;
    p.name = *name;
    p.pretty = r.string("pretty", 128).value_or(p.name);
    p.tuned = r.string("status", 32).value_or("") == "tuned";
    p.modded_psu_required = r.boolean("modded_psu_required").value_or(false);
    parse_pretty(p);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace fleet::firmware
