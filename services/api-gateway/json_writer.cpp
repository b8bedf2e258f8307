#include "json_writer.h"

#include <charconv>
#include <cmath>

#include "core/strings.h"

namespace fleet::gateway {

void JsonWriter::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_) out_ += ',';
  first_ = false;
}

JsonWriter& JsonWriter::begin_object() {
  separate();
  out_ += '{';
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  out_ += '}';
  first_ = false;
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  separate();
  out_ += '[';
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  out_ += ']';
  first_ = false;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  string(name);
  out_ += ':';
  after_key_ = true;
  return *this;
}

namespace {

// True when text can go between quotes as it is: printable ASCII without '"' or '\\' (names,
// MACs, addresses, states, timestamps: almost every string the list routes write).
bool plain(std::string_view text) {
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x80 || c == '"' || c == '\\') return false;
  }
  return true;
}

// Escapes valid UTF-8 text into out, copying the runs between escapes in one append each.
void append_escaped(std::string& out, std::string_view text) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char* escape = nullptr;
    switch (c) {
      case '"':
        escape = "\\\"";
        break;
      case '\\':
        escape = "\\\\";
        break;
      case '\n':
        escape = "\\n";
        break;
      case '\r':
        escape = "\\r";
        break;
      case '\t':
        escape = "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20) continue;
    }
    out.append(text.data() + run, i - run);
    run = i + 1;
    if (escape != nullptr) {
      out += escape;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[(c >> 4) & 0xF];
      out += kHex[c & 0xF];
    }
  }
  out.append(text.data() + run, text.size() - run);
}

}  // namespace

JsonWriter& JsonWriter::string(std::string_view text) {
  separate();
  out_ += '"';
  if (plain(text)) {
    out_.append(text);
  } else {
    append_escaped(out_, sanitize_utf8(text));
  }
  out_ += '"';
  return *this;
}

JsonWriter& JsonWriter::number(double value) {
  if (!std::isfinite(value)) return null();
  separate();
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, ec == std::errc() ? end : buf);
  // Whole numbers keep a decimal point, as nlohmann writes them, so clients see a float.
  const std::string_view written(buf, static_cast<std::size_t>(end - buf));
  if (written.find_first_of(".eE") == std::string_view::npos) out_ += ".0";
  return *this;
}

JsonWriter& JsonWriter::integer(std::int64_t value) {
  separate();
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  out_.append(buf, end);
  return *this;
}

JsonWriter& JsonWriter::boolean(bool value) {
  separate();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  separate();
  out_ += json;
  return *this;
}

JsonWriter& JsonWriter::utc_timestamp(std::string_view t) {
  auto digits = [&](std::size_t from, std::size_t n) {
    for (std::size_t i = from; i < from + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
    }
    return true;
  };
  const bool iso_utc = t.size() >= 22 && t.substr(t.size() - 3) == "+00" && digits(0, 4) &&
                       t[4] == '-' && digits(5, 2) && t[7] == '-' && digits(8, 2) && t[10] == ' ' &&
                       digits(11, 2) && t[13] == ':' && digits(14, 2) && t[16] == ':' &&
                       digits(17, 2) && (t.size() == 22 || t[19] == '.');
  if (!iso_utc) return string(t);
  char out[20];
  t.copy(out, 19);
  out[10] = 'T';
  out[19] = 'Z';
  return string(std::string_view(out, 20));
}

}  // namespace fleet::gateway
