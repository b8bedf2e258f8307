#include "core/secret_strength.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>

namespace fleet {
namespace {

// Words that mark a value somebody was meant to replace. Matched case-insensitively, ignoring
// everything but letters, so "CHANGE-ME", "change_me" and "ChangeMe" all match.
constexpr std::string_view kPlaceholderWords[] = {
    "changeme", "change", "placeholder", "example",  "replace", "secret", "password", "passwd",
    "default",  "dummy",  "sample",      "insecure", "yourkey", "todo",   "fixme",    "xxxx",
};

std::string letters_lower(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (unsigned char c : v) {
    if (std::isalpha(c)) out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

const std::string_view* placeholder_word(std::string_view value) {
  const std::string text = letters_lower(value);
  for (const auto& word : kPlaceholderWords) {
    if (text.find(word) != std::string::npos) return &word;
  }
  return nullptr;
}

// Shannon entropy of the byte distribution, in bits per byte.
double bits_per_symbol(const unsigned char* data, std::size_t size) {
  if (size == 0) return 0;
  std::array<std::size_t, 256> counts{};
  for (std::size_t i = 0; i < size; ++i)
    ++counts[data[i]];
  double bits = 0;
  for (std::size_t c : counts) {
    if (c == 0) continue;
    const double p = static_cast<double>(c) / static_cast<double>(size);
    bits -= p * std::log2(p);
  }
  return bits;
}

std::size_t distinct(const unsigned char* data, std::size_t size) {
  std::array<bool, 256> seen{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < size; ++i) {
    if (!seen[data[i]]) {
      seen[data[i]] = true;
      ++n;
    }
  }
  return n;
}

// True when the text is a shorter unit repeated ("abcabcabc...", "0101...").
bool is_repetition(std::string_view v) {
  for (std::size_t unit = 1; unit <= v.size() / 2; ++unit) {
    bool repeats = true;
    for (std::size_t i = unit; i < v.size() && repeats; ++i)
      repeats = v[i] == v[i - unit];
    if (repeats) return true;
  }
  return false;
}

Status weak(std::string_view key, const std::string& why) {
  return Error::invalid(std::string(key) + ": " + why +
                        "; generate one with `openssl rand -hex 32`");
}

}  // namespace

Status check_secret(std::string_view key, std::string_view value, const SecretRules& rules) {
  if (value.size() < rules.min_length) {
    return weak(key, "too short (" + std::to_string(value.size()) + " characters; at least " +
                         std::to_string(rules.min_length) + ")");
  }
  if (const auto* word = placeholder_word(value)) {
    return weak(key, "looks like a placeholder (contains '" + std::string(*word) + "')");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(value.data());
  if (is_repetition(value) || distinct(data, value.size()) < rules.min_distinct) {
    return weak(key, "too few different characters to be random");
  }
  const double bits = bits_per_symbol(data, value.size()) * static_cast<double>(value.size());
  if (bits < rules.min_bits) {
    return weak(key, "too little entropy (about " + std::to_string(static_cast<int>(bits)) +
                         " bits; at least " + std::to_string(static_cast<int>(rules.min_bits)) +
                         ")");
  }
  return Status::success();
}

Status check_key_bytes(std::string_view key, const unsigned char* bytes, std::size_t size) {
  // 32 random bytes have about 30 distinct values; fewer than half that is a pattern.
  if (size == 0 || distinct(bytes, size) < std::max<std::size_t>(2, size / 2) ||
      is_repetition(std::string_view(reinterpret_cast<const char*>(bytes), size))) {
    return weak(key, "its bytes repeat too much to be a random key");
  }
  return Status::success();
}

Status check_not_placeholder(std::string_view key, std::string_view value) {
  if (value.empty()) return Status::success();
  if (value.size() >= 2 && value.front() == '<' && value.back() == '>') {
    return Error::invalid(std::string(key) +
                          ": still the example's <...> placeholder; set the real value");
  }
  if (const auto* word = placeholder_word(value);
      // Only unmistakable markers: a chosen password may well contain "change" or "example".
      word != nullptr && (*word == "changeme" || *word == "placeholder" || *word == "xxxx")) {
    return Error::invalid(std::string(key) + ": looks like a placeholder (contains '" +
                          std::string(*word) + "'); set the real value");
  }
  return Status::success();
}

}  // namespace fleet
