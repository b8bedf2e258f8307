// Fuzzes the condition language end to end: lexer, parser (with its depth, size and length
// limits), type checker, binding and evaluation. Any input must give a condition or an error that
// points inside the text — never a crash, a hang or unbounded recursion.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/checker.h"
#include "rules/evaluator.h"
#include "rules/parser.h"

namespace {

using namespace fleet::rules;

const MetricCatalogue& catalogue() {
  static const MetricCatalogue c = [] {
    MetricCatalogue m;
    for (const char* name : {"temperature", "chip_temp_max", "fan_rpm_min", "hashrate", "x", "y"}) {
      m.add({.name = name,
             .type = ValueType::kNumber,
             .description = name,
             .kinds = {"asic", "device"}});
    }
    m.add({.name = "miner_state",
           .type = ValueType::kState,
           .description = "s",
           .kinds = {"asic"},
           .states = {"mining", "failure"}});
    m.add({.name = "last_seen_age",
           .type = ValueType::kNumber,
           .description = "a",
           .kinds = {"asic"},
           .source = MetricSource::kWorker});
    return m;
  }();
  return c;
}

void check_tree(const Condition& c, std::string_view text) {
  if (c.root < 0 || static_cast<std::size_t>(c.root) >= c.nodes.size()) __builtin_trap();
  if (c.nodes.size() > kMaxNodes) __builtin_trap();
  for (std::size_t i = 0; i < c.nodes.size(); ++i) {
    const Node& n = c.nodes[i];
    // Children are built before their parents, so walking the tree always terminates.
    if (n.lhs >= static_cast<int>(i) || n.rhs >= static_cast<int>(i)) __builtin_trap();
    if (n.begin > n.end || n.end > text.size()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseResult parsed = parse_condition(text);
  if (auto* e = std::get_if<ParseError>(&parsed)) {
    if (e->position > text.size() || e->column < 1 || e->message.empty()) __builtin_trap();
    (void)render_error(text, e->position, e->length, e->message);
    return 0;
  }
  const Condition& condition = std::get<Condition>(parsed);
  check_tree(condition, text);
  CheckResult checked = check_condition(condition, catalogue(), {.kind = "asic"});
  if (auto* e = std::get_if<ConditionError>(&checked)) {
    if (e->position > text.size() || e->message.empty()) __builtin_trap();
    return 0;
  }
  CheckedCondition ok = std::get<CheckedCondition>(std::move(checked));
  SlotMap slots;
  bind(ok.condition, slots);
  // Values derived from the input, some missing, some stale.
  std::vector<Sample> latest(slots.metrics().size());
  for (std::size_t i = 0; i < latest.size(); ++i) {
    const std::uint8_t b = size > i ? data[i] : 0;
    if (b % 3 == 0) continue;
    latest[i].number = static_cast<double>(b) - 100;
    latest[i].observed_ms = 1'000'000 - (b % 5) * 100'000;
    if (slots.metrics()[i] == "miner_state")
      latest[i].state = slots.words().intern(b % 2 ? "mining" : "failure");
  }
  std::vector<WindowStats> windows(slots.windows().size());
  for (std::size_t i = 0; i < windows.size(); ++i) {
    windows[i] = {.count = static_cast<std::int64_t>(i % 3),
                  .sum = 10,
                  .min = 1,
                  .max = 9,
                  .first = 1,
                  .last = 9,
                  .first_ms = 1000,
                  .last_ms = 1000 + static_cast<std::int64_t>(i)};
  }
  std::vector<Term> terms;
  const EvalContext ctx{
      .now_ms = 1'000'000, .stale_after_ms = 300'000, .words = &slots.words(), .capture = &terms};
  const Truth t = evaluate(ok.condition, {latest.data(), windows.data()}, ctx);
  if (t != Truth::kTrue && t != Truth::kFalse && t != Truth::kNoData) __builtin_trap();
  return 0;
}
