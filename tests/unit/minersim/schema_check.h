// A small JSON Schema checker for the subset vnish-openapi.json uses ($ref, allOf, oneOf, type
// (also as a list), required, properties, items, enum, minimum, maximum, minLength, maxLength),
// so payload tests check the simulator against the real firmware's schema, not against itself.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fleet::minersim::test {

class SchemaCheck {
 public:
  // Loads tests/unit/minersim/vnish-openapi.json (a copy of the reference spec).
  SchemaCheck();

  // Problems found validating `value` against components.schemas[name] ("" when valid), one per
  // line with the JSON path, e.g. "$.miner.chains[0].status: missing required 'state'".
  std::string validate(const nlohmann::json& value, const std::string& schema_name) const;
  // Same against an inline schema.
  std::string validate_schema(const nlohmann::json& value, const nlohmann::json& schema) const;

 private:
  void check(const nlohmann::json& v, const nlohmann::json& schema, const std::string& path,
             std::vector<std::string>& errors) const;
  const nlohmann::json& resolve(const nlohmann::json& schema) const;

  nlohmann::json spec_;
};

}  // namespace fleet::minersim::test
