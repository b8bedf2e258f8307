// Process-wide logging on spdlog: human-readable text or one JSON object per line, to stderr and
// optionally to a size-rotated file. Messages pass through redact_secrets() before they are written.
//
// Standard output is left to programs (e.g. --dry-run prints its decisions there as JSON lines).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/result.h"

namespace fleet::logging {

enum class Format { kText, kJson };
enum class Level { kTrace, kDebug, kInfo, kWarn, kError };

struct Options {
  std::string service = "fleetward";  // the logger name, shown in every line
  Format format = Format::kText;      // text for people, json for log shippers
  Level level = Level::kInfo;
  std::string file;                        // "" = no file; else a rotating file at this path
  std::size_t max_file_bytes = 10 << 20;   // rotate at 10 MiB
  std::size_t max_files = 5;               // keep this many rotated files
};

// Declares log.format, log.level, log.file, log.max_size_mb and log.max_files.
void declare_config(config::Schema& schema);

// Reads the keys declared above. `verbose` (the --verbose flag) lowers the level to debug.
Options options_from(const config::Config& config, std::string service, bool verbose);

// Installs the default logger. Call once from main() before other threads log.
// Fails (kInvalidArgument) when the log file cannot be opened.
Status init(const Options& options);

// Flushes and drops every logger. Safe to call more than once.
void shutdown();

// Escapes text for inclusion in a JSON string (without the quotes).
std::string json_escape(std::string_view text);

}  // namespace fleet::logging
