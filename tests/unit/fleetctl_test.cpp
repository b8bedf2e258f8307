#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "api_commands.h"
#include "commands.h"
#include "log_tail.h"
#include "process.h"
#include "table.h"

using namespace fleet;
using namespace fleet::cli;

TEST_CASE("tables pad columns and shorten long cells", "[fleetctl]") {
  Table t({"A", "LONG HEADER"});
  t.add({"x", "1"});
  t.add({"°C✓", std::string(100, 'z')});
  const std::string out = t.render(10);
  CHECK(out.find("A    LONG HEADER\n") == 0);
  CHECK(out.find("x    1\n") != std::string::npos);
  CHECK(out.find("°C✓  zzzzzzzzz…") != std::string::npos);
}

TEST_CASE("short ages", "[fleetctl]") {
  CHECK(short_age(5) == "5s");
  CHECK(short_age(60) == "1m");
  CHECK(short_age(125) == "2m5s");
  CHECK(short_age(3600 * 2 + 60 * 5) == "2h5m");
  CHECK(short_age(86400 * 3 + 3600) == "3d1h");
  CHECK(short_age(-4) == "0s");
}

TEST_CASE("a running process without a recent heartbeat is stale", "[fleetctl]") {
  CHECK(effective_state("running", 10, 30) == "running");
  CHECK(effective_state("running", 149, 30) == "running");  // 3 x 30 s + 60 s
  CHECK(effective_state("running", 151, 30) == "stale");
  CHECK(effective_state("running", 200, 600) == "running");  // long intervals heartbeat each minute
  CHECK(effective_state("running", 241, 600) == "stale");
  CHECK(effective_state("stopped", 10'000, 30) == "stopped");
}

TEST_CASE("last_lines returns the tail of small and large files", "[fleetctl][logs]") {
  const std::string dir = test::make_temp_dir("fleet-tail");
  test::write_file(dir + "/a.log", "one\ntwo\nthree\n");
  CHECK(last_lines(dir + "/a.log", 2) == std::vector<std::string>{"two", "three"});
  CHECK(last_lines(dir + "/a.log", 10) == std::vector<std::string>{"one", "two", "three"});
  CHECK(last_lines(dir + "/a.log", 0).empty());
  test::write_file(dir + "/b.log", "no newline at end");
  CHECK(last_lines(dir + "/b.log", 1) == std::vector<std::string>{"no newline at end"});
  std::string big;
  for (int i = 0; i < 50'000; ++i)
    big += "line " + std::to_string(i) + " with some padding text\n";
  test::write_file(dir + "/big.log", big);
  auto tail = last_lines(dir + "/big.log", 3);
  CHECK(tail == std::vector<std::string>{"line 49997 with some padding text",
                                         "line 49998 with some padding text",
                                         "line 49999 with some padding text"});
  CHECK(log_files(dir, {}).size() == 3);
  CHECK(log_files(dir, {"a"}) == std::vector<std::string>{dir + "/a.log"});
  std::filesystem::remove_all(dir);
}

TEST_CASE("the follower sees appended lines, truncation and rotation", "[fleetctl][logs]") {
  const std::string dir = test::make_temp_dir("fleet-follow");
  const std::string path = dir + "/w.log";
  test::write_file(path, "old\n");
  Follower f({path});
  std::vector<std::string> seen;
  auto collect = [&](const std::string&, const std::string& line) { seen.push_back(line); };
  CHECK(f.poll(collect) == 0);  // starts at the end
  {
    std::ofstream out(path, std::ios::app);
    out << "new 1\npartial";
  }
  f.poll(collect);
  CHECK(seen == std::vector<std::string>{"new 1"});
  {
    std::ofstream out(path, std::ios::app);
    out << " done\n";
  }
  f.poll(collect);
  CHECK(seen.back() == "partial done");
  test::write_file(path, "after truncation\n");  // shorter than before
  f.poll(collect);
  CHECK(seen.back() == "after truncation");
  std::filesystem::rename(path, path + ".1");  // rotation: a new file takes the name
  test::write_file(path, "fresh file line that is longer than the truncated one\n");
  f.poll(collect);
  CHECK(seen.back() == "fresh file line that is longer than the truncated one");
  std::filesystem::remove_all(dir);
}

TEST_CASE("fleetctl reads a HiveOS token from a file or standard input, never a flag",
          "[fleetctl][hiveos]") {
  std::istringstream in("  tok-from-stdin  \nsecond line\n");
  CHECK(fleet::cli::read_hiveos_token("-", in) == "tok-from-stdin");
  const auto path =
      std::filesystem::temp_directory_path() / ("fleetctl-token-" + std::to_string(::getpid()));
  {
    std::ofstream f(path);
    f << "file-token\r\n";
  }
  std::istringstream unused;
  CHECK(fleet::cli::read_hiveos_token(path.string(), unused) == "file-token");
  std::filesystem::remove(path);
  std::istringstream empty("\n");
  CHECK(fleet::cli::read_hiveos_token("-", empty).empty());
  CHECK_THROWS(fleet::cli::read_hiveos_token(path.string(), unused));
}
