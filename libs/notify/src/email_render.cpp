#include "notify/email_render.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace fleet::notify {
namespace {

using json = nlohmann::json;

std::string text_of(const json& doc, const char* key) {
  if (!doc.is_object()) return "";
  auto it = doc.find(key);
  if (it == doc.end()) return "";
  if (it->is_string()) return sanitize_utf8(it->get<std::string>());
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  return "";
}

std::int64_t int_of(const json& doc, const char* key) {
  if (!doc.is_object()) return 0;
  auto it = doc.find(key);
  return it != doc.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

// Cuts at most `max` bytes without splitting a UTF-8 sequence.
std::string utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
    --end;
  return std::string(s.substr(0, end));
}

// One line of header text: control characters (CR and LF above all) become spaces.
std::string header_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F) ? ' ' : c;
  }
  return out;
}

std::string base64(std::string_view bytes) {
  if (bytes.empty()) return "";
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// Base64 in lines of 76 characters (RFC 2045), CRLF after each.
std::string base64_lines(std::string_view bytes) {
  const std::string b = base64(bytes);
  std::string out;
  for (std::size_t i = 0; i < b.size(); i += 76)
    out += b.substr(i, 76) + "\r\n";
  return out;
}

bool plain_ascii(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) return false;
  }
  return true;
}

