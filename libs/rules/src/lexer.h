// Splits a condition into tokens. Private to the rules library (the parser is the public face).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fleet::rules {

enum class Tok {
  kNumber,
  kDuration,
  kString,
  kIdent,
  kAnd,
  kOr,
  kNot,
  kLParen,
  kRParen,
  kComma,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kGt,
  kLt,
  kGe,
  kLe,
  kEq,
  kNe,
  kEnd,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::size_t begin = 0;  // byte span in the text
  std::size_t end = 0;
  double number = 0;
  std::chrono::milliseconds duration{0};
  std::string text;  // identifier or string literal (unescaped)
};

struct LexError {
  std::size_t position = 0;
  std::size_t length = 1;
  std::string expected;
  std::string found;
  std::string hint;  // extra advice ("use 'and'"), may be empty
};

// Tokens of the whole text, ending with kEnd. REQUIRES: text.size() <= kMaxConditionLength.
std::variant<std::vector<Token>, LexError> lex(std::string_view text);

// How a token reads in an error message: "'>'", "number 80", "end of input", ...
std::string describe(const Token& token, std::string_view text);

// Bytes of the UTF-8 sequence starting with `lead` (1 for invalid lead bytes).
std::size_t utf8_length(unsigned char lead);

}  // namespace fleet::rules
