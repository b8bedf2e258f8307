#include "rules/parser.h"

#include <optional>

#include "core/strings.h"
#include "lexer.h"

namespace fleet::rules {
namespace {

constexpr const char* kOperand = "a number, a metric name, a function or '('";

std::optional<WindowFn> window_fn(const std::string& name) {
  const std::string n = to_lower(name);
  if (n == "avg") return WindowFn::kAvg;
  if (n == "min") return WindowFn::kMin;
  if (n == "max") return WindowFn::kMax;
  if (n == "last") return WindowFn::kLast;
  if (n == "delta") return WindowFn::kDelta;
  if (n == "rate") return WindowFn::kRate;
  return std::nullopt;
}

std::optional<Op> comparison(Tok t) {
  switch (t) {
    case Tok::kGt:
      return Op::kGt;
    case Tok::kLt:
      return Op::kLt;
    case Tok::kGe:
      return Op::kGe;
    case Tok::kLe:
      return Op::kLe;
    case Tok::kEq:
      return Op::kEq;
    case Tok::kNe:
      return Op::kNe;
    default:
      return std::nullopt;
  }
}

// Recursive descent over the token list. Every parse_* returns the new node's index, or -1 after
// recording the first error (parsing stops there).
class Parser {
 public:
  Parser(std::string_view text, const std::vector<Token>& tokens, Condition& out)
      : text_(text), toks_(tokens), out_(out) {}

  std::optional<ParseError> run() {
    out_.root = parse_or();
    if (out_.root >= 0 && peek().kind != Tok::kEnd) {
      fail(peek(), "an operator, 'and', 'or' or end of input",
           peek().kind == Tok::kRParen ? "this ')' has no matching '('" : "");
    }
    return error_;
  }

 private:
  const Token& peek() const { return toks_[pos_]; }
  const Token& take() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }

  int fail(const Token& at, std::string expected, std::string hint = {}) {
    if (error_) return -1;
    ParseError e;
    e.position = at.begin;
    e.length = std::max<std::size_t>(1, at.end - at.begin);
    e.expected = std::move(expected);
    e.found = describe(at, text_);
    e.message = "expected " + e.expected + " but found " + e.found;
    if (!hint.empty()) e.message += " (" + hint + ")";
    error_ = std::move(e);
    return -1;
  }

  int fail_limit(const Token& at, const std::string& what) {
    if (error_) return -1;
    ParseError e;
    e.position = at.begin;
    e.length = std::max<std::size_t>(1, at.end - at.begin);
    e.expected = "a simpler condition";
    e.found = describe(at, text_);
    e.message = what;
    error_ = std::move(e);
    return -1;
  }

  int add(Node node) {
    if (out_.nodes.size() >= kMaxNodes) {
      return fail_limit(peek(),
                        "condition is too long: more than " + std::to_string(kMaxNodes) + " terms");
    }
    out_.nodes.push_back(std::move(node));
    return static_cast<int>(out_.nodes.size()) - 1;
  }

  int binary(Op op, int lhs, int rhs) {
    Node n{.type = NodeType::kBinary, .op = op, .lhs = lhs, .rhs = rhs};
    n.begin = out_.at(lhs).begin;
    n.end = out_.at(rhs).end;
    return add(std::move(n));
  }

  // Guards every construct that nests (parentheses, not, unary minus).
  struct Nest {
    explicit Nest(Parser& p) : p_(p) { ++p_.depth_; }
    ~Nest() { --p_.depth_; }
    bool too_deep() const { return p_.depth_ > kMaxDepth; }
    Parser& p_;
  };

  int parse_or() {
    int lhs = parse_and();
    while (lhs >= 0 && peek().kind == Tok::kOr) {
      take();
      int rhs = parse_and();
      if (rhs < 0) return -1;
      lhs = binary(Op::kOr, lhs, rhs);
    }
    return lhs;
  }

  int parse_and() {
    int lhs = parse_not();
    while (lhs >= 0 && peek().kind == Tok::kAnd) {
      take();
      int rhs = parse_not();
      if (rhs < 0) return -1;
      lhs = binary(Op::kAnd, lhs, rhs);
    }
    return lhs;
  }

