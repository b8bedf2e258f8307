#include "fault.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/strings.h"
#include "rng.h"

namespace fleet::minersim {
namespace {

struct KindInfo {
  FaultKind kind;
  std::string_view name;
  bool takes_arg;
  int64_t default_arg;
  int64_t min_arg;
  int64_t max_arg;
  std::string_view arg_meaning;
};

constexpr int64_t kMiB = 1024 * 1024;

// reboot's default (-1) is replaced by --reboot-seconds.
constexpr KindInfo kKinds[] = {
    {FaultKind::kSlow, "slow", true, 2000, 0, 3'600'000, "delay in milliseconds"},
    {FaultKind::kReset, "reset", false, 0, 0, 0, ""},
    {FaultKind::kTimeout, "timeout", false, 0, 0, 0, ""},
    {FaultKind::kGarbage, "garbage", false, 0, 0, 0, ""},
    {FaultKind::kTruncated, "truncated", true, 50, 0, 99, "percent of the body kept"},
    {FaultKind::kHuge, "huge", true, 64 * kMiB, 1, 4096 * kMiB, "body size in bytes"},
    {FaultKind::kDeep, "deep", true, 100000, 1, 100'000'000, "nesting levels"},
    {FaultKind::kWrongTypes, "wrong_types", false, 0, 0, 0, ""},
    {FaultKind::kRevokedKey, "revoked_key", false, 0, 0, 0, ""},
    {FaultKind::kOffline, "offline", false, 0, 0, 0, ""},
    {FaultKind::kFailingChain, "failing_chain", true, 1, 0, 16, "chain id"},
    {FaultKind::kReboot, "reboot", true, -1, 0, 86400, "seconds offline"},
    {FaultKind::kFailure, "failure", false, 0, 0, 0, ""},
    {FaultKind::kCutTransfer, "cut_transfer", false, 0, 0, 0, ""},
    {FaultKind::kFanLost, "fan_lost", true, 0, 0, 15, "fan id"},
    {FaultKind::kNoMiner, "no_miner", false, 0, 0, 0, ""},
};

const KindInfo& info(FaultKind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k;
  }
  return kKinds[0];  // unreachable: every kind is listed
}

std::optional<int64_t> parse_int(std::string_view s) {
  s = trim(s);
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "64MiB", "1k", "1048576"; only for huge=.
std::optional<int64_t> parse_size(std::string_view s) {
  s = trim(s);
  size_t digits = 0;
  while (digits < s.size() && (s[digits] >= '0' && s[digits] <= '9'))
    ++digits;
  auto n = parse_int(s.substr(0, digits));
  if (!n) return std::nullopt;
  const std::string unit = to_lower(s.substr(digits));
  if (unit.empty() || unit == "b") return *n;
  if (unit == "k" || unit == "kb" || unit == "kib") return *n * 1024;
  if (unit == "m" || unit == "mb" || unit == "mib") return *n * kMiB;
  if (unit == "g" || unit == "gb" || unit == "gib") return *n * 1024 * kMiB;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(FaultKind kind) {
  return info(kind).name;
}

std::vector<std::string> fault_kind_names() {
  std::vector<std::string> names;
  for (const auto& k : kKinds)
    names.emplace_back(k.name);
  return names;
}

Result<FaultKind> parse_fault_kind(std::string_view name) {
  const std::string key = to_lower(trim(name));
  for (const auto& k : kKinds) {
    if (k.name == key) return k.kind;
  }
  std::string msg = "unknown fault kind '" + std::string(name) + "'";
  const auto names = fault_kind_names();
  if (auto near = closest_match(key, names); !near.empty()) msg += " (did you mean " + near + "?)";
  return Error::invalid(msg + "; known kinds: " + join(names, ", "));
}

bool is_event(FaultKind kind) {
  return kind == FaultKind::kRevokedKey || kind == FaultKind::kReboot;
}

bool is_body_fault(FaultKind kind) {
  switch (kind) {
    case FaultKind::kGarbage:
    case FaultKind::kTruncated:
    case FaultKind::kHuge:
    case FaultKind::kDeep:
    case FaultKind::kWrongTypes:
    case FaultKind::kCutTransfer:
      return true;
    default:
      return false;
  }
}

Result<Fault> make_fault(FaultKind kind, std::optional<int64_t> arg, std::string path,
                         int64_t reboot_seconds) {
  const KindInfo& k = info(kind);
  Fault f{.kind = kind, .arg = 0, .path = std::move(path)};
  if (!f.path.empty() && f.path.front() != '/') {
    return Error::invalid("fault " + std::string(k.name) + ": path must start with '/': " + f.path);
  }
  if (!k.takes_arg) {
    if (arg) return Error::invalid("fault " + std::string(k.name) + " takes no argument");
    return f;
  }
  int64_t v = arg ? *arg : (kind == FaultKind::kReboot ? reboot_seconds : k.default_arg);
  if (v < k.min_arg || v > k.max_arg) {
    return Error::invalid("fault " + std::string(k.name) + ": argument " + std::to_string(v) +
                          " out of range [" + std::to_string(k.min_arg) + ", " +
                          std::to_string(k.max_arg) + "] (" + std::string(k.arg_meaning) + ")");
  }
  f.arg = v;
  return f;
}

Result<Fault> parse_fault(std::string_view text, int64_t reboot_seconds) {
  std::string_view body = trim(text);
  std::string path;
  if (auto at = body.find('@'); at != std::string_view::npos) {
    path = std::string(trim(body.substr(at + 1)));
    body = body.substr(0, at);
  }
  std::string_view name = body;
  std::optional<int64_t> arg;
  if (auto eq = body.find('='); eq != std::string_view::npos) {
    name = body.substr(0, eq);
    const std::string_view arg_text = body.substr(eq + 1);
    auto kind = parse_fault_kind(name);
    if (!kind.ok()) return kind.error();
    arg = *kind == FaultKind::kHuge ? parse_size(arg_text) : parse_int(arg_text);
    if (!arg) {
      return Error::invalid("fault " + std::string(trim(name)) + ": argument '" +
                            std::string(arg_text) + "' is not a number");
    }
  }
  auto kind = parse_fault_kind(name);
  if (!kind.ok()) return kind.error();
  return make_fault(*kind, arg, std::move(path), reboot_seconds);
}

std::string describe(const Fault& fault) {
  std::string s(to_string(fault.kind));
  if (info(fault.kind).takes_arg) s += "=" + std::to_string(fault.arg);
  if (!fault.path.empty()) s += "@" + fault.path;
  return s;
}

Result<Selector> parse_selector(std::string_view text) {
  Selector sel;
  sel.text = std::string(trim(text));
  if (sel.text.empty()) return Error::invalid("empty miner selector");
  for (const auto& raw : split(sel.text, ',')) {
    const std::string_view item = trim(raw);
    Selector::Part part;
    const auto bad = [&](std::string why) {
      return Error::invalid("miner selector '" + std::string(item) + "': " + why +
                            " (use an index '5', a range '10-19', a share '10%' or 'all')");
    };
    if (item == "all" || item == "*") {
      part.type = Selector::Part::Type::kAll;
    } else if (!item.empty() && item.back() == '%') {
      const std::string num(trim(item.substr(0, item.size() - 1)));
      char* end = nullptr;
      const double pct = std::strtod(num.c_str(), &end);
      if (num.empty() || end != num.c_str() + num.size() || !(pct >= 0 && pct <= 100)) {
        return bad("share must be between 0% and 100%");
      }
      part.type = Selector::Part::Type::kShare;
      part.percent = pct;
    } else if (auto dash = item.find('-'); dash != std::string_view::npos && dash > 0) {
      auto a = parse_int(item.substr(0, dash));
      auto b = parse_int(item.substr(dash + 1));
      if (!a || !b || *a < 0 || *b < *a) return bad("bad range");
      part.type = Selector::Part::Type::kRange;
      part.first = *a;
      part.last = *b;
    } else {
      auto a = parse_int(item);
      if (!a || *a < 0) return bad("not a miner index");
      part.first = part.last = *a;
    }
    sel.parts.push_back(part);
  }
  return sel;
}

Result<std::vector<int>> resolve(const Selector& selector, int count, uint64_t seed,
                                 uint64_t salt) {
  std::vector<int> out;
  for (const auto& part : selector.parts) {
    switch (part.type) {
      case Selector::Part::Type::kAll:
        for (int i = 0; i < count; ++i)
          out.push_back(i);
        break;
      case Selector::Part::Type::kIndex:
      case Selector::Part::Type::kRange:
        if (part.last >= count) {
          return Error::invalid("miner selector '" + selector.text + "': index " +
                                std::to_string(part.last) + " is out of range (there are " +
                                std::to_string(count) + " miners, 0.." + std::to_string(count - 1) +
                                ")");
        }
        for (int64_t i = part.first; i <= part.last; ++i)
          out.push_back(static_cast<int>(i));
        break;
      case Selector::Part::Type::kShare: {
        const auto k = static_cast<size_t>(std::llround(count * part.percent / 100.0));
        std::vector<std::pair<uint64_t, int>> ranked;
        ranked.reserve(count);
        for (int i = 0; i < count; ++i)
          ranked.emplace_back(hash_keys(seed, i, salt, 0xfa17), i);
        std::partial_sort(ranked.begin(), ranked.begin() + std::min(k, ranked.size()),
                          ranked.end());
        for (size_t j = 0; j < k && j < ranked.size(); ++j)
          out.push_back(ranked[j].second);
        break;
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<FaultSpec> parse_fault_spec(std::string_view text, int64_t reboot_seconds) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Error::invalid("--fault '" + std::string(text) +
                          "': expected <selector>:<kind>[=<arg>], e.g. 10%:timeout or 5:slow=2000");
  }
  auto sel = parse_selector(text.substr(0, colon));
  if (!sel.ok())
    return Error::invalid("--fault '" + std::string(text) + "': " + sel.error().message());
  auto fault = parse_fault(text.substr(colon + 1), reboot_seconds);
  if (!fault.ok()) {
    return Error::invalid("--fault '" + std::string(text) + "': " + fault.error().message());
  }
  return FaultSpec{.selector = std::move(*sel), .fault = std::move(*fault)};
}

}  // namespace fleet::minersim
