#include "rules/ast.h"

namespace fleet::rules {

std::string_view Condition::source(int i) const {
  const Node& n = at(i);
  if (n.begin >= text.size() || n.end <= n.begin) return {};
  return std::string_view(text).substr(n.begin, n.end - n.begin);
}

std::string_view to_string(Op op) {
  switch (op) {
    case Op::kNone:
      return "";
    case Op::kNeg:
      return "-";
    case Op::kNot:
      return "not";
    case Op::kAdd:
      return "+";
    case Op::kSub:
      return "-";
    case Op::kMul:
      return "*";
    case Op::kDiv:
      return "/";
    case Op::kGt:
      return ">";
    case Op::kLt:
      return "<";
    case Op::kGe:
      return ">=";
    case Op::kLe:
      return "<=";
    case Op::kEq:
      return "==";
    case Op::kNe:
      return "!=";
    case Op::kAnd:
      return "and";
    case Op::kOr:
      return "or";
  }
  return "";
}

std::string_view to_string(WindowFn fn) {
  switch (fn) {
    case WindowFn::kAvg:
      return "avg";
    case WindowFn::kMin:
      return "min";
    case WindowFn::kMax:
      return "max";
    case WindowFn::kLast:
      return "last";
    case WindowFn::kDelta:
      return "delta";
    case WindowFn::kRate:
      return "rate";
  }
  return "";
}

bool is_comparison(Op op) {
  return op == Op::kGt || op == Op::kLt || op == Op::kGe || op == Op::kLe || op == Op::kEq ||
         op == Op::kNe;
}

bool is_arithmetic(Op op) {
  return op == Op::kAdd || op == Op::kSub || op == Op::kMul || op == Op::kDiv;
}

}  // namespace fleet::rules
