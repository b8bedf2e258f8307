#include "schema_check.h"

#include <fstream>
#include <stdexcept>

namespace fleet::minersim::test {

using nlohmann::json;

SchemaCheck::SchemaCheck() {
  const std::string path =
      std::string(FLEETTEST_SOURCE_DIR) + "/tests/unit/minersim/vnish-openapi.json";
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  spec_ = json::parse(f);
}

const json& SchemaCheck::resolve(const json& schema) const {
  if (schema.is_object() && schema.contains("$ref")) {
    const std::string ref = schema["$ref"];
    const std::string prefix = "#/components/schemas/";
    return resolve(spec_["components"]["schemas"].at(ref.substr(prefix.size())));
  }
  return schema;
}

namespace {

bool type_matches(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  return false;
}

}  // namespace

void SchemaCheck::check(const json& v, const json& raw, const std::string& path,
                        std::vector<std::string>& errors) const {
  const json& schema = resolve(raw);
  if (!schema.is_object()) return;  // `true`/`false` schemas: prefixItems' items:false etc.
  if (schema.contains("allOf")) {
    for (const auto& part : schema["allOf"])
      check(v, part, path, errors);
  }
  if (schema.contains("oneOf")) {
    int matches = 0;
    std::string first_problem;
    for (const auto& option : schema["oneOf"]) {
      std::vector<std::string> sub;
      check(v, option, path, sub);
      if (sub.empty()) {
        ++matches;
      } else if (first_problem.empty()) {
        first_problem = sub.front();
      }
    }
    if (matches == 0) errors.push_back(path + ": matches no oneOf option (" + first_problem + ")");
  }
  if (schema.contains("type")) {
    const json& t = schema["type"];
    bool ok = false;
    if (t.is_string()) {
      ok = type_matches(v, t.get<std::string>());
    } else {
      for (const auto& one : t)
        ok = ok || type_matches(v, one.get<std::string>());
    }
    if (!ok) {
      errors.push_back(path + ": type " + std::string(v.type_name()) + ", schema wants " +
                       t.dump());
      return;
    }
  }
  if (schema.contains("enum")) {
    bool found = false;
    for (const auto& e : schema["enum"])
      found = found || e == v;
    if (!found) errors.push_back(path + ": " + v.dump() + " not in enum " + schema["enum"].dump());
  }
  if (v.is_number()) {
    if (schema.contains("minimum") && v.get<double>() < schema["minimum"].get<double>()) {
      errors.push_back(path + ": below minimum");
    }
    if (schema.contains("maximum") && v.get<double>() > schema["maximum"].get<double>()) {
      errors.push_back(path + ": above maximum");
    }
  }
  if (v.is_string()) {
    const auto n = v.get_ref<const std::string&>().size();
    if (schema.contains("minLength") && n < schema["minLength"].get<size_t>()) {
      errors.push_back(path + ": shorter than minLength");
    }
    if (schema.contains("maxLength") && n > schema["maxLength"].get<size_t>()) {
      errors.push_back(path + ": longer than maxLength");
    }
  }
  if (v.is_object()) {
    if (schema.contains("required")) {
      for (const auto& r : schema["required"]) {
        if (!v.contains(r.get<std::string>())) {
          errors.push_back(path + ": missing required '" + r.get<std::string>() + "'");
        }
      }
    }
    if (schema.contains("properties")) {
      for (const auto& [k, sub] : schema["properties"].items()) {
        if (v.contains(k)) check(v[k], sub, path + "." + k, errors);
      }
    }
  }
  if (v.is_array()) {
    if (schema.contains("prefixItems")) {
      const auto& prefix = schema["prefixItems"];
      for (size_t i = 0; i < v.size() && i < prefix.size(); ++i) {
        check(v[i], prefix[i], path + "[" + std::to_string(i) + "]", errors);
      }
      if (v.size() > prefix.size() && schema.contains("items") && schema["items"] == false) {
        errors.push_back(path + ": more items than prefixItems allows");
      }
    } else if (schema.contains("items")) {
      for (size_t i = 0; i < v.size(); ++i) {
        check(v[i], schema["items"], path + "[" + std::to_string(i) + "]", errors);
      }
    }
  }
}

std::string SchemaCheck::validate_schema(const json& value, const json& schema) const {
  std::vector<std::string> errors;
  check(value, schema, "$", errors);
  std::string out;
  for (const auto& e : errors)
    out += e + "\n";
  return out;
}

std::string SchemaCheck::validate(const json& value, const std::string& schema_name) const {
  return validate_schema(value, spec_["components"]["schemas"].at(schema_name));
}

}  // namespace fleet::minersim::test
