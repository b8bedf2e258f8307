#include "config/config.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/duration.h"
#include "core/strings.h"

namespace fleet::config {
namespace {

using json = nlohmann::json;

std::string_view type_name(Type type) {
  switch (type) {
    case Type::kString:
      return "a string";
    case Type::kInt:
      return "an integer";
    case Type::kDouble:
      return "a number";
    case Type::kBool:
      return "a boolean";
    case Type::kDuration:
      return "a duration (seconds or e.g. \"30s\", \"5m\")";
    case Type::kStringList:
      return "a list of strings";
    case Type::kObject:
      return "an object";
  }
  return "a value";
}

std::string env_name_for(std::string_view key) {
  std::string out = "FLEET_";
  for (char c : key) {
    if (c == '.' || c == '-') {
      out += '_';
    } else {
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::string where(Source source, std::string_view detail) {
  switch (source) {
    case Source::kFile:
      return "in the config file";
    case Source::kEnv:
      return "from environment variable " + std::string(detail);
    case Source::kFlag:
      return "from flag " + std::string(detail);
    case Source::kDefault:
      return "as default";
  }
  return "";
}

// Parses a textual value (environment variable or flag) into the key's type.
Result<Value> parse_text(const KeySpec& spec, std::string_view raw) {
  std::string text(trim(raw));
  switch (spec.type) {
    case Type::kString:
      return Value(text);
    case Type::kInt: {
      std::int64_t v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
        return Error::invalid("must be an integer (got '" + text + "')");
      }
      return Value(v);
    }
    case Type::kDouble: {
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) {
        return Error::invalid("must be a number (got '" + text + "')");
      }
      return Value(v);
    }
    case Type::kBool: {
      std::string lower = to_lower(text);
      if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return Value(true);
      if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return Value(false);
      return Error::invalid("must be true or false (got '" + text + "')");
    }
    case Type::kDuration: {
      char* end = nullptr;
      double seconds = std::strtod(text.c_str(), &end);
      if (!text.empty() && end == text.c_str() + text.size()) {
        if (!std::isfinite(seconds))
          return Error::invalid("must be a duration (got '" + text + "')");
        return Value(std::chrono::milliseconds(std::llround(seconds * 1000)));
      }
      auto d = parse_duration(text);
      if (!d.ok()) return d.error();
      return Value(*d);
    }
    case Type::kStringList: {
      if (!text.empty() && text.front() == '[') {
        json parsed = json::parse(text, nullptr, false);
        if (parsed.is_discarded() || !parsed.is_array()) {
          return Error::invalid("must be a JSON array of strings or a comma-separated list");
        }
        std::vector<std::string> out;
        for (const auto& item : parsed) {
          if (!item.is_string()) return Error::invalid("list items must be strings");
          out.push_back(item.get<std::string>());
        }
        return Value(std::move(out));
      }
      std::vector<std::string> out;
      if (!text.empty()) {
        for (auto& part : split(text, ','))
          out.emplace_back(trim(part));
      }
      return Value(std::move(out));
    }
    case Type::kObject: {
      json parsed = json::parse(text, nullptr, false);
      if (parsed.is_discarded() || !parsed.is_object()) {
        return Error::invalid("must be a JSON object");
      }
      return Value(parsed.dump());
    }
  }
  return Error::internal("unknown type");
}

// Converts a JSON value from the config file into the key's type.
Result<Value> parse_json(const KeySpec& spec, const json& v) {
  auto wrong_type = [&] {
    return Error::invalid("must be " + std::string(type_name(spec.type)) + " (got " +
                          v.dump(-1, ' ', false, json::error_handler_t::replace) + ")");
  };
  switch (spec.type) {
    case Type::kString:
      if (!v.is_string()) return wrong_type();
      return Value(v.get<std::string>());
    case Type::kInt:
      if (v.is_number_integer()) {
        if (v.is_number_unsigned() &&
            v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
          return Error::invalid("is too large");
        }
        return Value(v.get<std::int64_t>());
      }
      return wrong_type();
    case Type::kDouble:
      if (!v.is_number()) return wrong_type();
      return Value(v.get<double>());
    case Type::kBool:
      if (!v.is_boolean()) return wrong_type();
      return Value(v.get<bool>());
    case Type::kDuration:
      if (v.is_number()) {
        double seconds = v.get<double>();
        if (!std::isfinite(seconds) || std::fabs(seconds) > 1e12)
          return Error::invalid("is too large");
        return Value(std::chrono::milliseconds(std::llround(seconds * 1000)));
      }
      if (v.is_string()) {
        auto d = parse_duration(v.get<std::string>());
        if (!d.ok()) return d.error();
        return Value(*d);
      }
      return wrong_type();
    case Type::kStringList: {
      if (!v.is_array()) return wrong_type();
      std::vector<std::string> out;
      for (const auto& item : v) {
        if (!item.is_string()) return Error::invalid("list items must be strings");
        out.push_back(item.get<std::string>());
      }
      return Value(std::move(out));
    }
    case Type::kObject:
      if (!v.is_object()) return wrong_type();
      return Value(v.dump());
  }
  return Error::internal("unknown type");
}

// Range and choice checks shared by every source. Returns "" when the value is fine.
std::string check_constraints(const KeySpec& spec, const Value& value) {
  std::optional<double> numeric;
  if (auto* i = std::get_if<std::int64_t>(&value)) numeric = static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&value)) numeric = *d;
  if (auto* ms = std::get_if<std::chrono::milliseconds>(&value)) {
    numeric = static_cast<double>(ms->count()) / 1000.0;
  }
  auto fmt_num = [](double x) {
    std::ostringstream os;
    os << x;
    return os.str();
  };
  const char* unit = spec.type == Type::kDuration ? " seconds" : "";
  if (numeric && spec.min && *numeric < *spec.min) {
    return "must be at least " + fmt_num(*spec.min) + unit + " (got " + fmt_num(*numeric) + ")";
  }
  if (numeric && spec.max && *numeric > *spec.max) {
    return "must be at most " + fmt_num(*spec.max) + unit + " (got " + fmt_num(*numeric) + ")";
  }
  if (auto* s = std::get_if<std::string>(&value); s && !spec.choices.empty()) {
    if (std::find(spec.choices.begin(), spec.choices.end(), *s) == spec.choices.end()) {
      return "must be one of " + join(spec.choices, ", ") + " (got '" + *s + "')";
    }
  }
  return "";
}

json to_json(const KeySpec& spec, const Value& value) {
  if (spec.secret && !std::holds_alternative<std::monostate>(value)) return "***";
  return std::visit(
      [&](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (spec.type == Type::kObject) return json::parse(v, nullptr, false);
          return redact_secrets(v);
        } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
          return format_duration(v);
        } else {
          return v;
        }
      },
      value);
}

}  // namespace

