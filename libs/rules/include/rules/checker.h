// Type-checks a parsed condition against the metric catalogue: every metric exists (with a "did you
// mean" suggestion when not), is reported by the rule's worker kind, and is used with the right
// type (numbers with arithmetic and ordering, states with == and != against one of their words);
// the whole condition is a truth value. Pure.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "rules/ast.h"
#include "rules/catalogue.h"

namespace fleet::rules {

// A parse or type error, pointing into the condition text.
struct ConditionError {
  std::size_t position = 0;  // byte offset
  std::size_t length = 1;
  std::size_t column = 1;  // 1-based, in characters
  std::string message;     // starts with "column N: "
};

// Seed 001's form: `metric operator threshold`, e.g. `temperature > 82`.
struct SimpleThreshold {
  std::string metric;
  Op op = Op::kGt;
  double threshold = 0;
};

struct WindowRef {
  std::string metric;
  std::chrono::milliseconds window{0};
  friend bool operator==(const WindowRef&, const WindowRef&) = default;
};

struct CheckedCondition {
  Condition condition;
  std::vector<std::string> metrics;  // distinct metrics read as their latest value
  std::vector<WindowRef> windows;    // distinct (metric, window) pairs read from readings
  std::optional<SimpleThreshold> simple;
  bool reads_worker_status = false;  // names worker_status (a dependency rule: not muted offline)
};

struct CheckOptions {
  std::optional<std::string> kind;  // the rule's scope kind, when it has one
  std::chrono::milliseconds min_window{std::chrono::seconds(1)};
  std::chrono::milliseconds max_window{std::chrono::hours(24)};  // bounds the readings scanned
};

using CheckResult = std::variant<CheckedCondition, ConditionError>;

CheckResult check_condition(Condition condition, const MetricCatalogue& catalogue,
                            const CheckOptions& options = {});

// parse_condition + check_condition: the one call a rule store or API needs.
CheckResult compile_condition(std::string_view text, const MetricCatalogue& catalogue,
                              const CheckOptions& options = {});

}  // namespace fleet::rules
