// The e-mail rendering of a notification document (libs/notify email_render).
#include "notify/email_render.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

using namespace fleet::notify;
using nlohmann::json;

namespace {

const EmailAddressing kTo{.from = "fleetward@example.org",
                          .to = {"ops@example.org", "night@example.org"},
                          .idempotency_key = "fw-42-0a1b2c3d",
                          .date = 1700000000};

std::string document(const std::string& title, const std::string& worker_name) {
  return json{{"version", 1},
              {"id", "fw-42-0a1b2c3d"},
              {"kind", "group"},
              {"title", title},
              {"text", "two miners went offline"},
              {"count", 5},
              {"counts", {{"critical", 2}, {"warning", 3}, {"info", 0}}},
              {"notifications",
               {{{"id", 1},
                 {"event", "worker.offline"},
                 {"severity", "critical"},
                 {"title", "m1 offline"},
                 {"body", "no heartbeat for 90 s"},
                 {"created_at", "2026-12-04T10:00:00Z"},
                 {"worker", {{"id", 7}, {"name", worker_name}, {"site", "hall-a"}}}},
                {{"id", 2},
                 {"event", "worker.offline"},
                 {"severity", "warning"},
                 {"title", "m2 offline"},
                 {"worker", nullptr}}}},
              {"truncated", 3}}
      .dump();
}

std::string decode(const std::string& b64_lines) {
  std::string clean;
  for (char c : b64_lines) {
    if (c != '\r' && c != '\n') clean += c;
  }
  std::string out(clean.size(), '\0');
  std::size_t len = 0;
  REQUIRE(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), clean.data(),
                            clean.size(), nullptr, &len, nullptr,
                            sodium_base64_VARIANT_ORIGINAL) == 0);
  out.resize(len);
  return out;
}

// The base64 body of the part with this content type.
std::string part(const std::string& message, const std::string& type) {
  const auto at = message.find("Content-Type: " + type);
  REQUIRE(at != std::string::npos);
  const auto start = message.find("\r\n\r\n", at) + 4;
  const auto end = message.find("--=_fleetward_", start);
  return decode(message.substr(start, end - start));
}

}  // namespace

TEST_CASE("an e-mail has the contract's headers and a text and an HTML part", "[notify][email]") {
  auto mail = render_email(kTo, document("5 workers offline at hall-a", "m1"));
  REQUIRE(mail.ok());
  const std::string& m = mail->message;
  CHECK(m.find("From: fleetward@example.org\r\n") == 0);
  CHECK_THAT(m, Catch::Contains("To: ops@example.org,\r\n night@example.org\r\n"));
  CHECK_THAT(m, Catch::Contains("Subject: 5 workers offline at hall-a\r\n"));
  CHECK_THAT(m, Catch::Contains("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
  CHECK_THAT(m, Catch::Contains("Message-ID: <fw-42-0a1b2c3d@fleetward>\r\n"));
  CHECK_THAT(m, Catch::Contains("X-Fleetward-Delivery: fw-42-0a1b2c3d\r\n"));
  CHECK_THAT(m,
             Catch::Contains(
                 "Content-Type: multipart/alternative; boundary=\"=_fleetward_fw-42-0a1b2c3d\""));
  CHECK_THAT(m, Catch::EndsWith("--=_fleetward_fw-42-0a1b2c3d--\r\n"));
  // Every line ends in CRLF and none is longer than SMTP allows.
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') {
      CHECK(i > 0);
      CHECK(m[i - 1] == '\r');
      CHECK(i - line_start <= 998);
      line_start = i + 1;
    }
  }
  const std::string text = part(m, "text/plain");
  CHECK(text == mail->text);
  CHECK_THAT(text, Catch::Contains("5 notifications (2 critical, 3 warning)"));
  CHECK_THAT(text, Catch::Contains("- [critical] m1 offline (m1, hall-a) at 2026-12-04T10:00:00Z"));
  CHECK_THAT(text, Catch::Contains("  no heartbeat for 90 s"));
  CHECK_THAT(text, Catch::Contains("- [warning] m2 offline\n"));
  CHECK_THAT(text, Catch::Contains("... and 3 more"));
  const std::string html = part(m, "text/html");
  CHECK(html == mail->html);
  CHECK_THAT(html, Catch::Contains("<td>critical</td><td>m1 offline"));
  CHECK_THAT(html, Catch::Contains("and 3 more"));
}

TEST_CASE("every value of the document is HTML-escaped in the HTML part", "[notify][email]") {
  auto mail = render_email(kTo, document("<b>alert</b> & \"co\"", "<script>alert(1)</script>"));
  REQUIRE(mail.ok());
  CHECK_THAT(mail->html, Catch::Contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK_THAT(mail->html, Catch::Contains("<h2>&lt;b&gt;alert&lt;/b&gt; &amp; &quot;co&quot;</h2>"));
  CHECK(mail->html.find("<script>") == std::string::npos);
  CHECK(mail->html.find("<b>") == std::string::npos);
  // The text part keeps the text as it is.
  CHECK_THAT(mail->text, Catch::Contains("<script>alert(1)</script>"));
}

TEST_CASE("a title cannot add headers, and a non-ASCII one is RFC 2047 encoded",
          "[notify][email]") {
  auto injected = render_email(kTo, document("hi\r\nBcc: evil@example.org", "m1"));
  REQUIRE(injected.ok());
  CHECK(injected->message.find("\r\nBcc:") == std::string::npos);
  CHECK_THAT(injected->message, Catch::Contains("Subject: hi  Bcc: evil@example.org\r\n"));

  auto utf8 = render_email(kTo, document("Hallé ausgefallen — 5 Geräte", "m1"));
  REQUIRE(utf8.ok());
  CHECK_THAT(utf8->message, Catch::Contains("Subject: =?UTF-8?B?"));
  CHECK(utf8->subject == "Hallé ausgefallen — 5 Geräte");

  auto long_title = render_email(kTo, document(std::string(1000, 'x'), "m1"));
  REQUIRE(long_title.ok());
  CHECK(long_title->subject.size() == kMaxSubjectBytes);
}

TEST_CASE("addresses that could break the headers and a bad document are refused",
          "[notify][email]") {
  for (const std::string bad :
       {"a@b\r\nBcc: c@d", "no-at-sign", "<a@b>", "a@b,c@d", "a b@c", "@b", "a@", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(is_plain_address(bad));
    EmailAddressing to = kTo;
    to.to = {bad};
    CHECK_FALSE(render_email(to, document("t", "m")).ok());
  }
  CHECK(is_plain_address("ops+alerts@mail.example.org"));
  EmailAddressing no_recipient = kTo;
  no_recipient.to.clear();
  CHECK_FALSE(render_email(no_recipient, document("t", "m")).ok());
  CHECK_FALSE(render_email(kTo, "[1,2]").ok());
  CHECK_FALSE(render_email(kTo, "not json").ok());
  EmailAddressing bad_key = kTo;
  bad_key.idempotency_key = "fw-1>\r\nX: y";
  CHECK_FALSE(render_email(bad_key, document("t", "m")).ok());
}

TEST_CASE("html_escape escapes the five characters", "[notify][email]") {
  CHECK(html_escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;");
}