Schema& Schema::add(KeySpec key) {
  if (find(key.name) != nullptr) throw std::logic_error("config key declared twice: " + key.name);
  keys_.push_back(std::move(key));
  return *this;
}

const KeySpec* Schema::find(std::string_view name) const {
  for (const auto& key : keys_) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

std::string_view to_string(Source source) {
  switch (source) {
    case Source::kDefault:
      return "default";
    case Source::kFile:
      return "file";
    case Source::kEnv:
      return "env";
    case Source::kFlag:
      return "flag";
  }
  return "unknown";
}

std::map<std::string, std::string> environment_from(char** envp) {
  std::map<std::string, std::string> env;
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Result<Config> Config::load(const Schema& schema_in, const Sources& sources) {
  Config config;
  auto schema = std::make_shared<Schema>(schema_in);
  config.schema_ = schema;
  std::vector<std::string> problems;
  std::vector<std::string> names;
  std::vector<std::string> names_and_sections;  // "log.format" and "log": typo candidates
  for (const auto& key : schema->keys()) {
    names.push_back(key.name);
    names_and_sections.push_back(key.name);
    for (size_t dot = key.name.find('.'); dot != std::string::npos;
         dot = key.name.find('.', dot + 1)) {
      names_and_sections.push_back(key.name.substr(0, dot));
    }
    config.entries_[key.name] = Entry{&key, key.default_value, Source::kDefault};
  }

  auto set = [&](const KeySpec& spec, Result<Value> parsed, Source source,
                 std::string_view detail) {
    if (!parsed.ok()) {
      problems.push_back("key '" + spec.name + "' " + where(source, detail) + ": " +
                         parsed.error().message());
      return;
    }
    if (std::string bad = check_constraints(spec, *parsed); !bad.empty()) {
      problems.push_back("key '" + spec.name + "' " + where(source, detail) + ": " + bad);
      return;
    }
    auto& entry = config.entries_[spec.name];
    entry.value = std::move(*parsed);
    entry.source = source;
  };

  // 1. The config file.
  if (!sources.file_path.empty()) {
    std::ifstream in(sources.file_path);
    if (!in) {
      problems.push_back("config file '" + sources.file_path + "' cannot be read");
    } else {
      std::stringstream buffer;
      buffer << in.rdbuf();
      json doc;
      try {
        doc = json::parse(buffer.str());
      } catch (const json::parse_error& e) {
        problems.push_back("config file '" + sources.file_path +
                           "' is not valid JSON: " + e.what());
      }
      if (!doc.is_null() && !doc.is_object()) {
        problems.push_back("config file '" + sources.file_path + "' must hold a JSON object");
      } else if (doc.is_object()) {
        // Walks the document; a path is either a declared key, a prefix of declared keys, or
        // unknown.
        auto walk = [&](auto&& self, const json& node, const std::string& prefix) -> void {
          for (const auto& [k, v] : node.items()) {
            std::string path = prefix.empty() ? k : prefix + "." + k;
            if (const KeySpec* spec = schema->find(path)) {
              if (!v.is_null()) set(*spec, parse_json(*spec, v), Source::kFile, "");
              continue;
            }
            bool is_prefix = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
              return starts_with(n, path + ".");
            });
            if (is_prefix && v.is_object()) {
              self(self, v, path);
              continue;
            }
            std::string message = "unknown key '" + path + "' in the config file";
            if (std::string guess = closest_match(path, names_and_sections); !guess.empty()) {
              message += " (did you mean '" + guess + "'?)";
            }
            problems.push_back(message);
          }
        };
        walk(walk, doc, "");
      }
    }
  }

  // 2. The environment. Explicit names first, then FLEET_<NAME>; an empty value counts as unset.
  std::vector<std::string> known_env;
  for (const auto& spec : schema->keys()) {
    std::vector<std::string> env_names = spec.env;
    env_names.push_back(env_name_for(spec.name));
    for (const auto& name : env_names) {
      known_env.push_back(name);
      auto it = sources.env.find(name);
      if (it == sources.env.end() || it->second.empty()) continue;
      set(spec, parse_text(spec, it->second), Source::kEnv, name);
    }
  }
  for (const auto& [name, value] : sources.env) {
    if (!starts_with(name, "FLEET_")) continue;
    if (std::find(known_env.begin(), known_env.end(), name) != known_env.end()) continue;
    std::string warning = "environment variable " + name + " is not a configuration key; ignored";
    if (std::string guess = closest_match(name, known_env); !guess.empty()) {
      warning += " (did you mean " + guess + "?)";
    }
    config.warnings_.push_back(warning);
  }

  // 3. Flags.
  for (const auto& [key, raw] : sources.flags) {
    const KeySpec* spec = schema->find(key);
    if (spec == nullptr) {
      std::string message = "unknown key '" + key + "' given on the command line";
      if (std::string guess = closest_match(key, names); !guess.empty()) {
        message += " (did you mean '" + guess + "'?)";
      }
      problems.push_back(message);
      continue;
    }
    set(*spec, parse_text(*spec, raw), Source::kFlag,
        spec->flag.empty() ? "--set " + key : spec->flag);
  }

  for (const auto& spec : schema->keys()) {
    if (spec.required && std::holds_alternative<std::monostate>(config.entries_[spec.name].value)) {
      std::string hint = env_name_for(spec.name);
      if (!spec.env.empty()) hint = spec.env.front() + " or " + hint;
      problems.push_back("key '" + spec.name + "' is required but not set (config file, " + hint +
                         (spec.flag.empty() ? "" : " or " + spec.flag) + ")");
    }
  }

  if (!problems.empty()) {
    return Error::invalid("invalid configuration:\n  - " + join(problems, "\n  - "));
  }
  return config;
}

