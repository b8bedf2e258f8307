// Evaluates a checked condition for one worker (docs/rules.md, "No data").
//
// Values reach the evaluator through slots: a SlotMap numbers every metric and (metric, window)
// pair a rule set reads, bind() writes those numbers into the tree, and the caller hands over one
// row of samples per worker laid out by slot. This keeps evaluation of a million rule × worker
// pairs free of string lookups.
//
// Logic is three-valued. A metric that is missing or older than the rule's stale_after is *no
// data*; so is a window with no readings (or, for delta and rate, fewer than two) and a division
// by zero. No data propagates through arithmetic and comparisons; `and` is false when either side
// is false, `or` is true when either side is true, otherwise no data wins. A condition that comes
// out as no data is never a breach.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/ast.h"
#include "rules/checker.h"

namespace fleet::rules {

// Interned state words ("mining", "offline"), so comparing states is comparing integers.
class StateWords {
 public:
  std::int32_t intern(std::string_view word);
  // -1 when the word was never interned.
  std::int32_t find(std::string_view word) const;
  const std::string& word(std::int32_t id) const { return words_[static_cast<std::size_t>(id)]; }

 private:
  std::vector<std::string> words_;
  std::map<std::string, std::int32_t, std::less<>> ids_;
};

// The latest value of one metric of one worker.
struct Sample {
  static constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();
  double number = 0;
  std::int32_t state = -1;           // StateWords id for state metrics
  std::int64_t observed_ms = kNone;  // unix milliseconds; kNone = no sample
  bool present() const { return observed_ms != kNone; }
};

// Aggregates of one metric of one worker over one window of readings.
struct WindowStats {
  std::int64_t count = 0;  // 0 = no readings in the window
  double sum = 0;
  double min = 0;
  double max = 0;
  double first = 0;  // oldest value in the window
  double last = 0;   // newest value
  std::int64_t first_ms = 0;
  std::int64_t last_ms = 0;
};

class SlotMap {
 public:
  int metric_slot(const std::string& metric);  // assigns the next slot on first use
  int window_slot(const WindowRef& window);
  const std::vector<std::string>& metrics() const { return metrics_; }
  const std::vector<WindowRef>& windows() const { return windows_; }
  StateWords& words() { return words_; }
  const StateWords& words() const { return words_; }

 private:
  std::vector<std::string> metrics_;
  std::vector<WindowRef> windows_;
  std::map<std::string, int, std::less<>> metric_index_;
  StateWords words_;
};

// Writes slots into metric and window nodes and interns string literals. REQUIRES: the condition
// passed check_condition.
void bind(Condition& condition, SlotMap& slots);

// One worker's values, indexed by slot.
struct WorkerValues {
  const Sample* latest = nullptr;        // SlotMap::metrics().size() entries
  const WindowStats* windows = nullptr;  // SlotMap::windows().size() entries
};

enum class Truth { kFalse, kTrue, kNoData };
std::string_view to_string(Truth truth);

// A term of the condition and its value, recorded for the event log and dry-run output.
struct Term {
  std::string expression;        // "avg(chip_temp_max, 10m)"
  std::optional<double> number;  // both empty: no data
  std::optional<std::string> state;
};

struct EvalContext {
  std::int64_t now_ms = 0;
  std::int64_t stale_after_ms = 300'000;
  const StateWords* words = nullptr;     // for captured states
  std::vector<Term>* capture = nullptr;  // when set, every metric and window read is recorded
};

// REQUIRES: `condition` was bound to the SlotMap that laid out `values`.
Truth evaluate(const Condition& condition, const WorkerValues& values, const EvalContext& context);

}  // namespace fleet::rules
