// Parses the condition language into a tree (docs/rules.md). Pure: no database, no catalogue.
//
//   condition := or
//   or        := and ("or" and)*
//   and       := not ("and" not)*
//   not       := "not" not | compare
//   compare   := sum [(">" | "<" | ">=" | "<=" | "==" | "!=") sum]
//   sum       := product (("+" | "-") product)*
//   product   := unary (("*" | "/") unary)*
//   unary     := "-" unary | primary
//   primary   := NUMBER | STRING | METRIC | FN "(" METRIC "," DURATION ")" | "(" condition ")"
//   FN        := avg | min | max | last | delta | rate
//
// Keywords are case-insensitive. Input is bounded: at most kMaxConditionLength bytes, kMaxNodes
// nodes and kMaxDepth levels of nesting, so hostile input cannot exhaust the stack or memory.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "rules/ast.h"

namespace fleet::rules {

inline constexpr std::size_t kMaxConditionLength = 4096;
inline constexpr std::size_t kMaxNodes = 256;
inline constexpr int kMaxDepth = 32;

// Where the text is wrong and what would have been right there.
struct ParseError {
  std::size_t position = 0;  // byte offset into the text
  std::size_t length = 1;    // bytes the error covers (for the caret line)
  std::size_t column = 1;    // 1-based character column of `position`
  std::string expected;      // "a number, a metric name or '('"
  std::string found;         // "'>'", "end of input"
  std::string message;       // one line: "column 15: expected ... but found ..."
};

using ParseResult = std::variant<Condition, ParseError>;

ParseResult parse_condition(std::string_view text);

// The text with a caret line under the error, for terminals:
//   temperature > > 80
//                 ^ column 15: expected a number, a metric name or '(' but found '>'
std::string render_error(std::string_view text, std::size_t position, std::size_t length,
                         const std::string& message);

// 1-based character column of a byte offset in UTF-8 text.
std::size_t column_of(std::string_view text, std::size_t position);

}  // namespace fleet::rules
