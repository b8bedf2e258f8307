#include "rules/checker.h"

#include <algorithm>

#include "core/duration.h"
#include "core/strings.h"
#include "rules/parser.h"

namespace fleet::rules {
namespace {

enum class Ty { kNumber, kBool, kState, kString };

struct Typed {
  Ty ty = Ty::kNumber;
  const MetricInfo* metric = nullptr;  // the state metric, for kState
};

std::string describe_type(Ty ty) {
  switch (ty) {
    case Ty::kNumber:
      return "a number";
    case Ty::kBool:
      return "a condition (true or false)";
    case Ty::kState:
      return "a state";
    case Ty::kString:
      return "a text";
  }
  return "";
}

class Checker {
 public:
  Checker(CheckedCondition& out, const MetricCatalogue& catalogue, const CheckOptions& options)
      : out_(out), cat_(catalogue), options_(options) {}

  std::optional<ConditionError> run() {
    const Condition& c = out_.condition;
    Typed root = visit(c.root);
    if (!error_ && root.ty != Ty::kBool) {
      fail(c.root, "the condition must be true or false, e.g. 'temperature > 80', but this is " +
                       describe_type(root.ty));
    }
    if (error_) return error_;
    detect_simple();
    return std::nullopt;
  }

 private:
  const Condition& cond() const { return out_.condition; }

  Typed fail(int node, std::string message) {
    if (!error_) {
      const Node& n = cond().at(node);
      error_ = ConditionError{.position = n.begin,
                              .length = std::max<std::size_t>(1, n.end - n.begin),
                              .column = column_of(cond().text, n.begin),
                              .message = std::move(message)};
      error_->message = "column " + std::to_string(error_->column) + ": " + error_->message;
    }
    return {};
  }

  std::string quoted(int node) const { return "'" + sanitize_utf8(cond().source(node)) + "'"; }

  const MetricInfo* lookup(int node, const std::string& name) {
    const MetricInfo* m = cat_.find(name);
    if (!m) {
      std::string message = "unknown metric '" + sanitize_utf8(name) + "'";
      const std::string close = closest_match(name, cat_.names());
      message += close.empty() ? " (fleetctl metrics list shows the known ones)"
                               : " (did you mean '" + close + "'?)";
      fail(node, message);
      return nullptr;
    }
    if (options_.kind && !m->reported_by(*options_.kind)) {
      fail(node, "metric '" + name + "' is not reported by workers of kind '" + *options_.kind +
                     "' (reported by: " + join(m->kinds, ", ") + ")");
      return nullptr;
    }
    return m;
  }

  Typed visit(int i) {
    if (error_) return {};
    const Node& n = cond().at(i);
    switch (n.type) {
      case NodeType::kNumber:
        return {Ty::kNumber};
      case NodeType::kString:
        return {Ty::kString};
      case NodeType::kMetric: {
        const MetricInfo* m = lookup(i, n.text);
        if (!m) return {};
        if (std::find(out_.metrics.begin(), out_.metrics.end(), n.text) == out_.metrics.end()) {
          out_.metrics.push_back(n.text);
        }
        if (m->name == "worker_status") out_.reads_worker_status = true;
        if (m->type == ValueType::kState) return {Ty::kState, m};
        return {Ty::kNumber};
      }
      case NodeType::kWindow: {
        const MetricInfo* m = lookup(i, n.text);
        if (!m) return {};
        const std::string fn(to_string(n.fn));
        if (m->type != ValueType::kNumber) {
          return fail(i, fn + "() needs a number metric, but '" + n.text + "' is a state");
        }
        if (m->source != MetricSource::kMetrics) {
          return fail(i, fn + "() reads the history in readings, which '" + n.text +
                             "' does not have (it is computed from the worker)");
        }
        if (n.window < options_.min_window || n.window > options_.max_window) {
          return fail(i, "the window of " + fn + "() must be between " +
                             format_duration(options_.min_window) + " and " +
                             format_duration(options_.max_window) + ", not " +
                             format_duration(n.window));
        }
        WindowRef ref{n.text, n.window};
        if (std::find(out_.windows.begin(), out_.windows.end(), ref) == out_.windows.end()) {
          out_.windows.push_back(ref);
        }
        return {Ty::kNumber};
      }
      case NodeType::kUnary: {
        Typed operand = visit(n.lhs);
        if (error_) return {};
        if (n.op == Op::kNeg) {
          if (operand.ty != Ty::kNumber) {
            return fail(n.lhs, "'-' needs a number, but " + quoted(n.lhs) + " is " +
                                   describe_type(operand.ty));
          }
          return {Ty::kNumber};
        }
        if (operand.ty != Ty::kBool) {
          return fail(n.lhs, "'not' needs a condition, but " + quoted(n.lhs) + " is " +
                                 describe_type(operand.ty));
        }
        return {Ty::kBool};
      }
      case NodeType::kBinary:
        return visit_binary(i, n);
    }
    return {};
  }

