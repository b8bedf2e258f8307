// The node installer's text (issue 13): whatever it embeds stays one shell word, and only
// harmless base URLs are accepted.
#include <catch2/catch.hpp>

#include "node_install_script.h"
#include "process.h"

using namespace fleet::gateway;
using Catch::Matchers::Contains;

TEST_CASE("shell_quote keeps any text one word that bash prints back unchanged",
          "[gateway][nodes]") {
  for (const std::string& text :
       {std::string(""), std::string("plain"), std::string("it's"), std::string("''"),
        std::string("$(touch /tmp/fleet-quote-test) `id` ${HOME} \\ \" ; | & > < * ?"),
        std::string("new\nline\ttab"), std::string("'; rm -rf / #")}) {
    INFO(text);
    auto r = fleet::test::run("/bin/bash", {"-c", "printf '%s' " + shell_quote(text)});
    REQUIRE(r.code == 0);
    CHECK(r.out == text);
  }
  CHECK(shell_quote("it's") == R"('it'\''s')");
}

TEST_CASE("installer base URLs: http(s), a host and a path of harmless characters",
          "[gateway][nodes]") {
  for (const char* good : {"http://10.0.0.5:8080", "https://fleet.example.com",
                           "https://fleet.example.com/fleetward", "http://[::1]:8080"}) {
    INFO(good);
    CHECK(is_installer_base_url(good));
  }
  for (const char* bad : {"", "fleet.example.com", "ftp://x", "http://", "http://x/", "http://x y",
                          "http://x'y", "http://x\"y", "http://$(id)", "http://x;y", "http://x`id`",
                          "http://x\\y", "http://x\ny", "http://x&y", "http://x|y"}) {
    INFO(bad);
    CHECK_FALSE(is_installer_base_url(bad));
  }
  CHECK_FALSE(is_installer_base_url("http://" + std::string(500, 'a')));
}

TEST_CASE("the install command and script embed the gateway and token quoted", "[gateway][nodes]") {
  const std::string token = "fwr_AbCdEf012345_" + std::string(43, '-');
  CHECK(node_install_command("http://10.0.0.5:8080", token) ==
        "curl -fsSL 'http://10.0.0.5:8080/api/nodes/install-script?token=" + token +
            "' | sudo bash");
  const std::string script = node_install_script("http://h'x", token);
  CHECK(script.rfind("#!/usr/bin/env bash\n", 0) == 0);
  CHECK_THAT(script, Contains("\nset -euo pipefail\n"));
  CHECK_THAT(script, Contains("\nGATEWAY='http://h'\\''x'\n"));
  CHECK_THAT(script, Contains("\nTOKEN='" + token + "'\n"));
  CHECK(script.find("@GATEWAY@") == std::string::npos);
  CHECK(script.find("@TOKEN@") == std::string::npos);
  // Syntax: bash parses it.
  auto r = fleet::test::run("/bin/bash", {"-n", "-c", script});
  CHECK(r.code == 0);
}
