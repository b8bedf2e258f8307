#include <sodium.h>

#include <vector>

#include <catch2/catch.hpp>

#include "secrets/secret_box.h"

using namespace fleet;
using namespace fleet::secrets;

TEST_CASE("secrets seal and open with the same key only", "[secrets]") {
  auto box = SecretBox::from_key_text(generate_key_text());
  REQUIRE(box.ok());
  const std::string here = miner_secret_context("02:00:00:00:00:01", "api_key");
  const std::string sealed = box->seal("0123456789abcdef0123456789abcdef", here);
  CHECK(sealed.rfind("v2:", 0) == 0);
  CHECK(sealed.find("0123456789abcdef") == std::string::npos);
  CHECK(box->seal("same", here) != box->seal("same", here));  // a fresh nonce each time
  auto opened = box->open(sealed, here);
  REQUIRE(opened.ok());
  CHECK(*opened == "0123456789abcdef0123456789abcdef");
  CHECK(*box->open(box->seal("", here), here) == "");

  auto other = SecretBox::from_key_text(generate_key_text());
  REQUIRE(other.ok());
  auto wrong = other->open(sealed, here);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().kind() == ErrorKind::kDataLoss);

  std::string tampered = sealed;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  CHECK_FALSE(box->open(tampered, here).ok());
  CHECK_FALSE(box->open("plain text", here).ok());
  CHECK_FALSE(box->open("v1:!!!", here).ok());
  CHECK_FALSE(box->open("v2:!!!", here).ok());
}

TEST_CASE(
    "a sealed secret is bound to its place: copied to another miner or column it does not "
    "open (issue 16.8)",
    "[secrets]") {
  auto box = SecretBox::from_key_text(generate_key_text());
  REQUIRE(box.ok());
  const std::string sealed =
      box->seal("the key", miner_secret_context("02:00:00:00:00:01", "api_key"));
  CHECK(box->open(sealed, miner_secret_context("02:00:00:00:00:01", "api_key")).ok());
  // The MAC in any case names the same miner.
  const std::string lower = box->seal("k", miner_secret_context("02:00:00:00:0a:01", "api_key"));
  CHECK(box->open(lower, miner_secret_context("02:00:00:00:0A:01", "api_key")).ok());
  auto moved = box->open(sealed, miner_secret_context("02:00:00:00:00:02", "api_key"));
  REQUIRE_FALSE(moved.ok());
  CHECK(moved.error().kind() == ErrorKind::kDataLoss);
  CHECK_FALSE(box->open(sealed, miner_secret_context("02:00:00:00:00:01", "unlock_password")).ok());
}

TEST_CASE("a notification channel's secret opens only for that channel", "[secrets]") {
  auto box = SecretBox::from_key_text(generate_key_text());
  REQUIRE(box.ok());
  CHECK(notification_channel_secret_context(7) == "notification_channel:7:secret");
  const std::string sealed = box->seal("smtp-pw", notification_channel_secret_context(7));
  CHECK(*box->open(sealed, notification_channel_secret_context(7)) == "smtp-pw");
  CHECK_FALSE(box->open(sealed, notification_channel_secret_context(8)).ok());
}

TEST_CASE("values sealed before contexts existed (v1) still open", "[secrets]") {
  // A v1 value as earlier releases wrote it: "v1:" + base64(nonce || secretbox(text)).
  const std::string key_hex = generate_key_text();
  auto box = SecretBox::from_key_text(key_hex);
  REQUIRE(box.ok());
  unsigned char key[32];
  REQUIRE(sodium_hex2bin(key, sizeof key, key_hex.data(), key_hex.size(), nullptr, nullptr,
                         nullptr) == 0);
  const std::string text = "old secret";
  std::vector<unsigned char> buf(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                 text.size());
  randombytes_buf(buf.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(buf.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                        buf.data(), key);
  std::string b64(sodium_base64_ENCODED_LEN(buf.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), buf.data(), buf.size(), sodium_base64_VARIANT_ORIGINAL);
  const std::string v1 = "v1:" + std::string(b64.c_str());
  auto opened = box->open(v1, miner_secret_context("02:00:00:00:00:01", "api_key"));
  REQUIRE(opened.ok());
  CHECK(*opened == text);
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

TEST_CASE("a HiveOS token is bound to its account (hiveos_token_context)", "[secrets]") {
  CHECK(hiveos_token_context(7) == "hiveos_account:7:token");
  auto box = SecretBox::from_key_text(generate_key_text());
  REQUIRE(box.ok());
  const std::string sealed = box->seal("personal-token", hiveos_token_context(7));
  CHECK(*box->open(sealed, hiveos_token_context(7)) == "personal-token");
  CHECK_FALSE(box->open(sealed, hiveos_token_context(8)).ok());
}
