// Mapper for GET /chains, streamed with nlohmann's SAX interface: 10,000 miners x 3 chains x 126
// chips per minute is too much to build document trees for.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/strings.h"
#include "json_fields.h"

namespace fleet::firmware {

namespace {

using detail::json;

constexpr size_t kMaxChains = 16;
constexpr size_t kMaxChips = 1024;

enum class Role { kRoot, kChain, kStatus, kChips, kChip, kIgnored };

struct Frame {
  Role role;
  std::string key;  // the last key read in this object
};

// A scalar of the document, as the SAX interface delivers it.
struct Scalar {
  enum class Type { kNull, kBool, kNumber, kString } type = Type::kNull;
  bool boolean = false;
  double number = 0;
  bool integral = false;
  const std::string* text = nullptr;
};

class ChainsHandler {
 public:
  explicit ChainsHandler(FieldIssues* issues) : issues_(issues) {}

  ChainsPayload payload;
  bool root_not_array = false;

  bool null() { return scalar({}); }
  bool boolean(bool v) {
    Scalar s;
    s.type = Scalar::Type::kBool;
    s.boolean = v;
    return scalar(s);
  }
  bool number_integer(json::number_integer_t v) { return number(static_cast<double>(v), true); }
  bool number_unsigned(json::number_unsigned_t v) { return number(static_cast<double>(v), true); }
  bool number_float(json::number_float_t v, const json::string_t&) { return number(v, false); }
  bool string(json::string_t& v) {
    Scalar s;
    s.type = Scalar::Type::kString;
    s.text = &v;
    return scalar(s);
  }
  bool binary(json::binary_t&) { return scalar({}); }

