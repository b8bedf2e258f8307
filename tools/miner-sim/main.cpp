// miner-sim: thousands of simulated Vnish-firmware ASIC miners on loopback addresses, with fault
// injection and a control API (docs/tools/miner-sim.md).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "address.h"
#include "core/strings.h"
#include "core/version.h"
#include "sim_server.h"

using namespace fleet;
using namespace fleet::minersim;

namespace {

int usage_error(const std::string& message) {
  std::cerr << "miner-sim: " << message << "\n";
  return 2;
}

// Writes `text` to `path` atomically (readers never see a partial file).
bool write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return false;
    f << text;
    if (!f.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("miner-sim — simulated Vnish-firmware ASIC miners on loopback addresses",
               "miner-sim");
  app.set_version_flag("--version", "miner-sim " + std::string(version_string()));
  app.footer(
      "Fault SPEC: <selector>:<kind>[=<arg>][@<path>]; selector = index (5), range (10-19), share "
      "(10%) or all; kinds: " +
      join(fault_kind_names(), ", ") +
      ".\nExit codes: 0 stopped by SIGTERM/SIGINT; 1 could not start (address in use, file "
      "descriptors); 2 bad command line.");

  SimOptions o;
  std::string base_ip = "127.20.0.1";
  std::string control = "127.0.0.1:0";
  std::string models = "s19,s19jpro,s21";
  std::vector<std::string> faults;
  std::string firmware = "mixed";
  std::string presets = "mixed";
  int64_t token_ttl = 300, reboot_seconds = 10, idle_timeout = 60;
  double init_seconds = 5.0;
  int port = 80;
  bool verbose = false;

  app.add_option("--count", o.count, "number of miners")->capture_default_str();
  app.add_option("--base-ip", base_ip, "address of miner 0; miner i listens on base+i")
      ->capture_default_str();
  app.add_option("--port", port, "HTTP port every miner listens on")->capture_default_str();
  app.add_option("--control", control, "control API address HOST:PORT (PORT 0 = any free port)")
      ->capture_default_str();
  app.add_option("--models", models, "models assigned round-robin (s19, s19jpro, s21)")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "seed for MACs, serials, firmware mix and values")
      ->capture_default_str();
  app.add_option("--password", o.password, "unlock password of every miner")->capture_default_str();
  app.add_option("--fault", faults, "inject a fault at start (repeatable), e.g. 10%:timeout");
  app.add_option("--ready-file", o.ready_file,
                 "write the control URL to this file once every miner accepts connections");
  app.add_option("--threads", o.threads, "event-loop threads (0 = hardware concurrency)")
      ->capture_default_str();
  app.add_option("--token-ttl", token_ttl, "seconds an unlock token stays valid")
      ->capture_default_str();
  app.add_option("--reboot-seconds", reboot_seconds, "seconds a rebooting miner stays offline")
      ->capture_default_str();
  app.add_option("--init-seconds", init_seconds,
                 "seconds a miner reports 'initializing' after a boot or mining restart")
      ->capture_default_str();
  app.add_option("--idle-timeout", idle_timeout,
                 "seconds before an idle keep-alive connection closes")
      ->capture_default_str();
  app.add_option("--firmware", firmware,
                 "payload generation: legacy (1.2.0-beta10), current (1.2.6-style) or mixed (25% "
                 "legacy)")
      ->capture_default_str();
  app.add_option("--presets-shape", presets,
                 "/autotune/presets as a bare array, wrapped {\"presets\":[...]}, or mixed (20% "
                 "wrapped)")
      ->capture_default_str();
  app.add_option("--api-key", o.preset_api_key,
                 "install this 32-hex API key on every miner at start (skips provisioning in "
                 "benchmarks)");
  app.add_option("--api-key-description", o.preset_api_key_description,
                 "description of the --api-key entry")
      ->capture_default_str();
  app.add_option("--max-connections", o.max_connections,
                 "open client connections at most (0 = as many as RLIMIT_NOFILE allows); beyond "
                 "it the least recently used idle connection is closed")
      ->capture_default_str();
  app.add_option("--churn", o.churn_per_hour,
                 "spontaneous events per miner per hour: reboots, outages, address changes, chain "
                 "failures (0 = none; for demos and soak tests)")
      ->capture_default_str();
  app.add_flag("--verbose", verbose, "log debug messages");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  auto base = parse_ip(base_ip);
  if (!base.ok()) return usage_error("--base-ip: " + base.error().message());
  o.base_ip = *base;
  if (port < 1 || port > 65535) return usage_error("--port must be between 1 and 65535");
  o.port = static_cast<uint16_t>(port);
  const auto colon = control.rfind(':');
  if (colon == std::string::npos) return usage_error("--control must be HOST:PORT");
  auto control_ip = parse_ip(control.substr(0, colon));
  if (!control_ip.ok()) return usage_error("--control: " + control_ip.error().message());
  o.control_ip = *control_ip;
  try {
    const int p = std::stoi(control.substr(colon + 1));
    if (p < 0 || p > 65535) throw std::out_of_range("port");
    o.control_port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    return usage_error("--control: '" + control.substr(colon + 1) + "' is not a port");
  }
  auto model_list = parse_model_list(models);
  if (!model_list.ok()) return usage_error("--models: " + model_list.error().message());
  o.models = *model_list;
  if (token_ttl < 1) return usage_error("--token-ttl must be at least 1 second");
  if (reboot_seconds < 0) return usage_error("--reboot-seconds must not be negative");
  if (idle_timeout < 1) return usage_error("--idle-timeout must be at least 1 second");
  if (init_seconds < 0) return usage_error("--init-seconds must not be negative");
  if (o.churn_per_hour < 0 || o.churn_per_hour > 3600) {
    return usage_error("--churn must be between 0 and 3600 events per miner per hour");
  }
  o.token_ttl = std::chrono::seconds(token_ttl);
  o.reboot_time = std::chrono::seconds(reboot_seconds);
  o.idle_timeout = std::chrono::seconds(idle_timeout);
  o.init_time = std::chrono::milliseconds(static_cast<int64_t>(init_seconds * 1000));
  if (firmware == "mixed") {
    o.firmware = FirmwareMix::kMixed;
  } else if (firmware == "legacy") {
    o.firmware = FirmwareMix::kLegacy;
  } else if (firmware == "current") {
    o.firmware = FirmwareMix::kCurrent;
  } else {
    return usage_error("--firmware must be legacy, current or mixed, got '" + firmware + "'");
  }
  if (presets == "mixed") {
    o.presets = PresetsMix::kMixed;
  } else if (presets == "bare") {
    o.presets = PresetsMix::kBare;
  } else if (presets == "wrapped") {
    o.presets = PresetsMix::kWrapped;
  } else {
    return usage_error("--presets-shape must be bare, wrapped or mixed, got '" + presets + "'");
  }
  for (const auto& f : faults) {
    auto spec = parse_fault_spec(f, reboot_seconds);
    if (!spec.ok()) return usage_error(spec.error().message());
    o.faults.push_back(std::move(*spec));
  }

  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z [miner-sim] [%l] %v");

  // Signals: every thread inherits this mask; only main() takes SIGTERM/SIGINT, with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = SimServer::start(o);
  if (!server.ok()) {
    std::cerr << "miner-sim: " << server.error().message() << "\n";
    return server.error().kind() == ErrorKind::kInvalidArgument ? 2 : 1;
  }
  if (!o.ready_file.empty() && !write_atomically(o.ready_file, (*server)->control_url() + "\n")) {
    std::cerr << "miner-sim: cannot write --ready-file " << o.ready_file << "\n";
    return 1;
  }
  std::cout << (*server)->ready_line() << std::endl;
  spdlog::debug("connection budget {}", (*server)->connection_budget());

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("{} received, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->stop();
  if (!o.ready_file.empty()) std::remove(o.ready_file.c_str());
  return 0;
}
