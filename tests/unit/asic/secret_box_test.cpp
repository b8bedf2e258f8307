#include <catch2/catch.hpp>

#include "secrets/secret_box.h"

using namespace fleet;
using namespace fleet::secrets;

TEST_CASE("secrets seal and open with the same key only", "[secrets]") {
  auto box = SecretBox::from_key_text(generate_key_text());
  REQUIRE(box.ok());
  const std::string sealed = box->seal("0123456789abcdef0123456789abcdef");
  CHECK(sealed.rfind("v1:", 0) == 0);
  CHECK(sealed.find("0123456789abcdef") == std::string::npos);
  CHECK(box->seal("same") != box->seal("same"));  // a fresh nonce each time
  auto opened = box->open(sealed);
  REQUIRE(opened.ok());
  CHECK(*opened == "0123456789abcdef0123456789abcdef");
  CHECK(*box->open(box->seal("")) == "");

  auto other = SecretBox::from_key_text(generate_key_text());
  REQUIRE(other.ok());
  auto wrong = other->open(sealed);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().kind() == ErrorKind::kDataLoss);

  std::string tampered = sealed;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  CHECK_FALSE(box->open(tampered).ok());
  CHECK_FALSE(box->open("plain text").ok());
  CHECK_FALSE(box->open("v1:!!!").ok());
}

TEST_CASE("secret keys are 64 hex characters or base64 of 32 bytes", "[secrets]") {
  CHECK(SecretBox::from_key_text(generate_key_text()).ok());
  CHECK(SecretBox::from_key_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").ok());
  for (const std::string& bad :
       {std::string(63, 'a'), std::string(64, 'g'), std::string("short"), std::string(""),
        // Well-formed but patterned: refused like a placeholder (issue 16.1).
        std::string(64, 'a'), std::string(64, '0'),
        std::string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")}) {
    auto r = SecretBox::from_key_text(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::kInvalidArgument);
    if (!bad.empty()) CHECK(r.error().message().find(bad) == std::string::npos);
  }
}
