// Configuration from a JSON file, the environment and command-line flags.
//
// Precedence (DESIGN §2): flag > environment > config file > default. Every key a program accepts is
// declared in a Schema; a key in the file that the schema does not declare is an error, and so is a
// value of the wrong type or out of range. Errors name the key and where the value came from.
// Secrets are masked whenever the effective configuration is described.
//
// Thread-safety: a loaded Config is immutable and may be read from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"

namespace fleet::config {

enum class Type {
  kString,
  kInt,
  kDouble,
  kBool,
  kDuration,    // file: number of seconds or "5m"; env/flag: "30" (seconds) or "250ms"
  kStringList,  // file: array of strings; env/flag: "a,b,c" or a JSON array
  kObject,      // free-form JSON object, handed to the caller as JSON text
};

using Value = std::variant<std::monostate, std::string, std::int64_t, double, bool,
                           std::chrono::milliseconds, std::vector<std::string>>;

// One key a program accepts.
struct KeySpec {
  std::string name;  // dotted path in the file: "log.format" is {"log": {"format": ...}}
  Type type = Type::kString;
  std::string help;
  Value default_value;             // std::monostate: no default (the key may be unset)
  bool required = false;           // an unset required key is an error
  bool secret = false;             // masked in descriptions and logs
  std::vector<std::string> env;    // extra environment names; FLEET_<NAME> is always accepted
  std::string flag;                // command-line flag, e.g. "--log-format" ("" = none)
  std::optional<double> min;       // numbers; durations in seconds
  std::optional<double> max;
  std::vector<std::string> choices;  // strings: the allowed values
};

// The set of keys a program accepts.
class Schema {
 public:
  // REQUIRES: no key with the same name was added before.
  Schema& add(KeySpec key);
  const KeySpec* find(std::string_view name) const;
  const std::vector<KeySpec>& keys() const { return keys_; }

 private:
  std::vector<KeySpec> keys_;
};

enum class Source { kDefault, kFile, kEnv, kFlag };
std::string_view to_string(Source source);

struct Sources {
  std::string file_path;                               // "" = no file
  std::map<std::string, std::string> env;              // the process environment
  std::vector<std::pair<std::string, std::string>> flags;  // key name -> raw value
};

// Builds a map of the environment of this process (for Sources::env).
std::map<std::string, std::string> environment_from(char** envp);

class Config {
 public:
  // Loads and validates every key. On failure the Error (kInvalidArgument) lists every problem,
  // one per line, each naming its key and source.
  static Result<Config> load(const Schema& schema, const Sources& sources);

  // True when the key has a value (from any source, including its default).
  bool has(std::string_view key) const;
  Source source(std::string_view key) const;

  // Typed access. REQUIRES: the key is declared with that type and has a value; otherwise these
  // throw std::logic_error (a programming error, not bad input).
  const std::string& str(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  double number(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::chrono::milliseconds duration(std::string_view key) const;
  const std::vector<std::string>& strings(std::string_view key) const;
  const std::string& object_json(std::string_view key) const;

  std::optional<std::string> optional_str(std::string_view key) const;

  // The effective configuration as one-line JSON, secrets masked, e.g. for the start-up log line.
  std::string describe_masked() const;

  // Non-fatal findings, e.g. an unknown FLEET_* environment variable.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Entry {
    const KeySpec* spec = nullptr;
    Value value;
    Source source = Source::kDefault;
  };
  const Entry& entry(std::string_view key) const;

  std::shared_ptr<const Schema> schema_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<std::string> warnings_;
};

}  // namespace fleet::config
