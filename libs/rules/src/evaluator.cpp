#include "rules/evaluator.h"

#include <cmath>

namespace fleet::rules {
namespace {

struct Value {
  enum Kind : std::uint8_t { kNoData, kNumber, kBool, kWord } kind = kNoData;
  double number = 0;       // kNumber; kBool as 0 / 1
  std::int32_t word = -1;  // kWord: state or literal
};

Value number(double v) {
  if (!std::isfinite(v)) return {};
  return {Value::kNumber, v};
}
Value boolean(bool b) {
  return {Value::kBool, b ? 1.0 : 0.0};
}

class Evaluation {
 public:
  Evaluation(const Condition& c, const WorkerValues& v, const EvalContext& ctx)
      : c_(c), v_(v), ctx_(ctx) {}

  Value eval(int i) {
    const Node& n = c_.at(i);
    switch (n.type) {
      case NodeType::kNumber:
        return number(n.number);
      case NodeType::kString:
        return {Value::kWord, 0, n.slot};
      case NodeType::kMetric:
        return metric(i, n);
      case NodeType::kWindow:
        return window(i, n);
      case NodeType::kUnary: {
        Value x = eval(n.lhs);
        if (x.kind == Value::kNoData) return {};
        if (n.op == Op::kNeg) return number(-x.number);
        return boolean(x.number == 0);
      }
      case NodeType::kBinary:
        return binary(n);
    }
    return {};
  }

 private:
  Value binary(const Node& n) {
    if (n.op == Op::kAnd || n.op == Op::kOr) {
      const Value l = eval(n.lhs);
      const Value r = eval(n.rhs);
      const bool decisive = n.op == Op::kOr;  // the value that settles the result alone
      auto is = [&](const Value& x) {
        return x.kind == Value::kBool && (x.number != 0) == decisive;
      };
      if (is(l) || is(r)) return boolean(decisive);
      if (l.kind == Value::kNoData || r.kind == Value::kNoData) return {};
      return boolean(!decisive);
    }
    const Value l = eval(n.lhs);
    const Value r = eval(n.rhs);
    if (l.kind == Value::kNoData || r.kind == Value::kNoData) return {};
    switch (n.op) {
      case Op::kAdd:
        return number(l.number + r.number);
      case Op::kSub:
        return number(l.number - r.number);
      case Op::kMul:
        return number(l.number * r.number);
      case Op::kDiv:
        if (r.number == 0) return {};
        return number(l.number / r.number);
      case Op::kEq:
        if (l.kind == Value::kWord) return boolean(l.word == r.word);
        return boolean(l.number == r.number);
      case Op::kNe:
        if (l.kind == Value::kWord) return boolean(l.word != r.word);
        return boolean(l.number != r.number);
      case Op::kGt:
        return boolean(l.number > r.number);
      case Op::kLt:
        return boolean(l.number < r.number);
      case Op::kGe:
        return boolean(l.number >= r.number);
      case Op::kLe:
        return boolean(l.number <= r.number);
      default:
        return {};
    }
  }

  Value metric(int i, const Node& n) {
    const Sample& s = v_.latest[n.slot];
    Value out;
    if (s.present() && ctx_.now_ms - s.observed_ms <= ctx_.stale_after_ms) {
      if (s.state >= 0) {
        out = {Value::kWord, 0, s.state};
      } else {
        out = number(s.number);
      }
    }
    record(i, out);
    return out;
  }

  Value window(int i, const Node& n) {
    const WindowStats& w = v_.windows[n.slot];
    Value out;
    if (w.count > 0) {
      switch (n.fn) {
        case WindowFn::kAvg:
          out = number(w.sum / static_cast<double>(w.count));
          break;
        case WindowFn::kMin:
          out = number(w.min);
          break;
        case WindowFn::kMax:
          out = number(w.max);
          break;
        case WindowFn::kLast:
          out = number(w.last);
          break;
        case WindowFn::kDelta:
          if (w.count >= 2) out = number(w.last - w.first);
          break;
        case WindowFn::kRate:
          if (w.count >= 2 && w.last_ms > w.first_ms) {
            out = number((w.last - w.first) / (static_cast<double>(w.last_ms - w.first_ms) / 1000));
          }
          break;
      }
    }
    record(i, out);
    return out;
  }

  void record(int i, const Value& v) {
    if (!ctx_.capture) return;
    std::string expression(c_.source(i));
    for (const Term& t : *ctx_.capture) {
      if (t.expression == expression) return;
    }
    Term term{std::move(expression), std::nullopt, std::nullopt};
    if (v.kind == Value::kNumber) term.number = v.number;
    if (v.kind == Value::kWord && ctx_.words && v.word >= 0) term.state = ctx_.words->word(v.word);
    ctx_.capture->push_back(std::move(term));
  }

  const Condition& c_;
  const WorkerValues& v_;
  const EvalContext& ctx_;
};

}  // namespace

std::int32_t StateWords::intern(std::string_view word) {
  if (auto it = ids_.find(word); it != ids_.end()) return it->second;
  const auto id = static_cast<std::int32_t>(words_.size());
  words_.emplace_back(word);
  ids_.emplace(std::string(word), id);
  return id;
}

std::int32_t StateWords::find(std::string_view word) const {
  auto it = ids_.find(word);
  return it == ids_.end() ? -1 : it->second;
}

int SlotMap::metric_slot(const std::string& metric) {
  if (auto it = metric_index_.find(metric); it != metric_index_.end()) return it->second;
  const int slot = static_cast<int>(metrics_.size());
  metrics_.push_back(metric);
  metric_index_.emplace(metric, slot);
  return slot;
}

int SlotMap::window_slot(const WindowRef& window) {
  for (std::size_t i = 0; i < windows_.size(); ++i) {
    if (windows_[i] == window) return static_cast<int>(i);
  }
  windows_.push_back(window);
  return static_cast<int>(windows_.size()) - 1;
}

void bind(Condition& condition, SlotMap& slots) {
  for (Node& n : condition.nodes) {
    if (n.type == NodeType::kMetric) n.slot = slots.metric_slot(n.text);
    if (n.type == NodeType::kWindow) n.slot = slots.window_slot({n.text, n.window});
    if (n.type == NodeType::kString) n.slot = slots.words().intern(n.text);
  }
}

std::string_view to_string(Truth truth) {
  switch (truth) {
    case Truth::kFalse:
      return "false";
    case Truth::kTrue:
      return "true";
    case Truth::kNoData:
      return "no data";
  }
  return "";
}

Truth evaluate(const Condition& condition, const WorkerValues& values, const EvalContext& context) {
  Evaluation evaluation(condition, values, context);
  const Value v = evaluation.eval(condition.root);
  if (v.kind == Value::kNoData) return Truth::kNoData;
  return v.number != 0 ? Truth::kTrue : Truth::kFalse;
}

}  // namespace fleet::rules
