// Miner state: identities, credentials, reboots, faults; and the JSON writer the payloads use.
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "json_writer.h"
#include "sim_fixtures.h"

using namespace fleet::minersim;
using namespace fleet::minersim::test;
using std::chrono::seconds;

TEST_CASE("miner-sim: identities are deterministic, MACs unique and well-formed",
          "[minersim][identity]") {
  SimOptions o;
  std::set<std::string> macs;
  const std::regex mac_format("^[0-9A-F]{2}(:[0-9A-F]{2}){5}$");
  int legacy = 0, wrapped = 0;
  for (int i = 0; i < 20000; ++i) {
    const MinerIdentity id = make_identity(i, o);
    macs.insert(id.mac);
    if (i < 50) CHECK(std::regex_match(id.mac, mac_format));
    if (id.style == FirmwareStyle::kLegacy) ++legacy;
    if (id.presets_shape == PresetsShape::kWrapped) ++wrapped;
  }
  CHECK(macs.size() == 20000);
  CHECK(legacy == Approx(5000).epsilon(0.1));   // --firmware mixed: 25% legacy
  CHECK(wrapped == Approx(4000).epsilon(0.1));  // --presets-shape mixed: 20% wrapped
  CHECK(make_identity(5, o).mac == make_identity(5, o).mac);
  SimOptions other = o;
  other.seed = 7;
  CHECK(make_identity(5, o).mac != make_identity(5, other).mac);
  // Models round-robin in the order given.
  o.models = {*find_model("s21"), *find_model("s19")};
  CHECK(make_identity(0, o).model->alias == "s21");
  CHECK(make_identity(1, o).model->alias == "s19");
  CHECK(make_identity(2, o).model->alias == "s21");
  CHECK(initial_ip(0, o) == 0x7f140001);
  CHECK(format_ip(initial_ip(300, o)) == "127.20.1.45");
}

TEST_CASE("miner-sim: model lists parse and name unknown models", "[minersim][identity]") {
  auto list = parse_model_list("s19, S19j-Pro ,s21");
  REQUIRE(list.ok());
  CHECK((*list)[1]->alias == "s19jpro");
  CHECK_THAT(parse_model_list("s19,s9").error().message(),
             Catch::Matchers::Contains("unknown model 's9'"));
  CHECK_FALSE(parse_model_list(",").ok());
  CHECK_FALSE(parse_ip("127.0.0.256").ok());
  CHECK_FALSE(parse_ip("127.0.0").ok());
  CHECK(*parse_ip("127.20.9.9") == 0x7f140909u);
  CHECK(gateway_for(0x7f140001) == 0x7f1400feu);
  CHECK(gateway_for(0x7f140005) == 0x7f140001u);
}

TEST_CASE("miner-sim: API key format is exactly 32 hex characters", "[minersim][auth]") {
  CHECK(valid_api_key_format("0123456789abcdef0123456789ABCDEF"));
  CHECK_FALSE(valid_api_key_format("0123456789abcdef0123456789abcdeg"));
  CHECK_FALSE(valid_api_key_format("0123456789abcdef0123456789abcde"));
  CHECK_FALSE(valid_api_key_format(""));
}

TEST_CASE("miner-sim: tokens are bounded and a password change takes effect", "[minersim][auth]") {
  Miner m = make_miner();
  std::vector<std::string> tokens;
  for (int i = 0; i < 20; ++i)
    tokens.push_back(*m.unlock("admin", t0()));
  CHECK(m.live_tokens(t0()) == Miner::kMaxTokens);
  CHECK_FALSE(m.token_valid(tokens.front(), t0()));  // the oldest were dropped
  CHECK(m.token_valid(tokens.back(), t0()));
  CHECK(std::set<std::string>(tokens.begin(), tokens.end()).size() == tokens.size());
  CHECK_FALSE(m.change_password("wrong", "new"));
  CHECK(m.change_password("admin", "new"));
  CHECK_FALSE(m.unlock("admin", t0()).has_value());
  CHECK(m.unlock("new", t0()).has_value());
}

TEST_CASE("miner-sim: a reboot takes the miner away, then brings it back with uptime reset",
          "[minersim][reboot]") {
  Miner m = keyed_miner({.timing = {.init_time = std::chrono::milliseconds(5000)}});
  const std::string token = *m.unlock("admin", t0());
  CHECK(m.uptime_seconds(t0()) > 600);
  m.schedule_reboot(t0(), seconds(3), seconds(10));
  CHECK(m.reachable(t0().plus(seconds(2))));
  CHECK_FALSE(m.reachable(t0().plus(seconds(3))));
  CHECK_FALSE(m.finish_reboot_if_due(t0().plus(seconds(12))));
  CHECK_FALSE(m.reachable(t0().plus(seconds(12))));
  CHECK(m.finish_reboot_if_due(t0().plus(seconds(13))));
  const Now back = t0().plus(seconds(13));
  CHECK(m.reachable(back));
  CHECK(m.uptime_seconds(back.plus(seconds(2))) == 2);
  CHECK(m.state(back) == MinerStateKind::kInitializing);
  CHECK(m.state(back.plus(seconds(6))) == MinerStateKind::kMining);
  CHECK_FALSE(m.token_valid(token, back));  // sessions do not survive a reboot
  CHECK(m.key_valid(kKey));                 // API keys do
}

TEST_CASE("miner-sim: offline is a fault that clearing removes", "[minersim][faults]") {
  Miner m = make_miner();
  m.set_offline(true);
  CHECK_FALSE(m.reachable(t0()));
  REQUIRE(m.faults().size() == 1);
  CHECK(describe(m.faults()[0]) == "offline");
  m.clear_faults();
  CHECK(m.reachable(t0()));
  m.add_fault({.kind = FaultKind::kOffline});
  m.remove_faults(FaultKind::kOffline);
  CHECK(m.reachable(t0()));
}

TEST_CASE("miner-sim: adding a fault of the same kind replaces it, chains and fans are kept apart",
          "[minersim][faults]") {
  Miner m = make_miner();
  m.add_fault({.kind = FaultKind::kSlow, .arg = 100});
  m.add_fault({.kind = FaultKind::kSlow, .arg = 200});
  m.add_fault({.kind = FaultKind::kFailingChain, .arg = 1});
  m.add_fault({.kind = FaultKind::kFailingChain, .arg = 3});
  m.add_fault({.kind = FaultKind::kSlow, .arg = 50, .path = "/api/v1/summary"});
  CHECK(m.faults().size() == 4);
  CHECK(m.fault_for(FaultKind::kSlow, "/api/v1/info")->arg == 200);
  CHECK(m.chain_failing(1));
  CHECK(m.chain_failing(3));
  CHECK_FALSE(m.chain_failing(2));
  m.remove_faults(FaultKind::kSlow);
  CHECK(m.fault_for(FaultKind::kSlow, "/api/v1/summary") == nullptr);
}

TEST_CASE("miner-sim: the JSON writer places commas and escapes strings", "[minersim][json]") {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("a", 1).field("s", std::string_view("q\"\\\n\x01"));
  w.key("arr").begin_array().value(true).null().number(1.5, 2).number(3733.0, 0).end_array();
  w.key("o").begin_object().end_object();
  w.field("neg", static_cast<int64_t>(-5));
  w.end_object();
  CHECK(out == R"({"a":1,"s":"q\"\\\n\u0001","arr":[true,null,1.50,3733.0],"o":{},"neg":-5})");
  CHECK(nlohmann::json::parse(out)["s"] == "q\"\\\n\x01");
}
