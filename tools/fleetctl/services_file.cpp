#include "services_file.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

Result<std::string> expand(const std::string& text, const std::map<std::string, std::string>& env,
                           const std::string& where) {
  static const std::regex var(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\})");
  std::string out;
  auto begin = std::sregex_iterator(text.begin(), text.end(), var);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1].str();
    auto found = env.find(name);
    if (found == env.end()) return Error::invalid(where + ": ${" + name + "} is not set");
    out += text.substr(last, static_cast<size_t>(it->position()) - last) + found->second;
    last = static_cast<size_t>(it->position() + it->length());
  }
  return out + text.substr(last);
}

std::string absolute(const std::string& base_dir, const std::string& p) {
  if (p.empty()) return base_dir;
  fs::path path(p);
  return (path.is_absolute() ? path : fs::path(base_dir) / path).lexically_normal().string();
}

Status check_keys(const json& object, const std::set<std::string>& allowed,
                  const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    if (allowed.count(key) == 0) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      std::string message = where + ": unknown key '" + key + "'";
      if (auto guess = closest_match(key, names); !guess.empty())
        message += " (did you mean '" + guess + "'?)";
      return Error::invalid(message);
    }
  }
  return Status::success();
}

}  // namespace

const ServiceSpec* ServicesFile::find(const std::string& name) const {
  for (const auto& s : services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Result<ServicesFile> load_services(const std::string& path,
                                   const std::map<std::string, std::string>& env) {
  std::ifstream in(path);
  if (!in) return Error::invalid("services file '" + path + "' cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Error::invalid("services file '" + path + "' is not a JSON object");
  }
  const std::string base = fs::absolute(fs::path(path)).parent_path().string();
  if (auto s = check_keys(doc, {"log_dir", "run_dir", "log_max_bytes", "log_max_files", "services"},
                          path);
      !s.ok()) {
    return s.error();
  }
  ServicesFile file;
  file.path = path;
  auto str = [&](const json& obj, const char* key, const std::string& fallback,
                 const std::string& where) -> Result<std::string> {
    if (!obj.contains(key)) return fallback;
    if (!obj[key].is_string()) return Error::invalid(where + ": '" + key + "' must be a string");
    return expand(obj[key].get<std::string>(), env, where + "." + key);
  };
  auto log_dir = str(doc, "log_dir", "logs", path);
  auto run_dir = str(doc, "run_dir", "run", path);
  if (!log_dir.ok()) return log_dir.error();
  if (!run_dir.ok()) return run_dir.error();
  file.log_dir = absolute(base, *log_dir);
  file.run_dir = absolute(base, *run_dir);
  if (doc.contains("log_max_bytes")) {
    if (!doc["log_max_bytes"].is_number_unsigned() ||
        doc["log_max_bytes"].get<std::uint64_t>() < 1024) {
      return Error::invalid(path + ": 'log_max_bytes' must be an integer >= 1024");
    }
    file.log_max_bytes = doc["log_max_bytes"].get<std::size_t>();
  }
  if (doc.contains("log_max_files")) {
    if (!doc["log_max_files"].is_number_unsigned() || doc["log_max_files"].get<int>() > 100) {
      return Error::invalid(path + ": 'log_max_files' must be an integer 0..100");
    }
    file.log_max_files = doc["log_max_files"].get<int>();
  }
  if (!doc.contains("services") || !doc["services"].is_array() || doc["services"].empty()) {
    return Error::invalid(path + ": 'services' must be a non-empty array");
  }

  static const std::regex name_pattern("^[a-z0-9][a-z0-9-]{0,62}$");
  std::vector<ServiceSpec> specs;
  for (const auto& item : doc["services"]) {
    if (!item.is_object()) return Error::invalid(path + ": every service must be an object");
    ServiceSpec s;
    if (!item.contains("name") || !item["name"].is_string() ||
        !std::regex_match(item["name"].get<std::string>(), name_pattern)) {
      return Error::invalid(path +
                            ": a service needs a 'name' of lower-case letters, digits and '-'");
    }
    s.name = item["name"].get<std::string>();
    const std::string where = "service '" + s.name + "'";
    if (auto st = check_keys(item,
                             {"name", "command", "env", "cwd", "user", "port", "health_url",
                              "restart", "oneshot", "depends_on", "stop_timeout_ms"},
                             where);
        !st.ok()) {
      return st.error();
    }
    if (!item.contains("command") || !item["command"].is_array() || item["command"].empty()) {
      return Error::invalid(where + ": 'command' must be a non-empty array of strings");
    }
    for (const auto& arg : item["command"]) {
      if (!arg.is_string()) return Error::invalid(where + ": 'command' must hold strings");
      auto a = expand(arg.get<std::string>(), env, where + ".command");
      if (!a.ok()) return a.error();
      s.command.push_back(*a);
    }
    if (s.command[0].find('/') != std::string::npos) s.command[0] = absolute(base, s.command[0]);
    if (item.contains("env")) {
      if (!item["env"].is_object()) return Error::invalid(where + ": 'env' must be an object");
      for (const auto& [k, v] : item["env"].items()) {
        if (!v.is_string()) return Error::invalid(where + ": env '" + k + "' must be a string");
        auto value = expand(v.get<std::string>(), env, where + ".env." + k);
        if (!value.ok()) return value.error();
        s.env[k] = *value;
      }
    }
    auto cwd = str(item, "cwd", "", where);
    auto user = str(item, "user", "", where);
    auto url = str(item, "health_url", "", where);
    for (auto* r : {&cwd, &user, &url}) {
      if (!r->ok()) return r->error();
    }
    s.cwd = absolute(base, *cwd);
    s.user = *user;
    s.health_url = *url;
    if (!s.health_url.empty() && !starts_with(s.health_url, "http://")) {
      return Error::invalid(where + ": 'health_url' must start with http://");
    }
    if (item.contains("port")) {
      // A number, or a string such as "${PG_PORT}" that expands to one.
      long port = -1;
      if (item["port"].is_number_integer()) {
        port = item["port"].get<long>();
      } else if (item["port"].is_string()) {
        auto port_text = expand(item["port"].get<std::string>(), env, where + ".port");
        if (!port_text.ok()) return port_text.error();
        char* end = nullptr;
        port = std::strtol(port_text->c_str(), &end, 10);
        if (port_text->empty() || *end != '\0') port = -1;
      }
      if (port < 1 || port > 65535)
        return Error::invalid(where + ": 'port' must be an integer 1..65535");
      s.port = static_cast<int>(port);
    }
    if (item.contains("restart")) {
      const std::string r = item["restart"].is_string() ? item["restart"].get<std::string>() : "";
      if (r == "on-failure")
        s.restart = RestartPolicy::kOnFailure;
      else if (r == "always")
        s.restart = RestartPolicy::kAlways;
      else if (r == "never")
        s.restart = RestartPolicy::kNever;
      else
        return Error::invalid(where + ": 'restart' must be on-failure, always or never");
    }
    if (item.contains("oneshot")) {
      if (!item["oneshot"].is_boolean())
        return Error::invalid(where + ": 'oneshot' must be true or false");
      s.oneshot = item["oneshot"].get<bool>();
      if (s.oneshot && !item.contains("restart")) s.restart = RestartPolicy::kNever;
    }
    if (item.contains("stop_timeout_ms")) {
      if (!item["stop_timeout_ms"].is_number_unsigned()) {
        return Error::invalid(where + ": 'stop_timeout_ms' must be a positive integer");
      }
      s.stop_timeout = std::chrono::milliseconds(item["stop_timeout_ms"].get<std::int64_t>());
    }
    if (item.contains("depends_on")) {
      if (!item["depends_on"].is_array())
        return Error::invalid(where + ": 'depends_on' must be an array");
      for (const auto& d : item["depends_on"]) {
        if (!d.is_string()) return Error::invalid(where + ": 'depends_on' must hold names");
        s.depends_on.push_back(d.get<std::string>());
      }
    }
    for (const auto& other : specs) {
      if (other.name == s.name)
        return Error::invalid(path + ": two services are named '" + s.name + "'");
    }
    specs.push_back(std::move(s));
  }

  // Dependency order (and no cycles, no unknown names).
  std::set<std::string> placed;
  while (file.services.size() < specs.size()) {
    bool progress = false;
    for (const auto& s : specs) {
      if (placed.count(s.name) != 0) continue;
      bool ready = true;
      for (const auto& d : s.depends_on) {
        bool known = std::any_of(specs.begin(), specs.end(),
                                 [&](const ServiceSpec& o) { return o.name == d; });
        if (!known)
          return Error::invalid("service '" + s.name + "' depends on unknown service '" + d + "'");
        if (placed.count(d) == 0) ready = false;
      }
      if (ready) {
        file.services.push_back(s);
        placed.insert(s.name);
        progress = true;
      }
    }
    if (!progress) return Error::invalid(path + ": the services' depends_on form a cycle");
  }
  return file;
}

}  // namespace fleet::cli
