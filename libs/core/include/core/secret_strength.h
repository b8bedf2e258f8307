// Refuses configured secrets that anyone could guess: the placeholders shipped in examples and
// manifests ("CHANGE-ME-AT-LEAST-32-RANDOM-CHARACTERS" was accepted as a token-signing key, so a
// cluster deployed as shipped accepted admin tokens anyone could sign), words, repeated or
// low-variety characters. Random output (`openssl rand -hex 32`, the base64 of 32 random bytes)
// passes.
//
// The checks are statistical, not a proof of randomness: they catch what people type, not what a
// determined operator can disguise. Messages name the key and never contain the value.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/result.h"

namespace fleet {

struct SecretRules {
  std::size_t min_length = 32;  // characters
  double min_bits = 100;        // estimated entropy of the whole text (Shannon, per character)
  std::size_t min_distinct = 10;
};

// kInvalidArgument naming `key` when `value` is short, holds a placeholder word (change me,
// example, placeholder, secret, password, ...), or has too little variety to be random.
Status check_secret(std::string_view key, std::string_view value, const SecretRules& rules = {});

// For a key given as raw bytes (e.g. a decoded 32-byte encryption key): refuses keys whose bytes
// repeat too much to be random (all zeros, "aaaa...", a short pattern repeated).
Status check_key_bytes(std::string_view key, const unsigned char* bytes, std::size_t size);

// A database password (or another secret a human chooses) is refused only when it is one of the
// placeholders shipped in examples; its strength is the database's business.
Status check_not_placeholder(std::string_view key, std::string_view value);

}  // namespace fleet
