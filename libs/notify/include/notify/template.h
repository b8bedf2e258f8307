// Channel templates (notification_channels.template {"title": ..., "text": ...}): text with
// {{placeholders}} filled from a message's group. Known placeholders: {{count}}, {{event}},
// {{severity}}, {{site}}, {{farm}}, {{worker}}, {{status}}, {{first_title}}, {{channel}}.
// No logic, no recursion: one left-to-right pass; a value is inserted as is (the e-mail sender
// escapes it for HTML).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace fleet::notify {

constexpr std::size_t kMaxTemplateBytes = 4096;

// kInvalidArgument naming the problem: over kMaxTemplateBytes, an unknown placeholder, an
// unclosed "{{", a NUL or control character other than newline and tab.
Status validate_template(std::string_view text);

// Fills `text` (valid per validate_template) with `values`; a placeholder without a value becomes
// "". The result is capped at 4 * kMaxTemplateBytes.
std::string render_template(std::string_view text,
                            const std::map<std::string, std::string>& values);

}  // namespace fleet::notify
