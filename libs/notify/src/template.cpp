#include "notify/template.h"

#include <array>

namespace fleet::notify {
namespace {

constexpr std::array<std::string_view, 9> kPlaceholders = {
    "count", "event", "severity", "site", "farm", "worker", "status", "first_title", "channel"};

bool known(std::string_view name) {
  for (auto p : kPlaceholders) {
    if (p == name) return true;
  }
  return false;
}

}  // namespace

Status validate_template(std::string_view text) {
  if (text.size() > kMaxTemplateBytes) {
    return Error::invalid("a template may have at most " + std::to_string(kMaxTemplateBytes) +
                          " bytes, this one has " + std::to_string(text.size()));
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 && c != '\n' && c != '\t') {
      return Error::invalid("a template may not contain control characters (byte " +
                            std::to_string(i) + ")");
    }
    if (text.compare(i, 2, "{{") != 0) continue;
    const auto end = text.find("}}", i + 2);
    if (end == std::string_view::npos) {
      return Error::invalid("'{{' at byte " + std::to_string(i) + " is never closed");
    }
    const auto name = text.substr(i + 2, end - i - 2);
    if (!known(name)) {
      std::string list;
      for (auto p : kPlaceholders)
        list += (list.empty() ? "" : ", ") + std::string(p);
      return Error::invalid("unknown placeholder '{{" + std::string(name.substr(0, 64)) +
                            "}}' (known: " + list + ")");
    }
    i = end + 1;
  }
  return Status::success();
}

std::string render_template(std::string_view text,
                            const std::map<std::string, std::string>& values) {
  constexpr std::size_t kCap = 4 * kMaxTemplateBytes;
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size() && out.size() < kCap; ++i) {
    if (text.compare(i, 2, "{{") == 0) {
      const auto end = text.find("}}", i + 2);
      if (end != std::string_view::npos) {
        const auto it = values.find(std::string(text.substr(i + 2, end - i - 2)));
        if (it != values.end()) out += it->second;
        i = end + 1;
        continue;
      }
    }
    out += text[i];
  }
  if (out.size() > kCap) out.resize(kCap);
  return out;
}

}  // namespace fleet::notify
