#include <catch2/catch.hpp>

#include "core/backoff.h"
#include "core/cpus.h"
#include "core/duration.h"
#include "core/json_depth.h"
#include "core/result.h"
#include "core/strings.h"

using namespace fleet;
using std::chrono::milliseconds;

TEST_CASE("parse_duration accepts units, fractions and sums", "[core][duration]") {
  struct Case {
    const char* text;
    long long ms;
  } cases[] = {{"250ms", 250},      {"30s", 30'000}, {"5m", 300'000}, {"1h30m", 5'400'000},
               {"2d", 172'800'000}, {"1.5s", 1500},  {"0s", 0},       {"1m30s250ms", 90'250}};
  for (const auto& c : cases) {
    INFO(c.text);
    auto d = parse_duration(c.text);
    REQUIRE(d.ok());
    CHECK(d->count() == c.ms);
  }
}

TEST_CASE("parse_duration rejects bad text and names it", "[core][duration]") {
  for (const char* text : {"", "30", "5x", "m5", "1h-2m", "abc", "1.2.3s"}) {
    INFO(text);
    auto d = parse_duration(text);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().kind() == ErrorKind::kInvalidArgument);
  }
  CHECK_THAT(parse_duration("5x").error().message(), Catch::Matchers::Contains("unknown unit 'x'"));
  CHECK_THAT(parse_duration("30").error().message(), Catch::Matchers::Contains("missing unit"));
}

TEST_CASE("format_duration is the inverse of parse_duration for display", "[core][duration]") {
  CHECK(format_duration(milliseconds(0)) == "0s");
  CHECK(format_duration(milliseconds(250)) == "250ms");
  CHECK(format_duration(milliseconds(90'000)) == "1m30s");
  CHECK(format_duration(milliseconds(4500)) == "4s500ms");
  CHECK(format_duration(milliseconds(86'400'000 + 3'600'000)) == "1d1h");
  for (long long ms : {1LL, 999LL, 61'001LL, 3'600'000LL, 93'784'005LL}) {
    CHECK(parse_duration(format_duration(milliseconds(ms)))->count() == ms);
  }
}

TEST_CASE("backoff grows exponentially, is capped, and jitter stays inside the band",
          "[core][backoff]") {
  BackoffPolicy p{
      .initial = milliseconds(1000), .max = milliseconds(300'000), .multiplier = 2, .jitter = 0.5};
  // Without randomness (u = 0) the delays are the exponential sequence.
  CHECK(backoff_delay(p, 1, 0).count() == 1000);
  CHECK(backoff_delay(p, 2, 0).count() == 2000);
  CHECK(backoff_delay(p, 5, 0).count() == 16'000);
  CHECK(backoff_delay(p, 9, 0).count() == 256'000);
  CHECK(backoff_delay(p, 10, 0).count() == 300'000);  // capped
  CHECK(backoff_delay(p, 1000, 0).count() == 300'000);
  // The jitter takes at most half off.
  CHECK(backoff_delay(p, 3, 0.999).count() >= 2000);
  CHECK(backoff_delay(p, 3, 0.5).count() == 3000);

  Backoff b(p, 42);
  milliseconds previous_max{0};
  for (int i = 1; i <= 12; ++i) {
    milliseconds d = b.fail();
    const long long base = std::min<long long>(1000LL << (i - 1), 300'000);
    CHECK(d.count() <= base);
    CHECK(d.count() >= base / 2);
    previous_max = std::max(previous_max, d);
  }
  CHECK(b.failures() == 12);
  b.reset();
  CHECK(b.fail().count() <= 1000);
}

TEST_CASE("two backoffs with different seeds spread out", "[core][backoff]") {
  BackoffPolicy p;
  Backoff a(p, 1), b(p, 2);
  int differ = 0;
  for (int i = 0; i < 8; ++i)
    differ += a.fail() != b.fail();
  CHECK(differ >= 6);
}

TEST_CASE("redact_secrets masks passwords, keys and tokens", "[core][strings]") {
  CHECK(redact_secrets("postgresql://fleet:hunter2@db:5432/fleet") ==
        "postgresql://fleet:***@db:5432/fleet");
  CHECK(redact_secrets("host=db password=hunter2 dbname=x") == "host=db password=*** dbname=x");
  CHECK(redact_secrets("password='hunter 2' user=x") == "password=*** user=x");
  CHECK(redact_secrets("x-api-key: 0123456789abcdef") == "x-api-key: ***");
  CHECK(redact_secrets("Authorization: Bearer eyJhbGciOi") == "Authorization: Bearer ***");
  CHECK(redact_secrets("nothing secret here") == "nothing secret here");
  CHECK(redact_secrets("postgresql://fleet@db/fleet") == "postgresql://fleet@db/fleet");
  const std::string out = redact_secrets("connect to postgres://u:p4ss@h/d failed: password=p4ss");
  CHECK(out.find("p4ss") == std::string::npos);
  CHECK(redact_secrets("PASSWORD = 'it\\'s' next") == "PASSWORD = *** next");
  CHECK(redact_secrets("password='open quote x") == "password=*** quote x");
  CHECK(redact_secrets("a=1&password=s3&b=2") == "a=1&password=***&b=2");
  CHECK(redact_secrets("{\"authorization\": \"t0k\"}") == "{\"authorization\": \"t0k\"}");
  CHECK(redact_secrets("X-Api-Key:k1, next") == "X-Api-Key:***, next");
  CHECK(redact_secrets("a://b:c@d e://f:g@h") == "a://b:***@d e://f:***@h");
  CHECK(redact_secrets("://x:y@z") == "://x:y@z");  // no scheme
}

TEST_CASE("redact_secrets survives 100,000-character values (issue 15.1: regex recursion)",
          "[core][strings]") {
  const std::string big(100'000, 'a');
  CHECK(redact_secrets("password='" + big + "' end") == "password=*** end");
  CHECK(redact_secrets("password='" + big) == "password=***");
  CHECK(redact_secrets("password=" + big) == "password=***");
  CHECK(redact_secrets("postgresql://u:" + big + "@h/db") == "postgresql://u:***@h/db");
  CHECK(redact_secrets("Authorization: Bearer " + big) == "Authorization: Bearer ***");
  CHECK(redact_secrets(big + "://" + big).size() == 2 * big.size() + 3);
}

TEST_CASE("sanitize_utf8 keeps valid text and replaces invalid bytes", "[core][strings]") {
  CHECK(sanitize_utf8("plain") == "plain");
  CHECK(sanitize_utf8("temp 85°C ✓") == "temp 85°C ✓");
  CHECK(is_valid_utf8("temp 85°C ✓"));
  const std::string bad = std::string("a\xff") + "b\xc3";
  CHECK_FALSE(is_valid_utf8(bad));
  CHECK(sanitize_utf8(bad) ==
        "a\xEF\xBF\xBD"
        "b\xEF\xBF\xBD");
  CHECK(is_valid_utf8(sanitize_utf8(bad)));
  // Overlong encoding of '/' and a UTF-16 surrogate are invalid.
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));
}

TEST_CASE("closest_match suggests likely typos only", "[core][strings]") {
  std::vector<std::string> keys{"interval", "log.format", "health.port"};
  CHECK(closest_match("intreval", keys) == "interval");
  CHECK(closest_match("log.fromat", keys) == "log.format");
  CHECK(closest_match("completely.different", keys).empty());
}

TEST_CASE("Result and Status carry values or errors", "[core][result]") {
  Result<int> ok = 3;
  REQUIRE(ok.ok());
  CHECK(*ok == 3);
  Result<int> bad = Error::unavailable("db down");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().transient());
  CHECK(bad.error().describe() == "unavailable: db down");
  CHECK_FALSE(Error::invalid("x").transient());
  Status s = Status::success();
  CHECK(s.ok());
  Status f = Error::precondition("schema behind");
  CHECK_FALSE(f.ok());
  CHECK(f.error().kind() == ErrorKind::kFailedPrecondition);
}

TEST_CASE("JSON nesting depth is found without parsing, strings skipped", "[core][json]") {
  CHECK(fleet::json_nesting_depth("1") == 0);
  CHECK(fleet::json_nesting_depth("[]") == 1);
  CHECK(fleet::json_nesting_depth(R"([{"a": [1, {"b": 2}]}, []])") == 4);
  // Brackets inside strings, and escaped quotes, do not count.
  CHECK(fleet::json_nesting_depth(R"({"a": "[[[{{{", "b": "\"[[["})") == 1);
  CHECK(fleet::json_nesting_depth(R"(["\\", [2]])") == 2);
  // A hostile document: the scan stops once the limit is passed.
  const std::string deep(1'000'000, '[');
  CHECK(fleet::json_nesting_depth(deep, 64) == 65);
  CHECK(fleet::json_nesting_depth(deep) == 1'000'000);
}

TEST_CASE("a cgroup CPU quota is read as whole CPUs, rounded up", "[core][cpus]") {
  CHECK(cpus_of_quota("200000 100000") == 2);
  CHECK(cpus_of_quota("150000 100000\n") == 2);
  CHECK(cpus_of_quota("50000 100000") == 1);
  CHECK(cpus_of_quota("max 100000") == std::nullopt);  // no limit
  CHECK(cpus_of_quota("") == std::nullopt);
  CHECK(cpus_of_quota("100000") == std::nullopt);
  CHECK(cpus_of_quota("-1 100000") == std::nullopt);
  CHECK(cpus_of_quota("100000 0") == std::nullopt);
  CHECK(cpus_of_quota("12x 100000") == std::nullopt);
  CHECK(cpus_of_quota("-1 100000") == std::nullopt);  // cgroup v1: no limit
  CHECK(usable_cpus() >= 1);
}

TEST_CASE("the cgroups of a process are found in /proc/self/cgroup, v1 and v2", "[core][cpus]") {
  const auto v2 = cgroup_paths("0::/system.slice/fleetward-api-gateway.service\n");
  CHECK(v2.unified == "/system.slice/fleetward-api-gateway.service");
  CHECK(v2.cpu_v1.empty());
  const auto v1 = cgroup_paths(
      "12:cpuset:/docker/abc\n4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n"
      "1:name=systemd:/docker/abc\n0::/\n");
  CHECK(v1.cpu_v1 == "/docker/abc");
  CHECK(v1.unified == "/");
  const auto cpuacct_only = cgroup_paths("2:cpuacct:/x\n");  // not the cpu controller
  CHECK(cpuacct_only.cpu_v1.empty());
  CHECK(cgroup_paths("").unified.empty());
  CHECK(cgroup_paths("garbage\n:\n").cpu_v1.empty());
}
