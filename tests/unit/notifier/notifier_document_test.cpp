// The notification document (version 1) and the webhook's signature and config.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "notifier_document.h"
#include "notify/webhook_sender.h"

using namespace fleet;
using namespace fleet::notifier;
using json = nlohmann::json;

namespace {

std::vector<Facts> burst(int n, const std::string& event = "worker.offline",
                         const std::string& severity = "warning") {
  std::vector<Facts> out;
  for (int i = 1; i <= n; ++i) {
    Facts f;
    f.id = i;
    f.event = event;
    f.severity = severity;
    f.title = "miner-" + std::to_string(i) + " offline";
    f.worker_id = 100 + i;
    f.worker_name = "miner-" + std::to_string(i);
    f.worker_kind = "asic";
    f.site = "hall-a";
    f.payload = R"({"reason": "silent"})";
    out.push_back(f);
  }
  return out;
}

}  // namespace

TEST_CASE("a burst becomes one document listing the first max_items, with counts",
          "[notifier][unit]") {
  auto items = burst(500);
  items[0].severity = "critical";
  const auto d = render_document({.idempotency_key = "fw-9-0000abcd",
                                  .channel = "ops",
                                  .group_key = "event=worker.offline|site=hall-a",
                                  .items = items,
                                  .max_items = 20,
                                  .created_at = "2026-01-01T00:00:00.000Z"});
  const json j = json::parse(d.json);
  CHECK(j["version"] == 1);
  CHECK(j["id"] == "fw-9-0000abcd");
  CHECK(j["kind"] == "group");
  CHECK(j["count"] == 500);
  CHECK(j["notifications"].size() == 20);
  CHECK(j["truncated"] == 480);
  CHECK(j["counts"]["critical"] == 1);
  CHECK(j["counts"]["warning"] == 499);
  CHECK(j["severity"] == "critical");
  CHECK(j["status"] == "firing");
  CHECK(j["group"]["site"] == "hall-a");
  CHECK(j["title"] == "500 notifications: worker.offline at hall-a");
  CHECK(j["notifications"][0]["worker"]["name"] == "miner-1");
  CHECK(j["notifications"][0]["payload"]["reason"] == "silent");
  CHECK(j["notifications"][0]["rule_id"].is_null());
  CHECK(j["text"].get<std::string>().find("and 480 more") != std::string::npos);
}

TEST_CASE("a single notification keeps its title, templates fill placeholders",
          "[notifier][unit]") {
  auto d = render_document(
      {.idempotency_key = "k", .group_key = "event=worker.offline", .items = burst(1)});
  CHECK(d.title == "miner-1 offline");
  d = render_document({.idempotency_key = "k",
                       .kind = "repeat",
                       .group_key = "event=worker.offline|site=hall-a",
                       .items = burst(3),
                       .template_title = "{{count}} down at {{site}} ({{severity}})"});
  CHECK(d.title == "[still firing] 3 down at hall-a (warning)");
}

TEST_CASE("document status: resolved, firing or info", "[notifier][unit]") {
  CHECK(document_status(burst(2, "alert.resolved", "critical")) == "resolved");
  CHECK(document_status(burst(2, "alert.firing", "critical")) == "firing");
  CHECK(document_status(burst(2, "notifier.test", "info")) == "info");
}

TEST_CASE("idempotency keys are fw-<message id>-<8 hex>", "[notifier][unit]") {
  CHECK(make_idempotency_key(42, 0xabcdefu) == "fw-42-00abcdef");
}

TEST_CASE("webhook signature: HMAC-SHA256 over '<t>.<body>' in lowercase hex", "[notifier][unit]") {
  // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 's3cret'
  CHECK(notify::webhook_signature("s3cret", 1'700'000'000, R"({"a":1})") ==
        "t=1700000000,v1=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940");
}

TEST_CASE("webhook config: the URL and timeout are checked, naming the field", "[notifier][unit]") {
  auto ok = notify::parse_webhook_config(R"({"url": "https://h.example/x", "timeout_ms": 250})");
  REQUIRE(ok.ok());
  CHECK(ok->timeout_ms == 250);
  CHECK(notify::parse_webhook_config(R"({"url": "ftp://h/x"})")
            .error()
            .message()
            .find("config.url") == 0);
  CHECK(notify::parse_webhook_config(R"({})").error().message().find("config.url") == 0);
  CHECK(notify::parse_webhook_config(R"({"url": "http://h/x", "timeout_ms": 5})")
            .error()
            .message()
            .find("config.timeout_ms") == 0);
  CHECK_FALSE(notify::parse_webhook_config("[1]").ok());
}
