// The syntax tree of a rule condition (docs/rules.md), e.g. `avg(chip_temp_max, 10m) >= 85 and
// fan_rpm_min < 1000`.
//
// Nodes live in one flat vector and refer to their children by index, so a tree is cheap to copy,
// to walk and to destroy (no recursive destructor however deep the input was).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fleet::rules {

enum class NodeType {
  kNumber,  // 80, 0.8, 1e3
  kString,  // "failure" (compared with state metrics)
  kMetric,  // chip_temp_max: the latest value
  kWindow,  // avg(chip_temp_max, 10m): an aggregate over readings
  kUnary,   // -x, not x
  kBinary,  // x + y, x > y, x and y
};

enum class Op {
  kNone,
  kNeg,
  kNot,  // unary
  kAdd,
  kSub,
  kMul,
  kDiv,  // arithmetic
  kGt,
  kLt,
  kGe,
  kLe,
  kEq,
  kNe,  // comparison
  kAnd,
  kOr,  // logic
};

enum class WindowFn { kAvg, kMin, kMax, kLast, kDelta, kRate };

struct Node {
  NodeType type = NodeType::kNumber;
  Op op = Op::kNone;
  WindowFn fn = WindowFn::kAvg;
  int lhs = -1;  // child index (unary: the operand)
  int rhs = -1;
  double number = 0;
  std::string text;  // metric name or string literal
  std::chrono::milliseconds window{0};
  std::size_t begin = 0;  // byte span of the node in the condition text
  std::size_t end = 0;
  // Set when a rule set is bound to its data: the metric's or the window's column (-1 = unbound).
  int slot = -1;
};

struct Condition {
  std::string text;         // the source text, as written
  std::vector<Node> nodes;  // root last
  int root = -1;

  const Node& at(int i) const { return nodes[static_cast<std::size_t>(i)]; }
  // The source text of node i, e.g. "avg(chip_temp_max, 10m)".
  std::string_view source(int i) const;
};

std::string_view to_string(Op op);        // ">", "and", ...
std::string_view to_string(WindowFn fn);  // "avg", ...
bool is_comparison(Op op);
bool is_arithmetic(Op op);

}  // namespace fleet::rules
