#include <catch2/catch.hpp>

#include "auth/credentials.h"

using namespace fleet;
using namespace fleet::auth;

TEST_CASE("passwords are Argon2id hashes that verify only the right password", "[auth]") {
  auto hash = hash_password("correct horse battery");
  REQUIRE(hash.ok());
  CHECK(hash->rfind("$argon2id$", 0) == 0);
  CHECK(verify_password(*hash, "correct horse battery"));
  CHECK_FALSE(verify_password(*hash, "correct horse batterx"));
  CHECK_FALSE(verify_password("not a hash", "correct horse battery"));
  CHECK(*hash_password("correct horse battery") != *hash);  // salted
}

TEST_CASE("the password policy names what is wrong", "[auth]") {
  CHECK_FALSE(check_password_policy("short").ok());
  CHECK(check_password_policy("ten chars!").ok());
  CHECK_FALSE(check_password_policy(std::string(1025, 'x')).ok());
  CHECK_FALSE(check_password_policy("invalid \xff utf8 here").ok());
  CHECK(check_password_policy("ünïcödé-pässwörd").ok());
}

TEST_CASE("API keys have a public id and a 256-bit secret, stored as a hash", "[auth]") {
  NewApiKey a = generate_api_key();
  NewApiKey b = generate_api_key();
  CHECK(a.key != b.key);
  CHECK(a.key.size() == 60);
  REQUIRE(api_key_id(a.key));
  CHECK(*api_key_id(a.key) == a.key_id);
  CHECK(a.hash == api_key_hash(a.key));
  CHECK(a.hash.size() == 64);
  CHECK(a.hash.find(a.key.substr(17)) == std::string::npos);
  CHECK_FALSE(api_key_id("fwk_short"));
  CHECK_FALSE(api_key_id("xxx_" + a.key.substr(4)));
  CHECK_FALSE(api_key_id(a.key.substr(0, 59) + "!"));
  CHECK(hashes_equal(a.hash, a.hash));
  CHECK_FALSE(hashes_equal(a.hash, b.hash));
}

TEST_CASE("session tokens verify only with their key, unaltered and unexpired", "[auth]") {
  TokenClaims c{.user_id = 7,
                .username = "op",
                .role = Role::kOperator,
                .issued_at = 1000,
                .expires_at = 2000,
                .token_id = "abc"};
  const std::string token = sign_token(c, "server secret");
  auto ok = verify_token(token, "server secret", 1500);
  REQUIRE(ok.ok());
  CHECK(ok->user_id == 7);
  CHECK(ok->role == Role::kOperator);
  CHECK(ok->token_id == "abc");
  CHECK(ok->issued_at_ms == 0);  // as signed: milliseconds travel in the token (iat_ms)
  c.issued_at_ms = 1'000'456;
  auto ms = verify_token(sign_token(c, "server secret"), "server secret", 1500);
  REQUIRE(ms.ok());
  CHECK(ms->issued_at_ms == 1'000'456);
  c.issued_at_ms = 0;
  CHECK(verify_token(token, "other secret", 1500).error().message() == "bad token signature");
  CHECK(verify_token(token, "server secret", 2000).error().message() == "token expired");
  // Changing the payload (role admin) breaks the signature.
  TokenClaims forged = c;
  forged.role = Role::kAdmin;
  const std::string other = sign_token(forged, "attacker");
  const std::string spliced =
      token.substr(0, token.find('.') + 1) +
      other.substr(other.find('.') + 1, other.rfind('.') - other.find('.') - 1) +
      token.substr(token.rfind('.'));
  CHECK_FALSE(verify_token(spliced, "server secret", 1500).ok());
  for (const char* bad : {"", "a.b", "a.b.c.d", "....", "eyJ.eyJ.sig"}) {
    INFO(bad);
    auto r = verify_token(bad, "server secret", 1500);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::kUnauthenticated);
  }
}

TEST_CASE("roles are ordered viewer < operator < admin", "[auth]") {
  CHECK(allows(Role::kAdmin, Role::kOperator));
  CHECK(allows(Role::kOperator, Role::kOperator));
  CHECK_FALSE(allows(Role::kViewer, Role::kOperator));
  CHECK(parse_role("operator") == Role::kOperator);
  CHECK_FALSE(parse_role("root"));
  CHECK(to_string(Role::kAdmin) == "admin");
}

TEST_CASE("the ingest role may push readings and nothing else (issue 16.7)", "[auth]") {
  using fleet::auth::allows;
  using fleet::auth::Role;
  CHECK(allows(Role::kIngest, Role::kIngest));
  CHECK_FALSE(allows(Role::kIngest, Role::kViewer));
  CHECK_FALSE(allows(Role::kIngest, Role::kOperator));
  CHECK_FALSE(allows(Role::kIngest, Role::kAdmin));
  // What ingest may do, operators and admins may too; viewers may not.
  CHECK(allows(Role::kOperator, Role::kIngest));
  CHECK(allows(Role::kAdmin, Role::kIngest));
  CHECK_FALSE(allows(Role::kViewer, Role::kIngest));
  CHECK(fleet::auth::parse_role("ingest") == Role::kIngest);
  CHECK(fleet::auth::to_string(Role::kIngest) == "ingest");
}

TEST_CASE("an ingest key's device scope names devices or prefixes (issue 16.7)", "[auth]") {
  const std::vector<std::string> scope{"pump-7", "greenhouse-*"};
  CHECK(check_device_scope(scope).ok());
  CHECK(device_in_scope(scope, "pump-7"));
  CHECK(device_in_scope(scope, "greenhouse-"));
  CHECK(device_in_scope(scope, "greenhouse-north-3"));
  CHECK_FALSE(device_in_scope(scope, "pump-70"));
  CHECK_FALSE(device_in_scope(scope, "pump"));
  CHECK_FALSE(device_in_scope(scope, "Greenhouse-1"));
  CHECK(device_in_scope({}, "anything"));  // no scope: every device
  CHECK(device_in_scope({"*"}, "anything"));

  CHECK_FALSE(check_device_scope({""}).ok());
  CHECK_FALSE(check_device_scope({"a*b"}).ok());
  CHECK(check_device_scope({"ok", "a\nb"}).error().message().find("devices[1]") !=
        std::string::npos);
  CHECK_FALSE(check_device_scope({std::string(201, 'x')}).ok());
  CHECK_FALSE(check_device_scope(std::vector<std::string>(101, "d")).ok());
}
