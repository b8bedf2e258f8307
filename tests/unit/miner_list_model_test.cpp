// The api-gateway's copy of the miners list (miner_list_model.h): pages, filters, cursors, the
// items' text, and what a catch-up fetches after a snapshot.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "json_writer.h"
#include "miner_list_model.h"

using namespace fleet::gateway;
using nlohmann::json;

namespace {

MinerListItem item(std::int64_t id, bool managed, bool online, std::optional<std::string> model) {
  JsonWriter w;
  write_miner_item(w, R"({"id":)" + std::to_string(id) + "}", std::nullopt);
  return {.json = w.take(), .managed = managed, .online = online, .model_alias = std::move(model)};
}

// Ids 1..20: even ones managed, every third offline, ids above 10 of model "b".
MinerListIndex twenty() {
  MinerListIndex index;
  for (std::int64_t id = 20; id >= 1; --id) {
    index.put(id, item(id, id % 2 == 0, id % 3 != 0, id > 10 ? "b" : "a"));
  }
  return index;
}

std::vector<std::int64_t> ids(const json& page) {
  std::vector<std::int64_t> out;
  for (const auto& m : page["items"])
    out.push_back(m["id"].get<std::int64_t>());
  return out;
}

}  // namespace

TEST_CASE("a page from memory is the items after the cursor in id order", "[gateway][miners]") {
  const MinerListIndex index = twenty();
  const json first = json::parse(index.page(0, 3, {}));
  CHECK(ids(first) == std::vector<std::int64_t>{1, 2, 3});
  CHECK(first["next"] == "3");
  CHECK(first["limit"] == 3);
  const json next = json::parse(index.page(3, 3, {}));
  CHECK(ids(next) == std::vector<std::int64_t>{4, 5, 6});
  const json last = json::parse(index.page(17, 3, {}));
  CHECK(ids(last) == std::vector<std::int64_t>{18, 19, 20});
  CHECK(last["next"].is_null());  // nothing after the page
  CHECK(json::parse(index.page(20, 3, {}))["items"].empty());
  CHECK(json::parse(index.page(5, 1000, {}))["items"].size() == 15);
  // The database path's text exactly: no spaces, the cursor a string.
  CHECK(index.page(0, 2, {}) ==
        R"({"items":[{"id":1,"last_poll_error":null},{"id":2,"last_poll_error":null}],)"
        R"("next":"2","limit":2})");
  CHECK(MinerListIndex().page(0, 100, {}) == R"({"items":[],"next":null,"limit":100})");
}

TEST_CASE("a page from memory filters by managed, online and model", "[gateway][miners]") {
  const MinerListIndex index = twenty();
  CHECK(ids(json::parse(index.page(0, 100, {.managed = true, .online = false}))) ==
        std::vector<std::int64_t>{6, 12, 18});
  CHECK(ids(json::parse(index.page(0, 100, {.managed = true, .online = false, .model = "a"}))) ==
        std::vector<std::int64_t>{6});
  const json b = json::parse(index.page(0, 2, {.managed = false, .model = "b"}));
  CHECK(ids(b) == std::vector<std::int64_t>{11, 13});
  CHECK(b["next"] == "13");  // the last item written, not the last one looked at
  CHECK(json::parse(index.page(0, 100, {.model = "c"}))["items"].empty());
  // A miner without a model matches no model filter.
  MinerListIndex none;
  none.put(1, item(1, true, true, std::nullopt));
  CHECK(json::parse(none.page(0, 100, {.model = ""}))["items"].empty());
  CHECK(json::parse(none.page(0, 100, {}))["items"].size() == 1);
}

TEST_CASE("a page from memory shows changes and removals", "[gateway][miners]") {
  MinerListIndex index = twenty();
  index.erase(2);
  index.erase(99);  // not there: nothing happens
  index.put(3, item(3, false, false, "z"));
  index.put(25, item(25, true, true, "a"));
  CHECK(index.size() == 20);
  CHECK(ids(json::parse(index.page(0, 3, {}))) == std::vector<std::int64_t>{1, 3, 4});
  CHECK(ids(json::parse(index.page(0, 100, {.model = "z"}))) == std::vector<std::int64_t>{3});
  CHECK(ids(json::parse(index.page(20, 100, {}))) == std::vector<std::int64_t>{25});
}

TEST_CASE("a miner's item is its stored object with its poll error redacted", "[gateway][miners]") {
  JsonWriter plain;
  write_miner_item(plain, R"({"id":7,"name":"m"})", std::nullopt);
  CHECK(plain.take() == R"({"id":7,"name":"m","last_poll_error":null})");
  JsonWriter failed;
  write_miner_item(failed, R"({"id":7})", std::string_view("login failed: password=hunter2 \"x\""));
  const std::string text = failed.take();
  const json parsed = json::parse(text);
  CHECK(parsed["id"] == 7);
  CHECK(parsed["last_poll_error"].get<std::string>().find("login failed") == 0);
  CHECK(text.find("hunter2") == std::string::npos);
}

TEST_CASE("a snapshot's text gives what a catch-up must fetch", "[gateway][miners]") {
  auto none = parse_snapshot("757:757:");
  REQUIRE(none);
  CHECK(none->xmax == "757");
  CHECK(none->in_progress.empty());
  CHECK(none->in_progress_array() == "{}");
  auto some = parse_snapshot("740:760:741,755");
  REQUIRE(some);
  CHECK(some->xmax == "760");
  CHECK(some->in_progress == std::vector<std::string>{"741", "755"});
  CHECK(some->in_progress_array() == "{741,755}");
  // xid8s past 2^32 (an epoch) are plain decimals too.
  CHECK(parse_snapshot("4294967300:4294967310:4294967301")->in_progress_array() == "{4294967301}");
  for (const char* bad : {"", "757", "757:", ":757:", "757:x:", "1:2:3,", "1:2:,3", "1:2:3;4",
                          "1:2:-3", "1:123456789012345678901:"}) {
    INFO(bad);
    CHECK_FALSE(parse_snapshot(bad));
  }
}