  Typed visit_binary(int i, const Node& n) {
    Typed l = visit(n.lhs);
    Typed r = visit(n.rhs);
    if (error_) return {};
    const std::string op(to_string(n.op));
    if (n.op == Op::kAnd || n.op == Op::kOr) {
      for (auto [side, t] : {std::pair{n.lhs, l}, std::pair{n.rhs, r}}) {
        if (t.ty != Ty::kBool) {
          return fail(side,
                      "'" + op + "' joins conditions, but " + quoted(side) + " is " +
                          describe_type(t.ty) +
                          (t.ty == Ty::kNumber
                               ? " (compare it, e.g. " + std::string(cond().source(side)) + " > 80)"
                               : ""));
        }
      }
      return {Ty::kBool};
    }
    if (is_arithmetic(n.op)) {
      for (auto [side, t] : {std::pair{n.lhs, l}, std::pair{n.rhs, r}}) {
        if (t.ty != Ty::kNumber) {
          return fail(side, "'" + op + "' needs numbers on both sides, but " + quoted(side) +
                                " is " + describe_type(t.ty));
        }
      }
      return {Ty::kNumber};
    }
    // Comparisons.
    if (l.ty == Ty::kNumber && r.ty == Ty::kNumber) return {Ty::kBool};
    const bool equality = n.op == Op::kEq || n.op == Op::kNe;
    const bool l_word = l.ty == Ty::kState || l.ty == Ty::kString;
    const bool r_word = r.ty == Ty::kState || r.ty == Ty::kString;
    if (l_word && r_word && equality) {
      if (l.ty == Ty::kString && r.ty == Ty::kString) {
        return fail(i,
                    "comparing two texts always gives the same answer; compare a state metric "
                    "such as miner_state with a text");
      }
      // A text compared with a state must be one of the state's words.
      for (auto [side, other] : {std::pair{n.lhs, r}, std::pair{n.rhs, l}}) {
        const Node& s = cond().at(side);
        if (s.type == NodeType::kString && other.metric && !other.metric->has_state(s.text)) {
          std::string message = "'" + sanitize_utf8(s.text) + "' is not a state of " +
                                other.metric->name + "; expected one of " +
                                join(other.metric->states, ", ");
          const std::string close = closest_match(s.text, other.metric->states);
          if (!close.empty()) message += " (did you mean '" + close + "'?)";
          return fail(side, message);
        }
      }
      return {Ty::kBool};
    }
    if (l_word && r_word) {
      return fail(i, "states and texts can only be compared with == or !=, not '" + op + "'");
    }
    const int bad = l.ty != Ty::kNumber ? n.lhs : n.rhs;
    const Ty bad_ty = l.ty != Ty::kNumber ? l.ty : r.ty;
    if (bad_ty == Ty::kBool) {
      return fail(bad, "'" + op + "' compares values, but " + quoted(bad) +
                           " is already a condition (join conditions with 'and' / 'or')");
    }
    return fail(i, "cannot compare a number with " + describe_type(bad_ty) + " using '" + op + "'");
  }

  void detect_simple() {
    const Condition& c = cond();
    const Node& root = c.at(c.root);
    if (root.type != NodeType::kBinary || !is_comparison(root.op)) return;
    const Node& l = c.at(root.lhs);
    const Node& r = c.at(root.rhs);
    if (l.type != NodeType::kMetric) return;
    const MetricInfo* m = cat_.find(l.text);
    if (!m || m->type != ValueType::kNumber) return;
    double threshold = 0;
    if (r.type == NodeType::kNumber) {
      threshold = r.number;
    } else if (r.type == NodeType::kUnary && r.op == Op::kNeg &&
               c.at(r.lhs).type == NodeType::kNumber) {
      threshold = -c.at(r.lhs).number;
    } else {
      return;
    }
    out_.simple = SimpleThreshold{l.text, root.op, threshold};
  }

  CheckedCondition& out_;
  const MetricCatalogue& cat_;
  const CheckOptions& options_;
  std::optional<ConditionError> error_;
};

}  // namespace

CheckResult check_condition(Condition condition, const MetricCatalogue& catalogue,
                            const CheckOptions& options) {
  CheckedCondition out;
  out.condition = std::move(condition);
  Checker checker(out, catalogue, options);
  if (auto error = checker.run()) return *error;
  return out;
}

CheckResult compile_condition(std::string_view text, const MetricCatalogue& catalogue,
                              const CheckOptions& options) {
  ParseResult parsed = parse_condition(text);
  if (auto* e = std::get_if<ParseError>(&parsed)) {
    return ConditionError{e->position, e->length, e->column, e->message};
  }
  return check_condition(std::move(std::get<Condition>(parsed)), catalogue, options);
}

}  // namespace fleet::rules