  int parse_not() {
    if (peek().kind != Tok::kNot) return parse_compare();
    Nest nest(*this);
    const Token& t = take();
    if (nest.too_deep()) return fail_limit(t, too_deep_message());
    int operand = parse_not();
    if (operand < 0) return -1;
    Node n{.type = NodeType::kUnary, .op = Op::kNot, .lhs = operand};
    n.begin = t.begin;
    n.end = out_.at(operand).end;
    return add(std::move(n));
  }

  int parse_compare() {
    int lhs = parse_sum();
    if (lhs < 0) return -1;
    auto op = comparison(peek().kind);
    if (!op) return lhs;
    take();
    int rhs = parse_sum();
    if (rhs < 0) return -1;
    if (comparison(peek().kind)) {
      return fail(peek(), "'and', 'or', ')' or end of input",
                  "comparisons cannot be chained; join them with 'and'");
    }
    return binary(*op, lhs, rhs);
  }

  int parse_sum() {
    int lhs = parse_product();
    while (lhs >= 0 && (peek().kind == Tok::kPlus || peek().kind == Tok::kMinus)) {
      const Op op = take().kind == Tok::kPlus ? Op::kAdd : Op::kSub;
      int rhs = parse_product();
      if (rhs < 0) return -1;
      lhs = binary(op, lhs, rhs);
    }
    return lhs;
  }

  int parse_product() {
    int lhs = parse_unary();
    while (lhs >= 0 && (peek().kind == Tok::kStar || peek().kind == Tok::kSlash)) {
      const Op op = take().kind == Tok::kStar ? Op::kMul : Op::kDiv;
      int rhs = parse_unary();
      if (rhs < 0) return -1;
      lhs = binary(op, lhs, rhs);
    }
    return lhs;
  }

  int parse_unary() {
    if (peek().kind != Tok::kMinus) return parse_primary();
    Nest nest(*this);
    const Token& t = take();
    if (nest.too_deep()) return fail_limit(t, too_deep_message());
    int operand = parse_unary();
    if (operand < 0) return -1;
    Node n{.type = NodeType::kUnary, .op = Op::kNeg, .lhs = operand};
    n.begin = t.begin;
    n.end = out_.at(operand).end;
    return add(std::move(n));
  }

