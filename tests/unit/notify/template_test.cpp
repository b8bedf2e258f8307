#include "notify/template.h"

#include <catch2/catch.hpp>
#include <string>

using fleet::notify::kMaxTemplateBytes;
using fleet::notify::render_template;
using fleet::notify::validate_template;

TEST_CASE("a template with known placeholders is valid and renders them", "[notify]") {
  const std::string t = "{{count}} x {{event}} at {{site}}: {{first_title}}{{farm}}";
  REQUIRE(validate_template(t).ok());
  CHECK(render_template(t, {{"count", "500"},
                            {"event", "worker.offline"},
                            {"site", "hall-a"},
                            {"first_title", "m1 offline"}}) ==
        "500 x worker.offline at hall-a: m1 offline");
}

TEST_CASE("a template is refused with the reason: unknown placeholder, unclosed, control, size",
          "[notify]") {
  auto unknown = validate_template("hi {{secret}}");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message(), Catch::Contains("unknown placeholder '{{secret}}'"));
  auto unclosed = validate_template("hi {{count");
  REQUIRE_FALSE(unclosed.ok());
  CHECK_THAT(unclosed.error().message(), Catch::Contains("never closed"));
  CHECK_FALSE(validate_template(std::string("a\0b", 3)).ok());
  CHECK_FALSE(validate_template("bell\a").ok());
  CHECK(validate_template("line\n\tindented").ok());
  auto huge = validate_template(std::string(kMaxTemplateBytes + 1, 'x'));
  REQUIRE_FALSE(huge.ok());
  CHECK_THAT(huge.error().message(), Catch::Contains("at most 4096 bytes"));
}

TEST_CASE("a value is inserted as is and never expanded again", "[notify]") {
  CHECK(render_template("[{{event}}]", {{"event", "{{count}}"}, {"count", "7"}}) == "[{{count}}]");
  CHECK(render_template("{{count}}{{count}}", {}) == "");
  // The output is capped even when values are large.
  const std::string big(10000, 'v');
  CHECK(render_template("{{event}}{{event}}{{event}}{{event}}{{event}}", {{"event", big}}).size() ==
        4 * kMaxTemplateBytes);
}