// RFC 2047: encoded words of at most 45 bytes of text each (never splitting a UTF-8
// sequence), folded onto continuation lines.
std::string encode_subject(std::string_view subject) {
  if (plain_ascii(subject) && subject.find("=?") == std::string_view::npos) {
    return std::string(subject);
  }
  std::string out;
  std::size_t i = 0;
  while (i < subject.size()) {
    std::size_t end = std::min(subject.size(), i + 45);
    while (end < subject.size() && end > i + 1 &&
           (static_cast<unsigned char>(subject[end]) & 0xC0) == 0x80) {
      --end;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(subject.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string rfc5322_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

struct Item {
  std::string severity, title, body, created_at, worker, site;
};

std::vector<Item> items_of(const json& doc) {
  std::vector<Item> items;
  auto it = doc.find("notifications");
  if (it == doc.end() || !it->is_array()) return items;
  for (const auto& n : *it) {
    Item item{text_of(n, "severity"),
              text_of(n, "title"),
              text_of(n, "body"),
              text_of(n, "created_at"),
              "",
              ""};
    if (auto w = n.find("worker"); n.is_object() && w != n.end() && w->is_object()) {
      item.worker = text_of(*w, "name");
      item.site = text_of(*w, "site");
    }
    items.push_back(std::move(item));
  }
  return items;
}

std::string counts_line(const json& doc) {
  const auto count = int_of(doc, "count");
  std::string line = std::to_string(count) + (count == 1 ? " notification" : " notifications");
  auto counts = doc.find("counts");
  if (counts != doc.end() && counts->is_object()) {
    std::vector<std::string> parts;
    for (const char* s : {"critical", "warning", "info"}) {
      const auto n = int_of(*counts, s);
      if (n > 0) parts.push_back(std::to_string(n) + " " + s);
    }
    if (!parts.empty()) line += " (" + join(parts, ", ") + ")";
  }
  return line;
}

std::string where_of(const Item& item) {
  if (item.worker.empty()) return item.site;
  return item.site.empty() ? item.worker : item.worker + ", " + item.site;
}

std::string render_text(const json& doc, const std::vector<Item>& items) {
  std::string out = text_of(doc, "title") + "\n\n";
  if (const auto text = text_of(doc, "text"); !text.empty()) out += text + "\n\n";
  out += counts_line(doc) + "\n\n";
  for (const auto& item : items) {
    out += "- [" + item.severity + "] " + item.title;
    if (const auto where = where_of(item); !where.empty()) out += " (" + where + ")";
    if (!item.created_at.empty()) out += " at " + item.created_at;
    out += "\n";
    if (!item.body.empty()) out += "  " + item.body + "\n";
  }
  if (const auto truncated = int_of(doc, "truncated"); truncated > 0) {
    out += "... and " + std::to_string(truncated) + " more\n";
  }
  out += "\n-- \nfleetward notifier, message " + text_of(doc, "id") + "\n";
  return out;
}

std::string render_html(const json& doc, const std::vector<Item>& items) {
  std::string out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
                    html_escape(text_of(doc, "title")) + "</title></head>\n<body>\n<h2>" +
                    html_escape(text_of(doc, "title")) + "</h2>\n";
  if (const auto text = text_of(doc, "text"); !text.empty()) {
    out += "<p style=\"white-space: pre-wrap\">" + html_escape(text) + "</p>\n";
  }
  out += "<p>" + html_escape(counts_line(doc)) + "</p>\n";
  if (!items.empty()) {
    out +=
        "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\n<tr><th>Severity</th>"
        "<th>What</th><th>Where</th><th>When</th></tr>\n";
    for (const auto& item : items) {
      out += "<tr><td>" + html_escape(item.severity) + "</td><td>" + html_escape(item.title);
      if (!item.body.empty()) out += "<br><small>" + html_escape(item.body) + "</small>";
      out += "</td><td>" + html_escape(where_of(item)) + "</td><td>" +
             html_escape(item.created_at) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  if (const auto truncated = int_of(doc, "truncated"); truncated > 0) {
    out += "<p>&hellip; and " + std::to_string(truncated) + " more</p>\n";
  }
  out += "<p><small>fleetward notifier, message " + html_escape(text_of(doc, "id")) +
         "</small></p>\n</body></html>\n";
  return out;
}

}  // namespace

bool is_plain_address(std::string_view address) {
  if (address.empty() || address.size() > 320) return false;
  const auto at = address.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 >= address.size()) return false;
  if (address.find('@', at + 1) != std::string_view::npos) return false;
  for (char c : address) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return false;
    if (c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '(' || c == ')' ||
        c == '\\' || c == '[' || c == ']' || c == ':') {
      return false;
    }
  }
  return true;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Result<RenderedEmail> render_email(const EmailAddressing& addressing,
                                   std::string_view document_json) {
  const json doc = json::parse(document_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Error::invalid("the notification document is not a JSON object");
  }
  if (!is_plain_address(addressing.from)) {
    return Error::invalid("the sender address is not a plain e-mail address");
  }
  if (addressing.to.empty()) return Error::invalid("the message has no recipient");
  for (const auto& to : addressing.to) {
    if (!is_plain_address(to)) {
      return Error::invalid("a recipient is not a plain e-mail address");
    }
  }
  // The key goes into headers: only the characters fw-<id>-<hex> keys have.
  for (char c : addressing.idempotency_key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return Error::invalid("the idempotency key has a character headers cannot carry");
  }
  if (addressing.idempotency_key.empty()) return Error::invalid("the idempotency key is empty");

  RenderedEmail mail;
  std::string title = header_text(text_of(doc, "title"));
  if (title.empty()) title = "fleetward notification";
  mail.subject = utf8_prefix(title, kMaxSubjectBytes);
  const auto items = items_of(doc);
  mail.text = render_text(doc, items);
  mail.html = render_html(doc, items);

  const std::string boundary = "=_fleetward_" + addressing.idempotency_key;
  std::string& m = mail.message;
  m += "From: " + addressing.from + "\r\n";
  m += "To: " + join(addressing.to, ",\r\n ") + "\r\n";
  m += "Subject: " + encode_subject(mail.subject) + "\r\n";
  m += "Date: " + rfc5322_date(addressing.date) + "\r\n";
  m += "Message-ID: <" + addressing.idempotency_key + "@fleetward>\r\n";
  m += "X-Fleetward-Delivery: " + addressing.idempotency_key + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
  m += "\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += base64_lines(mail.text);
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += base64_lines(mail.html);
  m += "--" + boundary + "--\r\n";
  return mail;
}

}  // namespace fleet::notify
