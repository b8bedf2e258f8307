// smtp-sink: an SMTP server for tests and demos that accepts mail and keeps it (issue 12). It
// speaks enough of RFC 5321 for libcurl and ordinary clients: EHLO/HELO, STARTTLS (OpenSSL, when
// given a certificate and key), AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Each
// accepted message is kept (messages()) and, when given a file, written to it as one JSON line:
//   {"from", "to": [...], "auth_user", "tls", "headers": {name: value}, "parts":
//    [{"content_type", "body"}] (base64 parts decoded), "data": <the raw message>}
// Faults for tests: fail the next N messages with a reply code (after DATA), or never answer
// after DATA (a hung server).
//
// Listens on 127.0.0.1 only. Thread-safe; one thread per client connection.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace fleet::smtpsink {

struct SinkOptions {
  int port = 0;           // 0 = any free port
  std::string cert_file;  // with key_file: STARTTLS is offered
  std::string key_file;
  bool require_tls = false;  // AUTH and MAIL refused (530) before STARTTLS
  std::string username;      // non-empty: AUTH required before MAIL; wrong credentials get 535
  std::string password;
  std::string out_file;  // "" = keep in memory only
  std::size_t max_message_bytes = 10 * 1024 * 1024;
};

struct ReceivedMail {
  std::string from;
  std::vector<std::string> to;
  std::string auth_user;
  bool tls = false;
  std::map<std::string, std::string> headers;              // names lower-cased, folded lines joined
  std::vector<std::pair<std::string, std::string>> parts;  // content type, decoded body
  std::string data;
};

class SmtpSink {
 public:
  static Result<std::unique_ptr<SmtpSink>> start(SinkOptions options);
  ~SmtpSink();  // stops listening and closes every connection
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  int port() const;
  std::vector<ReceivedMail> messages() const;
  // The next `count` messages are refused after DATA with `code` (4xx or 5xx).
  void fail_next(int count, int code);
  // While set, the sink reads DATA and then never answers.
  void hang_after_data(bool hang);
  // Refused AUTH attempts so far.
  int auth_failures() const;

  struct Impl;

 private:
  explicit SmtpSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The JSON line written for a message.
std::string to_json_line(const ReceivedMail& mail);

}  // namespace fleet::smtpsink
