#include "lexer.h"

#include <charconv>
#include <cmath>

#include "core/duration.h"
#include "core/strings.h"

namespace fleet::rules {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '.';
}

const char* kExpectedToken = "a number, a metric name, an operator or a parenthesis";

// The character at `pos` as shown in a message, never cutting a UTF-8 sequence.
std::string char_at(std::string_view text, std::size_t pos) {
  const std::size_t n =
      std::min(utf8_length(static_cast<unsigned char>(text[pos])), text.size() - pos);
  return sanitize_utf8(text.substr(pos, n));
}

LexError unexpected(std::string_view text, std::size_t pos, std::string hint = {}) {
  const std::size_t n =
      std::min(utf8_length(static_cast<unsigned char>(text[pos])), text.size() - pos);
  return {pos, n, kExpectedToken, "'" + char_at(text, pos) + "'", std::move(hint)};
}

}  // namespace

std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

std::variant<std::vector<Token>, LexError> lex(std::string_view text) {
  std::vector<Token> out;
  std::size_t i = 0;
  auto simple = [&](Tok kind, std::size_t len) {
    out.push_back({.kind = kind, .begin = i, .end = i + len});
    i += len;
  };
  while (i < text.size()) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    if (is_digit(c) || (c == '.' && is_digit(next))) {
      // A number, or a duration when letters follow the digits ("10m", "1h30m").
      const std::size_t start = i;
      while (i < text.size() && (is_digit(text[i]) || text[i] == '.'))
        ++i;
      if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        std::size_t j = i + 1;
        if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
        if (j < text.size() && is_digit(text[j])) {
          i = j;
          while (i < text.size() && is_digit(text[i]))
            ++i;
        }
      }
      if (i < text.size() && is_ident_char(text[i])) {
        while (i < text.size() && is_ident_char(text[i]))
          ++i;
        const std::string_view run = text.substr(start, i - start);
        auto d = parse_duration(run);
        if (!d.ok()) {
          return LexError{start, i - start, "a number or a duration such as 5m",
                          "'" + std::string(run) + "'",
                          "durations use ms, s, m, h or d; numbers take no unit"};
        }
        out.push_back({.kind = Tok::kDuration, .begin = start, .end = i, .duration = *d});
        continue;
      }
      const std::string_view run = text.substr(start, i - start);
      double value = 0;
      auto [ptr, ec] = std::from_chars(run.data(), run.data() + run.size(), value);
      if (ec != std::errc() || ptr != run.data() + run.size() || !std::isfinite(value)) {
        return LexError{start, i - start, "a number", "'" + std::string(run) + "'", ""};
      }
      out.push_back({.kind = Tok::kNumber, .begin = start, .end = i, .number = value});
      continue;
    }
    if (is_alpha(c)) {
      const std::size_t start = i;
      while (i < text.size() && is_ident_char(text[i]))
        ++i;
      std::string word(text.substr(start, i - start));
      const std::string lower = to_lower(word);
      Tok kind = Tok::kIdent;
      if (lower == "and") kind = Tok::kAnd;
      if (lower == "or") kind = Tok::kOr;
      if (lower == "not") kind = Tok::kNot;
      out.push_back({.kind = kind, .begin = start, .end = i, .text = std::move(word)});
      continue;
    }
    if (c == '"' || c == '\'') {
      const std::size_t start = i++;
      std::string value;
      bool closed = false;
      while (i < text.size()) {
        const char d = text[i];
        if (d == c) {
          closed = true;
          ++i;
          break;
        }
        if (d == '\n') break;
        if (d == '\\' && i + 1 < text.size() && (text[i + 1] == c || text[i + 1] == '\\')) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        value += d;
        ++i;
      }
      if (!closed) {
        return LexError{start, 1, std::string("a closing ") + c, "end of input",
                        "the string that starts here is not closed"};
      }
      out.push_back({.kind = Tok::kString, .begin = start, .end = i, .text = std::move(value)});
      continue;
    }
    switch (c) {
      case '(':
        simple(Tok::kLParen, 1);
        continue;
      case ')':
        simple(Tok::kRParen, 1);
        continue;
      case ',':
        simple(Tok::kComma, 1);
        continue;
      case '+':
        simple(Tok::kPlus, 1);
        continue;
      case '-':
        simple(Tok::kMinus, 1);
        continue;
      case '*':
        simple(Tok::kStar, 1);
        continue;
      case '/':
        simple(Tok::kSlash, 1);
        continue;
      case '>':
        if (next == '=')
          simple(Tok::kGe, 2);
        else
          simple(Tok::kGt, 1);
        continue;
      case '<':
        if (next == '=') {
          simple(Tok::kLe, 2);
        } else if (next == '>') {
          return LexError{i, 2, "a comparison operator", "'<>'", "use '!=' for 'not equal'"};
        } else {
          simple(Tok::kLt, 1);
        }
        continue;
      case '=':
        if (next == '=') {
          simple(Tok::kEq, 2);
          continue;
        }
        return LexError{i, 1, "a comparison operator", "'='", "use '==' to compare"};
      case '!':
        if (next == '=') {
          simple(Tok::kNe, 2);
          continue;
        }
        return unexpected(text, i, "use 'not' to negate, or '!=' for 'not equal'");
      case '&':
        return unexpected(text, i, "use 'and'");
      case '|':
        return unexpected(text, i, "use 'or'");
      default:
        return unexpected(text, i);
    }
  }
  out.push_back({.kind = Tok::kEnd, .begin = text.size(), .end = text.size()});
  return out;
}

std::string describe(const Token& token, std::string_view text) {
  const std::string source = sanitize_utf8(text.substr(token.begin, token.end - token.begin));
  switch (token.kind) {
    case Tok::kEnd:
      return "end of input";
    case Tok::kNumber:
      return "number " + source;
    case Tok::kDuration:
      return "duration '" + source + "'";
    case Tok::kString:
      return "string " + source;
    case Tok::kIdent:
      return "name '" + source + "'";
    default:
      return "'" + source + "'";
  }
}

}  // namespace fleet::rules