  bool start_object(std::size_t) {
    if (stack_.empty()) {
      root_not_array = true;
      return false;
    }
    Role role = Role::kIgnored;
    const Frame& top = stack_.back();
    if (top.role == Role::kRoot) {
      if (payload.chains.size() < kMaxChains) {
        payload.chains.emplace_back();
        role = Role::kChain;
      } else {
        issue("chains: more than " + std::to_string(kMaxChains) + " chains, rest ignored");
      }
    } else if (top.role == Role::kChain && top.key == "status") {
      role = Role::kStatus;
    } else if (top.role == Role::kChips) {
      auto& chips = payload.chains.back().chips;
      if (chips.size() < kMaxChips) {
        chips.emplace_back();
        chips.back().id = static_cast<int>(chips.size()) - 1;
        role = Role::kChip;
      }
    }
    stack_.push_back({role, {}});
    return true;
  }
  bool key(json::string_t& k) {
    stack_.back().key = k;
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    if (stack_.empty()) {
      stack_.push_back({Role::kRoot, {}});
      return true;
    }
    const Frame& top = stack_.back();
    if (top.role == Role::kChain && top.key == "chips") {
      stack_.push_back({Role::kChips, {}});
    } else {
      if (top.role == Role::kRoot) issue(chain_path() + ": expected an object");
      stack_.push_back({Role::kIgnored, {}});
    }
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

 private:
  bool number(double v, bool integral) {
    Scalar s;
    s.type = Scalar::Type::kNumber;
    s.number = v;
    s.integral = integral || std::floor(v) == v;
    return scalar(s);
  }

  std::string chain_path() const {
    return "chains[" + std::to_string(payload.chains.empty() ? 0 : payload.chains.size() - 1) + "]";
  }
  void issue(std::string text) { detail::add_issue(issues_, std::move(text)); }
  void wrong_type(const std::string& key, const char* expected) {
    issue(chain_path() + "." + key + ": expected " + expected);
  }

  std::optional<double> num(const Scalar& s, const std::string& key, double min, double max) {
    if (s.type == Scalar::Type::kNull) return std::nullopt;
    if (s.type != Scalar::Type::kNumber) {
      wrong_type(key, "a number");
      return std::nullopt;
    }
    if (!std::isfinite(s.number) || s.number < min || s.number > max) {
      issue(chain_path() + "." + key + ": out of range");
      return std::nullopt;
    }
    return s.number;
  }
  std::optional<int> whole(const Scalar& s, const std::string& key, double min, double max) {
    auto v = num(s, key, min, max);
    if (!v) return std::nullopt;
    if (!s.integral) {
      wrong_type(key, "an integer");
      return std::nullopt;
    }
    return static_cast<int>(*v);
  }

  bool scalar(const Scalar& s) {
    if (stack_.empty()) {
      root_not_array = true;
      return false;
    }
    Frame& top = stack_.back();
    switch (top.role) {
      case Role::kRoot:
        issue(chain_path() + ": expected an object");
        break;
      case Role::kChain:
        chain_field(payload.chains.back(), top.key, s);
        break;
      case Role::kStatus:
        status_field(payload.chains.back(), top.key, s);
        break;
      case Role::kChip:
        chip_field(payload.chains.back().chips.back(), top.key, s);
        break;
      case Role::kChips:
        issue(chain_path() + ".chips: expected objects");
        break;
      case Role::kIgnored:
        break;
    }
    return true;
  }

  void chain_field(ChainChips& c, const std::string& key, const Scalar& s) {
    if (key == "id") {
      if (auto v = whole(s, key, 0, 255)) c.id = *v;
    } else if (key == "hr_realtime") {
      c.hr_realtime = num(s, key, 0, 1e9);
    } else if (key == "hr_nominal") {
      c.hr_nominal = num(s, key, 0, 1e9);
    } else if (key == "freq") {
      c.freq_mhz = num(s, key, 0, 10'000);
    }
  }

  void status_field(ChainChips& c, const std::string& key, const Scalar& s) {
    if (key != "state" && key != "failure_message") return;
    if (s.type == Scalar::Type::kNull) return;
    if (s.type != Scalar::Type::kString) {
      wrong_type("status." + key, "a string");
      return;
    }
    std::string text = sanitize_utf8(*s.text);
    text.erase(std::remove(text.begin(), text.end(), '\0'), text.end());
    if (text.size() > 256) text.resize(256);
    (key == "state" ? c.state : c.failure_message) = sanitize_utf8(text);
  }

  void chip_field(ChipSample& chip, const std::string& key, const Scalar& s) {
    const std::string path = "chips." + key;
    if (key == "id") {
      if (auto v = whole(s, path, 0, 65'535)) chip.id = *v;
    } else if (key == "hr") {
      chip.hr = num(s, path, 0, 1e7);
    } else if (key == "freq") {
      chip.freq_mhz = whole(s, path, 0, 10'000);
    } else if (key == "volt") {
      chip.volt_mv = whole(s, path, 0, 30'000);
    } else if (key == "temp") {
      chip.temp_c = num(s, path, -60, 250);
    } else if (key == "errs") {
      if (auto v = num(s, path, 0, 9e15)) chip.errs = static_cast<std::int64_t>(*v);
    } else if (key == "grade") {
      if (s.type != Scalar::Type::kString) {
        if (s.type != Scalar::Type::kNull) wrong_type(path, "a string");
        return;
      }
      if (*s.text == "red") {
        chip.grade = ChipGrade::kRed;
      } else if (*s.text == "orange") {
        chip.grade = ChipGrade::kOrange;
      } else if (*s.text != "grey") {
        issue(chain_path() + "." + path + ": unknown grade");
      }
    } else if (key == "throttled") {
      if (s.type == Scalar::Type::kBool) {
        chip.throttled = s.boolean;
      } else if (s.type != Scalar::Type::kNull) {
        wrong_type(path, "true or false");
      }
    }
  }

  FieldIssues* issues_;
  std::vector<Frame> stack_;
};

}  // namespace

Result<ChainsPayload> parse_chains(std::string_view body, const PayloadLimits& limits,
                                   FieldIssues* issues) {
  if (Status s = check_limits(body, limits); !s.ok()) {
    return detail::payload_error("/chains", s.error().message());
  }
  if (trim(body).empty()) return detail::payload_error("/chains", "empty body");
  ChainsHandler handler(issues);
  const bool ok = json::sax_parse(body.begin(), body.end(), &handler);
  if (handler.root_not_array) return detail::payload_error("/chains", "expected an array");
  if (!ok) return detail::payload_error("/chains", "not valid JSON");
  return std::move(handler.payload);
}

}  // namespace fleet::firmware
