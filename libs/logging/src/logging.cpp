#include "logging/logging.h"

#include <unistd.h>

#include <memory>
#include <vector>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/strings.h"

namespace fleet::logging {
namespace {

// %* : the message, secrets redacted, JSON-escaped when `json` is set.
class MessageFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit MessageFlag(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string text = redact_secrets(std::string_view(msg.payload.data(), msg.payload.size()));
    if (json_) text = json_escape(text);
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<MessageFlag>(json_);
  }

 private:
  bool json_;
};

// %L : the level in capitals (INFO, WARNING, ...), as in seed 001's log lines.
class UpperLevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr std::string_view names[] = {"TRACE",   "DEBUG", "INFO", "WARNING",
                                                 "ERROR",   "CRITICAL", "OFF"};
    std::string_view name = names[static_cast<int>(msg.level)];
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<UpperLevelFlag>();
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(Format format) {
  if (format == Format::kJson) {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<MessageFlag>('*', true);
    f->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","service":"%n","pid":%P,"msg":"%*"})");
    return f;
  }
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::local);
  f->add_flag<MessageFlag>('*', false);
  f->add_flag<UpperLevelFlag>('L');
  f->set_pattern("%Y-%m-%d %H:%M:%S.%e - %n - %^%L%$ - %*");
  return f;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kTrace: return spdlog::level::trace;
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void declare_config(config::Schema& schema) {
  using config::Type;
  schema.add({.name = "log.format",
              .type = Type::kString,
              .help = "log line format: text (for people) or json (one object per line)",
              .default_value = std::string("text"),
              .flag = "--log-format",
              .choices = {"text", "json"}});
  schema.add({.name = "log.level",
              .type = Type::kString,
              .help = "lowest level logged (--verbose sets debug)",
              .default_value = std::string("info"),
              .choices = {"trace", "debug", "info", "warn", "error"}});
  schema.add({.name = "log.file",
              .type = Type::kString,
              .help = "also write logs to this file, rotated by size",
              .flag = "--log-file"});
  schema.add({.name = "log.max_size_mb",
              .type = Type::kInt,
              .help = "rotate the log file at this size",
              .default_value = std::int64_t{10},
              .min = 1,
              .max = 10'000});
  schema.add({.name = "log.max_files",
              .type = Type::kInt,
              .help = "rotated log files kept",
              .default_value = std::int64_t{5},
              .min = 1,
              .max = 1000});
}

Options options_from(const config::Config& config, std::string service, bool verbose) {
  Options o;
  o.service = std::move(service);
  o.format = config.str("log.format") == "json" ? Format::kJson : Format::kText;
  const std::string& level = config.str("log.level");
  if (level == "trace") o.level = Level::kTrace;
  else if (level == "debug") o.level = Level::kDebug;
  else if (level == "warn") o.level = Level::kWarn;
  else if (level == "error") o.level = Level::kError;
  else o.level = Level::kInfo;
  if (verbose && o.level > Level::kDebug) o.level = Level::kDebug;
  o.file = config.optional_str("log.file").value_or("");
  o.max_file_bytes = static_cast<std::size_t>(config.integer("log.max_size_mb")) << 20;
  o.max_files = static_cast<std::size_t>(config.integer("log.max_files"));
  return o;
}

Status init(const Options& options) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!options.file.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          options.file, options.max_file_bytes, options.max_files));
    } catch (const spdlog::spdlog_ex& e) {
      return Error::invalid("cannot open log file '" + options.file + "': " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>(options.service, sinks.begin(), sinks.end());
  logger->set_formatter(make_formatter(options.format));
  logger->set_level(to_spdlog(options.level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::success();
}

void shutdown() {
  if (auto logger = spdlog::default_logger()) logger->flush();
}

std::string json_escape(std::string_view text) {
  std::string valid = sanitize_utf8(text);
  std::string out;
  out.reserve(valid.size() + 8);
  for (unsigned char c : valid) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace fleet::logging
