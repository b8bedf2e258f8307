// Placeholder and low-entropy secrets are refused (issue 16.1: the shipped k8s token secret was
// accepted as a signing key).
#include <catch2/catch.hpp>

#include <string>

#include "core/secret_strength.h"

using namespace fleet;

TEST_CASE("secrets: placeholders, words and patterns are refused", "[secrets]") {
  for (const std::string& weak : {
           std::string("CHANGE-ME-AT-LEAST-32-RANDOM-CHARACTERS"),  // the shipped k8s value
           std::string("change_me_change_me_change_me_change_me"),
           std::string("replace-with-a-long-random-string-please"),
           std::string("my-super-secret-signing-key-for-fleetward"),
           std::string("thisismypasswordthisismypassword123"),
           std::string("example-token-secret-0123456789abcdef"),
           std::string(48, 's'),                             // one character
           std::string("abababababababababababababababab"),  // a short unit repeated
           std::string("0123456789012345678901234567890123456789"),
           std::string("abcdefghijklmnopqrstuvwxyz"),  // too short
           std::string(""),
       }) {
    INFO(weak);
    Status s = check_secret("key 'gateway.token_secret'", weak);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind() == ErrorKind::kInvalidArgument);
    CHECK(s.error().message().find("gateway.token_secret") != std::string::npos);
    if (!weak.empty()) CHECK(s.error().message().find(weak) == std::string::npos);  // never echoed
  }
}

TEST_CASE("secrets: random output passes", "[secrets]") {
  for (const std::string& strong : {
           // openssl rand -hex 32, -hex 16, -base64 32
           std::string("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
           std::string("4e0a8c2f1b7d93e6a5c40f8b2d17e9c3"),
           std::string("q1Zk3r8V0pXc2mN7bT5yL9wH4sJ6dF1gA0eR8uI2oPk="),
       }) {
    INFO(strong);
    CHECK(check_secret("k", strong).ok());
  }
}

TEST_CASE("secrets: raw keys whose bytes repeat are refused", "[secrets]") {
  unsigned char same[32];
  for (auto& b : same)
    b = 0xaa;
  CHECK_FALSE(check_key_bytes("secrets.key", same, sizeof same).ok());
  unsigned char pattern[32];
  for (int i = 0; i < 32; ++i)
    pattern[i] = static_cast<unsigned char>(i % 4);
  CHECK_FALSE(check_key_bytes("secrets.key", pattern, sizeof pattern).ok());
  unsigned char counting[32];
  for (int i = 0; i < 32; ++i)
    counting[i] = static_cast<unsigned char>(i * 37 + 11);
  CHECK(check_key_bytes("secrets.key", counting, sizeof counting).ok());
}

TEST_CASE("secrets: a database password is refused only when it is a placeholder", "[secrets]") {
  CHECK_FALSE(check_not_placeholder("database password", "CHANGE-ME").ok());
  CHECK_FALSE(check_not_placeholder("database password", "<replace with your password>").ok());
  CHECK_FALSE(check_not_placeholder("database password", "<database-password>").ok());
  CHECK(check_not_placeholder("database password", "fleetward").ok());
  CHECK(check_not_placeholder("database password", "exchange-rate-2026").ok());
  CHECK(check_not_placeholder("database password", "").ok());
}
