#include "body_faults.h"

#include <nlohmann/json.hpp>

namespace fleet::minersim {
namespace {

using nlohmann::json;

json transform(const json& v) {
  switch (v.type()) {
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return v.dump();
    case json::value_t::boolean:
      return v.get<bool>() ? "yes" : "no";
    case json::value_t::string:
      return static_cast<int64_t>(v.get_ref<const std::string&>().size());
    case json::value_t::null:
      return json::object();
    case json::value_t::array: {
      json o = json::object();
      for (size_t i = 0; i < v.size(); ++i)
        o[std::to_string(i)] = transform(v[i]);
      return o;
    }
    case json::value_t::object: {
      json o = json::object();
      for (const auto& [k, item] : v.items())
        o[k] = transform(item);
      return o;
    }
    default:
      return v;
  }
}

}  // namespace

std::string wrong_types(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return text;
  // A top-level object stays an object so clients get as far as the field types.
  return transform(doc).dump(-1, ' ', false, json::error_handler_t::replace);
}

void apply_body_fault(const Fault& fault, std::string body, http::Response& response) {
  response.body.clear();
  response.declared_length = UINT64_MAX;
  response.close_after = UINT64_MAX;
  switch (fault.kind) {
    case FaultKind::kGarbage: {
      // An error page from a broken web server, with binary noise and a NUL byte.
      std::string g = "<html><head><title>502 Bad Gateway</title></head>\r\n<body>";
      g += std::string("\x01\x02\xff\xfe", 4);
      g += "{\"miner\": nope} ]]";
      g.push_back('\0');
      g += " garbage</body></html>\n";
      response.set_body(std::move(g));
      break;
    }
    case FaultKind::kTruncated: {
      const size_t keep = body.size() * static_cast<size_t>(fault.arg) / 100;
      body.resize(keep);
      response.set_body(std::move(body));
      break;
    }
    case FaultKind::kHuge: {
      const auto target = static_cast<uint64_t>(fault.arg);
      if (body.size() >= target || body.empty()) {
        response.set_body(std::move(body));
        break;
      }
      // Whitespace after the opening bracket keeps the document valid JSON of the same shape.
      response.body.push_back({body.substr(0, 1), ' ', target - body.size()});
      response.body.push_back({body.substr(1)});
      break;
    }
    case FaultKind::kDeep: {
      const auto levels = static_cast<uint64_t>(fault.arg);
      response.body.push_back({"", '[', levels});
      response.body.push_back({"", ']', levels});
      break;
    }
    case FaultKind::kWrongTypes:
      response.set_body(wrong_types(body));
      break;
    case FaultKind::kCutTransfer: {
      const uint64_t full = body.size();
      response.set_body(std::move(body));
      response.declared_length = full;
      response.close_after = full / 2;
      break;
    }
    default:
      response.set_body(std::move(body));
      break;
  }
}

}  // namespace fleet::minersim
