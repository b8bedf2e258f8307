// Tolerant, typed reads of JSON fields for the payload mappers: a missing field is nullopt, a field
// of the wrong type or out of range is nullopt plus an entry in the issue list. Never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "firmware/parse.h"

namespace fleet::firmware::detail {

using json = nlohmann::json;

// Parses a body that passed check_limits into a document, or kDataLoss naming the payload.
Result<json> parse_document(std::string_view body, const PayloadLimits& limits,
                            std::string_view what);

// Reads the fields of one JSON object. `path` prefixes issue messages ("miner.chains[0]").
class FieldReader {
 public:
  // `object` may be any JSON value: a non-object reads as having no fields.
  FieldReader(const json& object, std::string path, FieldIssues* issues)
      : object_(object), path_(std::move(path)), issues_(issues) {}

  bool has(std::string_view key) const;
  // The member (or a null json when absent). Stays valid as long as the document.
  const json& member(std::string_view key) const;

  // Numbers within [min, max]; integers accept integral floats (6360.0).
  std::optional<double> number(std::string_view key, double min = -1e15, double max = 1e15) const;
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min = INT64_MIN / 2,
                                      std::int64_t max = INT64_MAX / 2) const;
  std::optional<int> int32(std::string_view key, int min = INT32_MIN, int max = INT32_MAX) const;
  // Strings are sanitised to valid UTF-8 and cut to max_length bytes.
  std::optional<std::string> string(std::string_view key, std::size_t max_length = 256) const;
  std::optional<bool> boolean(std::string_view key) const;

  // A nested object / array member, or nullptr (with an issue when present but of another type).
  const json* object(std::string_view key) const;
  const json* array(std::string_view key) const;

  FieldReader child(std::string_view key) const;  // reader for a nested object (may be empty)
  std::string path_of(std::string_view key) const;
  void issue(std::string_view key, std::string_view problem) const;
  FieldIssues* issues() const { return issues_; }
  const std::string& path() const { return path_; }

 private:
  const json& object_;
  std::string path_;
  FieldIssues* issues_;
};

// Adds an issue, keeping the list short.
void add_issue(FieldIssues* issues, std::string text);

// A kDataLoss error "<what>: <problem>".
Error payload_error(std::string_view what, std::string_view problem);

}  // namespace fleet::firmware::detail
