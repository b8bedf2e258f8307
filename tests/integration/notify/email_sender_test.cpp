// The e-mail channel (libs/notify email_sender, libcurl SMTP) against tools/smtp-sink.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "notify/email_sender.h"
#include "process.h"
#include "smtp_sink.h"

using namespace fleet;
using namespace fleet::notify;
using namespace std::chrono_literals;
using json = nlohmann::json;
using fleet::smtpsink::SinkOptions;
using fleet::smtpsink::SmtpSink;

namespace {

// A self-signed certificate for 127.0.0.1 (it is its own CA: the channel's ca_file).
struct SelfSigned {
  std::string dir;
  std::string cert() const { return dir + "/cert.pem"; }
  std::string key() const { return dir + "/key.pem"; }
  SelfSigned() {
    char tmpl[] = "/tmp/fleet-smtp-tls-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    auto r = test::run("/usr/bin/openssl",
                       {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key(), "-out", cert(), "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
    INFO(r.err);
    REQUIRE(r.code == 0);
  }
  ~SelfSigned() { std::filesystem::remove_all(dir); }
};

std::unique_ptr<SmtpSink> sink(SinkOptions o = {}) {
  auto s = SmtpSink::start(std::move(o));
  REQUIRE(s.ok());
  return std::move(*s);
}

ChannelSettings channel(const SmtpSink& s, json extra = json::object()) {
  json config = {{"smtp_url", "smtp://127.0.0.1:" + std::to_string(s.port())},
                 {"starttls", false},
                 {"from", "fleetward@example.org"},
                 {"to", {"ops@example.org", "night@example.org"}},
                 {"timeout_ms", 3000}};
  config.update(extra);
  return {.id = 4, .name = "mail", .kind = "email", .config_json = config.dump(), .secret = ""};
}

OutgoingMessage message(int id, const std::string& title = "2 workers offline at hall-a") {
  const std::string key = "fw-" + std::to_string(id) + "-0badcafe";
  return {.id = id,
          .idempotency_key = key,
          .recipient = "",
          .document_json = json{{"version", 1},
                                {"id", key},
                                {"title", title},
                                {"text", "<b>look</b>"},
                                {"count", 2},
                                {"notifications", json::array()}}
                               .dump(),
          .attempt = 1};
}

}  // namespace

TEST_CASE("email sender: one message per send, text + HTML, the contract's headers",
          "[notify][email]") {
  auto s = sink();
  auto sender = make_email_sender();
  const auto r = sender->send(channel(*s), message(7));
  CAPTURE(r.error);
  REQUIRE(r.outcome == SendResult::Outcome::kDelivered);
  CHECK(r.status == 250);
  const auto mails = s->messages();
  REQUIRE(mails.size() == 1);
  const auto& m = mails[0];
  CHECK(m.from == "fleetward@example.org");
  CHECK(m.to == std::vector<std::string>{"ops@example.org", "night@example.org"});
  CHECK(m.headers.at("subject") == "2 workers offline at hall-a");
  CHECK(m.headers.at("message-id") == "<fw-7-0badcafe@fleetward>");
  CHECK(m.headers.at("x-fleetward-delivery") == "fw-7-0badcafe");
  REQUIRE(m.parts.size() == 2);
  CHECK_THAT(m.parts[0].first, Catch::StartsWith("text/plain"));
  CHECK_THAT(m.parts[0].second, Catch::Contains("<b>look</b>"));
  CHECK_THAT(m.parts[1].first, Catch::StartsWith("text/html"));
  CHECK_THAT(m.parts[1].second, Catch::Contains("&lt;b&gt;look&lt;/b&gt;"));
  CHECK_FALSE(m.tls);
}

TEST_CASE("email sender: a subscription's address replaces the channel's list", "[notify][email]") {
  auto s = sink();
  auto sender = make_email_sender();
  auto msg = message(8);
  msg.recipient = "alice@example.org";
  REQUIRE(sender->send(channel(*s), msg).outcome == SendResult::Outcome::kDelivered);
  REQUIRE(s->messages().size() == 1);
  CHECK(s->messages()[0].to == std::vector<std::string>{"alice@example.org"});
}

TEST_CASE("email sender: STARTTLS with a verified certificate, then AUTH", "[notify][email]") {
  SelfSigned tls;
  auto s = sink({.cert_file = tls.cert(),
                 .key_file = tls.key(),
                 .require_tls = true,
                 .username = "fleet",
                 .password = "smtp-pw-123"});
  auto sender = make_email_sender();
  auto ch = channel(*s, {{"starttls", true}, {"username", "fleet"}, {"ca_file", tls.cert()}});
  ch.secret = "smtp-pw-123";
  const auto r = sender->send(ch, message(9));
  CAPTURE(r.error);
  REQUIRE(r.outcome == SendResult::Outcome::kDelivered);
  REQUIRE(s->messages().size() == 1);
  CHECK(s->messages()[0].tls);
  CHECK(s->messages()[0].auth_user == "fleet");

  SECTION("a certificate it cannot verify is refused: nothing is sent in clear") {
    auto unverified = channel(*s, {{"starttls", true}, {"username", "fleet"}});
    unverified.secret = "smtp-pw-123";
    const auto refused = sender->send(unverified, message(10));
    CHECK(refused.outcome == SendResult::Outcome::kFailed);
    CHECK(s->messages().size() == 1);
  }
  SECTION("a wrong password fails with the server's reply, and the password is never shown") {
    ch.secret = "not-the-password";
    const auto refused = sender->send(ch, message(11));
    CHECK(refused.outcome == SendResult::Outcome::kFailed);
    CHECK_FALSE(refused.permanent);
    CHECK(refused.status == 535);
    CHECK_THAT(refused.reply, Catch::Contains("535 5.7.8 Authentication credentials invalid"));
    CHECK(refused.error.find("not-the-password") == std::string::npos);
    CHECK(refused.reply.find("not-the-password") == std::string::npos);
    CHECK(s->auth_failures() >= 1);
    CHECK(s->messages().size() == 1);
  }
}

TEST_CASE("email sender: starttls required but not offered -> failed, nothing sent in clear",
          "[notify][email]") {
  auto s = sink();  // no certificate: no STARTTLS
  auto sender = make_email_sender();
  const auto r = sender->send(channel(*s, {{"starttls", true}}), message(12));
  CHECK(r.outcome == SendResult::Outcome::kFailed);
  CHECK(s->messages().empty());
}

TEST_CASE("email sender: a refusal after DATA fails with its code, the next send delivers",
          "[notify][email]") {
  auto s = sink();
  s->fail_next(1, 451);
  auto sender = make_email_sender();
  const auto refused = sender->send(channel(*s), message(13));
  CHECK(refused.outcome == SendResult::Outcome::kFailed);
  CHECK(refused.status == 451);
  CHECK_THAT(refused.reply, Catch::StartsWith("451"));
  CHECK(sender->send(channel(*s), message(13)).outcome == SendResult::Outcome::kDelivered);
  CHECK(s->messages().size() == 1);
}

TEST_CASE("email sender: no answer after DATA -> uncertain within the timeout", "[notify][email]") {
  auto s = sink();
  s->hang_after_data(true);
  auto sender = make_email_sender();
  const auto r = sender->send(channel(*s, {{"timeout_ms", 500}}), message(14));
  CHECK(r.outcome == SendResult::Outcome::kUncertain);
  CHECK_THAT(r.error, Catch::Contains("smtp smtp://127.0.0.1"));
}

TEST_CASE("email sender: nobody listening -> failed, retryable", "[notify][email]") {
  const int port = test::free_port();
  auto sender = make_email_sender();
  const auto r =
      sender->send({.id = 1,
                    .name = "m",
                    .kind = "email",
                    .config_json = json{{"smtp_url", "smtp://127.0.0.1:" + std::to_string(port)},
                                        {"starttls", false},
                                        {"from", "a@example.org"},
                                        {"to", {"b@example.org"}}}
                                       .dump()},
                   message(15));
  CHECK(r.outcome == SendResult::Outcome::kFailed);
  CHECK_FALSE(r.permanent);
}

TEST_CASE("email sender: a config or an address it cannot use is a permanent failure",
          "[notify][email]") {
  auto sender = make_email_sender();
  for (const std::string config :
       {"[]", R"({"smtp_url":"http://x","from":"a@b","to":["c@d"]})",
        R"({"smtp_url":"smtp://127.0.0.1:1","from":"a@b","to":["c@d\r\nRCPT TO:<x@y>"]})",
        R"({"smtp_url":"smtp://127.0.0.1:1","from":"a@b","to":[]})"}) {
    CAPTURE(config);
    const auto r =
        sender->send({.id = 2, .name = "m", .kind = "email", .config_json = config}, message(16));
    CHECK(r.outcome == SendResult::Outcome::kFailed);
    CHECK(r.permanent);
  }
}
