// The local supervisor's list of services (seed 004's service monitor): what to run, how to know it
// is healthy, and what to do when it exits. JSON, e.g. deploy/local/services.example.json.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"

namespace fleet::cli {

enum class RestartPolicy { kOnFailure, kAlways, kNever };

struct ServiceSpec {
  std::string name;                  // [a-z0-9-]+, unique
  std::vector<std::string> command;  // argv; a relative program path is resolved against the file
  std::map<std::string, std::string> env;  // added to the supervisor's environment
  std::string cwd;                         // absolute after loading
  std::string user;        // run as this user (the supervisor must be root); "" = as is
  int port = 0;            // must be free before start; open port = alive when no URL
  std::string health_url;  // http://127.0.0.1:PORT/path answering 200 when healthy
  RestartPolicy restart = RestartPolicy::kOnFailure;
  bool oneshot = false;                 // runs to completion; dependents wait for exit code 0
  std::vector<std::string> depends_on;  // started only once these are healthy (or done, if oneshot)
  std::chrono::milliseconds stop_timeout{10'000};  // SIGTERM, then SIGKILL after this long
};

struct ServicesFile {
  std::string path;
  std::string log_dir;  // <log_dir>/<name>.log, rotated
  std::string run_dir;  // pid files, status.json, restart requests
  std::size_t log_max_bytes = 10 << 20;
  int log_max_files = 3;
  std::vector<ServiceSpec> services;  // in dependency order after loading

  const ServiceSpec* find(const std::string& name) const;
};

// Loads and validates a services file. "${VAR}" in strings is replaced from `env` (an unset
// variable is an error). Relative paths are resolved against the file's directory. Errors name
// the service and the key.
Result<ServicesFile> load_services(const std::string& path,
                                   const std::map<std::string, std::string>& env);

}  // namespace fleet::cli
