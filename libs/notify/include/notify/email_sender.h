// The e-mail channel (kind "email"): one SMTP transaction per message, over libcurl.
//
// Channel config (validated by the API, docs/notifications-channels.md):
//   {"smtp_url": "smtp://host:port" | "smtps://host:port", "starttls": true,
//    "username"?: "...", "from": "fleetward@example.org", "to": ["ops@example.org", ...],
//    "ca_file"?: "/path", "timeout_ms": 15000}
// The channel secret is the SMTP password (AUTH PLAIN/LOGIN through libcurl when username is set).
// With starttls the session must be upgraded (CURLUSESSL_ALL: no clear-text fallback); smtps://
// is TLS from the start. Certificates and host names are always verified (ca_file, else the
// system store). No proxy from the environment.
//
// One message = one e-mail (email_render.h) to the config's "to" list, or to the message's
// recipient when it has one (a user's subscription address). Outcomes: 250 after DATA ->
// delivered; a refusal (auth, MAIL, RCPT, DATA) or no connection -> failed with the server's
// reply code and line; a timeout after the whole message was sent -> uncertain (the mail may have
// gone; Message-ID lets mailboxes drop the duplicate); a config the sender cannot use -> failed,
// permanent.
#pragma once

#include <memory>

#include "notify/sender.h"

namespace fleet::notify {

struct EmailSenderOptions {
  // The EHLO name and the domain of nothing else; "" = libcurl's default.
  std::string helo_domain = "fleetward.local";
};

// Thread-safe; every send runs its own libcurl handle.
std::unique_ptr<Sender> make_email_sender(EmailSenderOptions options = {});

}  // namespace fleet::notify
