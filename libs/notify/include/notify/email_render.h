// Turning one notification document (sender.h) into an e-mail: the RFC 5322 message the e-mail
// sender uploads over SMTP. Pure (no network, no clock): the date is given, so tests pin it.
//
// The message is multipart/alternative with a text/plain and a text/html part (both UTF-8,
// base64), Subject = the document's title (RFC 2047 encoded when not plain ASCII, CR/LF and
// control characters dropped, capped), Message-ID <idempotency_key@fleetward> and
// X-Fleetward-Delivery: <idempotency_key> so a mailbox or a filter can drop a duplicate an
// at-least-once retry made. Every value from the document is HTML-escaped in the HTML part.
#pragma once

#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fleet::notify {

constexpr std::size_t kMaxSubjectBytes = 200;

struct EmailAddressing {
  std::string from;
  std::vector<std::string> to;  // 1..50 addresses
  std::string idempotency_key;
  std::time_t date = 0;  // the Date header (UTC)
};

struct RenderedEmail {
  std::string subject;  // decoded, as shown to the reader
  std::string text;     // the text/plain part before encoding
  std::string html;     // the text/html part before encoding
  std::string message;  // the whole message with CRLF line ends, ready for DATA
};

// kInvalidArgument when the document is not a JSON object or an address holds a character that
// could break the headers (CR, LF, '<', '>', ',', control characters) or has no '@'.
Result<RenderedEmail> render_email(const EmailAddressing& addressing,
                                   std::string_view document_json);

// One e-mail address as the API accepts it: local@domain, printable ASCII, no spaces or
// header-breaking characters, at most 320 bytes.
bool is_plain_address(std::string_view address);

// "&", "<", ">", '"' and "'" as entities.
std::string html_escape(std::string_view text);

}  // namespace fleet::notify
