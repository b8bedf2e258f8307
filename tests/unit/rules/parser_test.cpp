// The condition parser: table-driven valid inputs (printed back as S-expressions) and invalid
// inputs with the column and what was expected.
#include <catch2/catch.hpp>

#include <string>

#include "core/strings.h"
#include "rules/parser.h"

using namespace fleet::rules;

namespace {

std::string number_text(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// (op lhs rhs), metric, 80, "text", (avg metric 600000ms)
std::string sexpr(const Condition& c, int i) {
  const Node& n = c.at(i);
  switch (n.type) {
    case NodeType::kNumber:
      return number_text(n.number);
    case NodeType::kString:
      return "\"" + n.text + "\"";
    case NodeType::kMetric:
      return n.text;
    case NodeType::kWindow:
      return "(" + std::string(to_string(n.fn)) + " " + n.text + " " +
             std::to_string(n.window.count()) + "ms)";
    case NodeType::kUnary:
      return "(" + std::string(to_string(n.op)) + " " + sexpr(c, n.lhs) + ")";
    case NodeType::kBinary:
      return "(" + std::string(to_string(n.op)) + " " + sexpr(c, n.lhs) + " " + sexpr(c, n.rhs) +
             ")";
  }
  return "?";
}

// n copies of c around `middle` (GCC 12 misreports string concatenation of temporaries at -O2).
std::string wrap(std::size_t n, char open, const std::string& middle, char close = 0) {
  std::string out;
  out.append(n, open);
  out += middle;
  if (close) out.append(n, close);
  return out;
}

std::string parse_to_sexpr(const std::string& text) {
  auto r = parse_condition(text);
  if (auto* e = std::get_if<ParseError>(&r)) return "ERROR " + e->message;
  const auto& c = std::get<Condition>(r);
  return sexpr(c, c.root);
}

}  // namespace

TEST_CASE("valid conditions parse with the right precedence", "[rules][parser]") {
  struct Case {
    const char* text;
    const char* tree;
  };
  const Case cases[] = {
      {"temperature > 80", "(> temperature 80)"},  // seed 000
      {"temperature>80", "(> temperature 80)"},
      {"temperature > 82.0", "(> temperature 82)"},  // seed 001's simple form
      {"ph <= 7.8", "(<= ph 7.8)"},
      {"ph >= .5", "(>= ph 0.5)"},
      {"power == 1e3", "(== power 1000)"},
      {"power != 0", "(!= power 0)"},
      {"power < 2.5E-1", "(< power 0.25)"},
      {"temperature < -5", "(< temperature (- 5))"},
      {"hashrate < 0.8 * hashrate_nominal", "(< hashrate (* 0.8 hashrate_nominal))"},
      {"a + b * c - d / e > 1", "(> (- (+ a (* b c)) (/ d e)) 1)"},
      {"(a + b) * c > 1", "(> (* (+ a b) c) 1)"},
      {"a - b - c > 0", "(> (- (- a b) c) 0)"},
      {"avg(chip_temp_max, 10m) >= 85 and fan_rpm_min < 1000",
       "(and (>= (avg chip_temp_max 600000ms) 85) (< fan_rpm_min 1000))"},
      {"a > 1 or b > 2 and c > 3", "(or (> a 1) (and (> b 2) (> c 3)))"},
      {"(a > 1 or b > 2) and c > 3", "(and (or (> a 1) (> b 2)) (> c 3))"},
      {"not a > 1", "(not (> a 1))"},
      {"NOT a > 1 AND b < 2", "(and (not (> a 1)) (< b 2))"},
      {"not not a > 1", "(not (not (> a 1)))"},
      {"min(x, 30s) < 1 or max(x, 1h30m) > 2",
       "(or (< (min x 30000ms) 1) (> (max x 5400000ms) 2))"},
      {"last(x, 500ms) == 1", "(== (last x 500ms) 1)"},
      {"delta(x, 5m) > 0", "(> (delta x 300000ms) 0)"},
      {"rate(x, 1d) > 0", "(> (rate x 86400000ms) 0)"},
      {"miner_state == \"failure\"", "(== miner_state \"failure\")"},
      {"miner_state != 'mining'", "(!= miner_state \"mining\")"},
      {"  temperature\t>\n80  ", "(> temperature 80)"},
      {"chip.temp_0 > 1", "(> chip.temp_0 1)"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK(parse_to_sexpr(c.text) == c.tree);
  }
}

TEST_CASE("invalid conditions name the column and what was expected", "[rules][parser]") {
  struct Case {
    const char* text;
    std::size_t column;
    const char* expected;  // a fragment of the message
  };
  const Case cases[] = {
      {"", 1, "the condition is empty"},
      {"   ", 1, "the condition is empty"},
      {"temperature > > 80", 15,
       "expected a number, a metric name, a function or '(' but found '>'"},
      {"temperature >", 14, "but found end of input"},
      {"temperature 80", 13,
       "expected an operator, 'and', 'or' or end of input but found number 80"},
      {"temperature = 80", 13, "use '==' to compare"},
      {"temperature => 80", 13, "use '==' to compare"},
      {"a > 1 && b > 2", 7, "use 'and'"},
      {"a > 1 || b > 2", 7, "use 'or'"},
      {"!a", 1, "use 'not'"},
      {"a <> 1", 3, "use '!='"},
      {"(a > 1", 7, "the '(' at column 1 is not closed"},
      {"a > 1)", 6, "has no matching '('"},
      {"()", 2, "nothing between the parentheses"},
      {"a > 1 > 2", 7, "comparisons cannot be chained"},
      {"avg(x 5m) > 1", 7, "expected ','"},
      {"avg(x, 5) > 1", 8, "give the unit"},
      {"avg(x, 5m > 1", 11, "expected ')'"},
      {"avg(5m, x) > 1", 5, "expected a metric name"},
      {"median(x, 5m) > 1", 1, "unknown function 'median'"},
      {"x > 10m", 5, "a duration is only allowed as the second argument"},
      {"x > 80C", 5, "'80C'"},
      {"x > 1.2.3", 5, "'1.2.3'"},
      {"x == \"open", 6, "not closed"},
      {"x > 1 and", 10, "but found end of input"},
      {"temp€ > 1", 5, "found '€'"},
      {"température > 1", 5, "found 'é'"},
      {"x > 1 and or y > 2", 11, "but found 'or'"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = parse_condition(c.text);
    REQUIRE(std::holds_alternative<ParseError>(r));
    const auto& e = std::get<ParseError>(r);
    CHECK(e.column == c.column);
    CHECK_THAT(e.message, Catch::Matchers::Contains(c.expected));
    CHECK_THAT(e.message, Catch::Matchers::StartsWith("column " + std::to_string(c.column) + ": "));
  }
}

TEST_CASE("nesting, length and size are bounded", "[rules][parser]") {
  std::string ok = wrap(kMaxDepth, '(', "x > 1", ')');
  CHECK(std::holds_alternative<Condition>(parse_condition(ok)));

  std::string deep = wrap(kMaxDepth + 1, '(', "x > 1", ')');
  auto r = parse_condition(deep);
  REQUIRE(std::holds_alternative<ParseError>(r));
  CHECK_THAT(std::get<ParseError>(r).message, Catch::Matchers::Contains("nested too deeply"));
  CHECK(std::get<ParseError>(r).column == kMaxDepth + 1);

  // Deep input far beyond the limit fails fast instead of exhausting the stack.
  std::string hostile(4000, '(');
  CHECK(std::holds_alternative<ParseError>(parse_condition(hostile)));
  std::string nots;
  for (int i = 0; i < 1000; ++i)
    nots += "not ";
  CHECK_THAT(std::get<ParseError>(parse_condition(nots + "x > 1")).message,
             Catch::Matchers::Contains("nested too deeply"));
  CHECK_THAT(std::get<ParseError>(parse_condition(wrap(500, '-', "x > 1"))).message,
             Catch::Matchers::Contains("nested too deeply"));

  std::string long_sum = "x";
  for (int i = 0; i < 300; ++i)
    long_sum += " + x";
  CHECK_THAT(std::get<ParseError>(parse_condition(long_sum + " > 1")).message,
             Catch::Matchers::Contains("more than 256 terms"));
  CHECK_THAT(std::get<ParseError>(parse_condition(wrap(5000, ' ', "x > 1"))).message,
             Catch::Matchers::Contains("condition is too long"));
}

TEST_CASE("node spans cover their source text", "[rules][parser]") {
  auto r = parse_condition("avg(chip_temp_max, 10m) >= (85 + 1)");
  const auto& c = std::get<Condition>(r);
  const Node& root = c.at(c.root);
  CHECK(c.source(c.root) == "avg(chip_temp_max, 10m) >= (85 + 1)");
  CHECK(c.source(root.lhs) == "avg(chip_temp_max, 10m)");
  CHECK(c.source(root.rhs) == "(85 + 1)");
}

TEST_CASE("errors render with a caret under the offending text", "[rules][parser]") {
  const std::string text = "temperature > > 80";
  auto e = std::get<ParseError>(parse_condition(text));
  CHECK(render_error(text, e.position, e.length, e.message) ==
        "temperature > > 80\n"
        "              ^ " +
            e.message);
  const std::string wide = "température == 1";
  CHECK(column_of(wide, wide.find("==")) == 13);
  CHECK(render_error(wide, wide.find("=="), 2, "m") == wide + "\n            ^^ m");
}
