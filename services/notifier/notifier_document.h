// The versioned notification document (notify/sender.h, docs/notifications.md) a message carries:
// rendered once when a group is flushed and stored, so every retry sends the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "notifier_rules.h"

namespace fleet::notifier {

struct DocumentInput {
  std::string idempotency_key;
  std::string kind = "group";  // group | repeat | channel_alert
  std::string channel;
  std::string group_key;
  std::vector<Facts> items;    // every notification of the message, oldest first
  int max_items = 20;          // listed; the rest are counted in "truncated"
  std::string template_title;  // the channel's templates ("" = the default)
  std::string template_text;
  std::string created_at;  // RFC 3339
};

struct Document {
  std::string json;  // the document text sent
  std::string title;
  std::string status;  // firing | resolved | info
};

// "resolved" when every notification resolves something (*.resolved, *.recovered), "firing"
// when one is a warning or critical, "info" otherwise.
std::string document_status(const std::vector<Facts>& items);

Document render_document(const DocumentInput& in);

// fw-<message id>-<8 lowercase hex>
std::string make_idempotency_key(std::int64_t message_id, std::uint32_t random);

}  // namespace fleet::notifier