  int parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::kNumber: {
        take();
        return add({.type = NodeType::kNumber, .number = t.number, .begin = t.begin, .end = t.end});
      }
      case Tok::kString: {
        take();
        return add({.type = NodeType::kString, .text = t.text, .begin = t.begin, .end = t.end});
      }
      case Tok::kIdent: {
        take();
        if (peek().kind == Tok::kLParen) return parse_window(t);
        return add({.type = NodeType::kMetric, .text = t.text, .begin = t.begin, .end = t.end});
      }
      case Tok::kLParen: {
        Nest nest(*this);
        take();
        if (nest.too_deep()) return fail_limit(t, too_deep_message());
        int inner = parse_or();
        if (inner < 0) return -1;
        if (peek().kind != Tok::kRParen) {
          return fail(peek(), "an operator, 'and', 'or' or ')'",
                      peek().kind == Tok::kEnd
                          ? "the '(' at column " + std::to_string(column_of(text_, t.begin)) +
                                " is not closed"
                          : "");
        }
        const Token& close = take();
        // Parentheses leave no node; widen the inner node's span to include them.
        out_.nodes[static_cast<std::size_t>(inner)].begin = t.begin;
        out_.nodes[static_cast<std::size_t>(inner)].end = close.end;
        return inner;
      }
      case Tok::kDuration:
        return fail(t, kOperand,
                    "a duration is only allowed as the second argument of avg, min, max, last, "
                    "delta or rate");
      case Tok::kRParen:
        return fail(t, kOperand, "nothing between the parentheses");
      default:
        return fail(t, kOperand);
    }
  }

  // fn "(" METRIC "," DURATION ")", after the name.
  int parse_window(const Token& name) {
    auto fn = window_fn(name.text);
    if (!fn) {
      ParseError e;
      e.position = name.begin;
      e.length = name.end - name.begin;
      e.expected = "avg, min, max, last, delta or rate";
      e.found = "function '" + sanitize_utf8(name.text) + "'";
      e.message = "unknown function '" + sanitize_utf8(name.text) + "': expected " + e.expected;
      if (!error_) error_ = std::move(e);
      return -1;
    }
    take();  // (
    const Token& metric = peek();
    if (metric.kind != Tok::kIdent) return fail(metric, "a metric name");
    take();
    if (peek().kind != Tok::kComma) {
      return fail(peek(), "','",
                  "a window function takes a metric and a duration, e.g. " +
                      std::string(to_string(*fn)) + "(" + metric.text + ", 5m)");
    }
    take();
    const Token& window = peek();
    if (window.kind != Tok::kDuration) {
      return fail(window, "a duration such as 5m",
                  window.kind == Tok::kNumber ? "give the unit: ms, s, m, h or d" : "");
    }
    take();
    if (peek().kind != Tok::kRParen) return fail(peek(), "')'");
    const Token& close = take();
    return add({.type = NodeType::kWindow,
                .fn = *fn,
                .text = metric.text,
                .window = window.duration,
                .begin = name.begin,
                .end = close.end});
  }

  static std::string too_deep_message() {
    return "condition is nested too deeply: more than " + std::to_string(kMaxDepth) + " levels";
  }

  std::string_view text_;
  const std::vector<Token>& toks_;
  Condition& out_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::optional<ParseError> error_;
};

ParseError finish(std::string_view text, ParseError e) {
  e.column = column_of(text, e.position);
  e.message = "column " + std::to_string(e.column) + ": " + e.message;
  return e;
}

}  // namespace

std::size_t column_of(std::string_view text, std::size_t position) {
  std::size_t column = 1;
  for (std::size_t i = 0; i < position && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  }
  // `column` counted the lead bytes before position, so it is already 1-based.
  return column;
}

ParseResult parse_condition(std::string_view text) {
  if (text.size() > kMaxConditionLength) {
    ParseError e{.position = kMaxConditionLength,
                 .length = 1,
                 .expected = "at most " + std::to_string(kMaxConditionLength) + " characters",
                 .found = std::to_string(text.size()) + " bytes",
                 .message = "condition is too long: " + std::to_string(text.size()) +
                            " bytes (at most " + std::to_string(kMaxConditionLength) + ")"};
    return finish(text, std::move(e));
  }
  auto lexed = lex(text);
  if (auto* le = std::get_if<LexError>(&lexed)) {
    ParseError e{.position = le->position,
                 .length = le->length,
                 .expected = le->expected,
                 .found = le->found};
    e.message = "expected " + e.expected + " but found " + e.found;
    if (!le->hint.empty()) e.message += " (" + le->hint + ")";
    return finish(text, std::move(e));
  }
  const auto& tokens = std::get<std::vector<Token>>(lexed);
  Condition condition;
  condition.text = std::string(text);
  if (tokens.size() == 1) {
    ParseError e{.position = 0,
                 .length = 1,
                 .expected = "a condition such as temperature > 80",
                 .found = "end of input",
                 .message = "the condition is empty"};
    return finish(text, std::move(e));
  }
  Parser parser(text, tokens, condition);
  if (auto error = parser.run()) return finish(text, std::move(*error));
  return condition;
}

std::string render_error(std::string_view text, std::size_t position, std::size_t length,
                         const std::string& message) {
  std::string line = sanitize_utf8(text);
  for (char& c : line) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  const std::size_t column = column_of(text, position);
  const std::size_t end_column = column_of(text, std::min(text.size(), position + length));
  const std::size_t carets = std::max<std::size_t>(1, end_column - column);
  return line + "\n" + std::string(column - 1, ' ') + std::string(carets, '^') + " " + message;
}

}  // namespace fleet::rules
