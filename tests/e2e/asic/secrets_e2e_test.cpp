// fleetctl secrets reseal: miner secrets sealed in the old v1 form (not bound to their place) are
// sealed again as v2, bound to their miner and column (issue 16.8).
#include <catch2/catch.hpp>

#include <sodium.h>

#include "pipeline.h"
#include "secrets/secret_box.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

// A value as releases before v2 sealed it: "v1:" + base64(nonce || secretbox(text)).
std::string seal_v1(const std::string& key_hex, const std::string& text) {
  unsigned char key[32];
  REQUIRE(sodium_hex2bin(key, sizeof key, key_hex.data(), key_hex.size(), nullptr, nullptr,
                         nullptr) == 0);
  std::vector<unsigned char> buf(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                 text.size());
  randombytes_buf(buf.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(buf.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                        buf.data(), key);
  std::string b64(sodium_base64_ENCODED_LEN(buf.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), buf.data(), buf.size(), sodium_base64_VARIANT_ORIGINAL);
  return "v1:" + std::string(b64.c_str());
}

}  // namespace

TEST_CASE("fleetctl secrets reseal binds old v1 values to their miner and column",
          "[fleetctl][secrets][e2e]") {
  REQUIRE(sodium_init() >= 0);
  TestDatabase db;
  const std::string mac1 = "02:00:00:00:00:01", mac2 = "02:00:00:00:00:02";
  db.exec(
      "INSERT INTO workers (id, kind, name) VALUES (1, 'asic', 'a'), (2, 'asic', 'b'), "
      "(3, 'asic', 'c')");
  db.exec("INSERT INTO miners (worker_id, mac, api_key_enc, unlock_pass_enc) VALUES (1, '" + mac1 +
          "', '" + seal_v1(kSecretKey, std::string(32, 'a')) + "', '" +
          seal_v1(kSecretKey, "hunter2") + "'), (2, '" + mac2 + "', '" +
          seal_v1(kSecretKey, std::string(32, 'b')) + "', NULL)");
  const std::string other_key = secrets::generate_key_text();
  db.exec("INSERT INTO miners (worker_id, mac, api_key_enc) VALUES (3, '02:00:00:00:00:03', '" +
          seal_v1(other_key, std::string(32, 'c')) + "')");
  auto fleetctl = [&](std::vector<std::string> args) {
    return run(binary("fleetctl"), std::move(args),
               worker_env(db, {{"FLEET_SECRET_KEY", kSecretKey}}));
  };

  auto dry = fleetctl({"secrets", "reseal", "--dry-run"});
  CHECK_THAT(dry.out, Contains("would reseal 3 values of 3 miners"));
  CHECK(db.count("SELECT 1 FROM miners WHERE api_key_enc LIKE 'v1:%'") == 3);

  auto r = fleetctl({"secrets", "reseal"});
  INFO(r.err);
  CHECK(r.code == 1);  // one value does not open with this key
  CHECK_THAT(r.out, Contains("resealed 3 values of 3 miners; 1 do not open with this key"));
  CHECK_THAT(r.err, Contains("miner 3: api_key_enc does not open with this key"));
  auto box = secrets::SecretBox::from_key_text(kSecretKey);
  REQUIRE(box.ok());
  const std::string key1 = db.scalar("SELECT api_key_enc FROM miners WHERE worker_id = 1");
  const std::string pass1 = db.scalar("SELECT unlock_pass_enc FROM miners WHERE worker_id = 1");
  CHECK(key1.rfind("v2:", 0) == 0);
  CHECK(*box->open(key1, secrets::miner_secret_context(mac1, "api_key")) == std::string(32, 'a'));
  CHECK(*box->open(pass1, secrets::miner_secret_context(mac1, "unlock_password")) == "hunter2");
  // Bound now: the same value does not open as another miner's, or as the other column.
  CHECK_FALSE(box->open(key1, secrets::miner_secret_context(mac2, "api_key")).ok());
  CHECK_FALSE(box->open(key1, secrets::miner_secret_context(mac1, "unlock_password")).ok());
  // The unreadable one is left as it was; a second run has nothing more to do.
  CHECK(db.count("SELECT 1 FROM miners WHERE api_key_enc LIKE 'v1:%'") == 1);
  auto again = fleetctl({"secrets", "reseal"});
  CHECK_THAT(again.out, Contains("resealed 0 values"));
}