const Config::Entry& Config::entry(std::string_view key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) throw std::logic_error("config key not declared: " + std::string(key));
  return it->second;
}

bool Config::has(std::string_view key) const {
  return !std::holds_alternative<std::monostate>(entry(key).value);
}

Source Config::source(std::string_view key) const {
  return entry(key).source;
}

namespace {
template <class T>
const T& get_as(const Value& value, std::string_view key) {
  if (const T* v = std::get_if<T>(&value)) return *v;
  throw std::logic_error("config key '" + std::string(key) + "' is unset or has another type");
}
}  // namespace

const std::string& Config::str(std::string_view key) const {
  return get_as<std::string>(entry(key).value, key);
}
std::int64_t Config::integer(std::string_view key) const {
  return get_as<std::int64_t>(entry(key).value, key);
}
double Config::number(std::string_view key) const {
  const Value& v = entry(key).value;
  if (auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return get_as<double>(v, key);
}
bool Config::boolean(std::string_view key) const {
  return get_as<bool>(entry(key).value, key);
}
std::chrono::milliseconds Config::duration(std::string_view key) const {
  return get_as<std::chrono::milliseconds>(entry(key).value, key);
}
const std::vector<std::string>& Config::strings(std::string_view key) const {
  return get_as<std::vector<std::string>>(entry(key).value, key);
}
const std::string& Config::object_json(std::string_view key) const {
  return get_as<std::string>(entry(key).value, key);
}
std::optional<std::string> Config::optional_str(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return str(key);
}

std::string Config::describe_masked() const {
  json out = json::object();
  for (const auto& [name, e] : entries_) {
    json* node = &out;
    auto parts = split(name, '.');
    for (size_t i = 0; i + 1 < parts.size(); ++i)
      node = &(*node)[parts[i]];
    (*node)[parts.back()] = to_json(*e.spec, e.value);
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace fleet::config
