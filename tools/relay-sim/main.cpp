// relay-sim: simulated relay controllers (the project's JSON layout and Tasmota) on a real MQTT
// broker, with a loopback control API for tests and demos (docs/tools/relay-sim.md).
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "control_api.h"
#include "controller.h"
#include "core/duration.h"
#include "core/version.h"

using namespace fleet;
using namespace fleet::relaysim;

namespace {

int usage_error(const std::string& message) {
  std::cerr << "relay-sim: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("relay-sim — simulated relay controllers on MQTT", "relay-sim");
  app.set_version_flag("--version", "relay-sim " + std::string(version_string()));
  app.footer("Exit codes: 0 stopped by SIGTERM/SIGINT; 1 could not start; 2 bad command line.");
  std::string broker = "127.0.0.1:1883";
  std::vector<std::string> controller_specs;
  std::string min_interval = "30s";
  std::string prefix = "fleetward/relay";
  std::string username, password, password_file, tls_ca, tls_cert, tls_key;
  std::string control = "127.0.0.1:0";
  std::string ready_file;
  std::string boot_state = "on";
  bool verbose = false;
  app.add_option("--broker", broker, "MQTT broker HOST:PORT")->capture_default_str();
  app.add_option("--controller", controller_specs,
                 "a controller NAME:DRIVER:TOPIC:CHANNELS (DRIVER fleetward|tasmota); repeatable")
      ->required();
  app.add_option("--min-cycle-interval", min_interval,
                 "refuse a pulse/hold/cycle on a channel sooner than this after the last one "
                 "(fleetward driver)")
      ->capture_default_str();
  app.add_option("--topic-prefix", prefix, "first levels of the fleetward layout")
      ->capture_default_str();
  app.add_option("--username", username, "broker username");
  app.add_option("--password", password, "broker password (tests; prefer --password-file)");
  app.add_option("--password-file", password_file, "file whose first line is the broker password");
  app.add_option("--tls-ca", tls_ca, "connect with TLS, verifying the broker against this CA file");
  app.add_option("--tls-cert", tls_cert, "client certificate (PEM) for TLS");
  app.add_option("--tls-key", tls_key, "client key (PEM) for TLS");
  app.add_option("--control", control, "control API address 127.0.0.1:PORT (0 = any free port)")
      ->capture_default_str();
  app.add_option("--ready-file", ready_file, "write the control URL here once it listens");
  app.add_option("--boot-state", boot_state, "every channel's state at start")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "debug logging");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);

  SimSettings settings;
  if (auto s = mqtt::parse_broker_address(broker, settings.broker); !s.ok()) {
    return usage_error("--broker: " + s.error().message());
  }
  auto interval = parse_duration(min_interval);
  if (!interval.ok()) return usage_error("--min-cycle-interval: " + interval.error().message());
  settings.min_cycle_interval = *interval;
  settings.topic_prefix = prefix;
  settings.boot_on = boot_state == "on";
  settings.broker.username = username;
  settings.broker.password = password;
  if (!password_file.empty()) {
    std::ifstream in(password_file);
    if (!in || !std::getline(in, settings.broker.password)) {
      return usage_error("--password-file: cannot read " + password_file);
    }
  }
  if (!tls_ca.empty()) {
    settings.broker.tls = {true, tls_ca, tls_cert, tls_key};
  } else if (!tls_cert.empty() || !tls_key.empty()) {
    return usage_error("--tls-cert/--tls-key need --tls-ca");
  }
  if (auto s = mqtt::validate(settings.broker); !s.ok()) return usage_error(s.error().message());

  const auto colon = control.rfind(':');
  if (colon == std::string::npos) return usage_error("--control must be HOST:PORT");
  const std::string control_host = control.substr(0, colon);
  if (control_host.rfind("127.", 0) != 0) {
    return usage_error("--control must be a loopback address (127.0.0.0/8)");
  }
  int control_port = -1;
  try {
    control_port = std::stoi(control.substr(colon + 1));
  } catch (...) {
  }
  if (control_port < 0 || control_port > 65535) return usage_error("--control: bad port");

  std::vector<std::unique_ptr<SimController>> controllers;
  for (const auto& text : controller_specs) {
    auto spec = parse_controller_spec(text);
    if (!spec.ok()) return usage_error("--controller: " + spec.error().message());
    for (const auto& c : controllers) {
      if (c->spec().name == spec->name ||
          (c->spec().topic == spec->topic && c->spec().driver == spec->driver)) {
        return usage_error("--controller: '" + text + "' repeats a name or topic");
      }
    }
    controllers.push_back(std::make_unique<SimController>(*spec, settings));
  }

  // Signals go to the main thread's sigwait only.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  for (auto& c : controllers) {
    if (auto s = c->connect(); !s.ok()) {
      spdlog::error("relay-sim: controller {}: {}", c->spec().name, s.error().message());
      return 1;
    }
  }
  ControlApi api(controllers);
  http::ServerOptions o;
  o.name = "relay-sim control";
  o.address = control_host;
  o.port = control_port;
  o.threads = 2;
  o.max_body_bytes = 16 * 1024;
  auto server = http::Server::start(
      std::move(o),
      [&api](const http::Request& req, http::Response& res) { api.handle(req, res); });
  if (!server.ok()) {
    spdlog::error("relay-sim: control API: {}", server.error().message());
    return 1;
  }
  const std::string url = "http://" + control_host + ":" + std::to_string((*server)->port());
  spdlog::info("relay-sim: {} controller(s) on {}; control API {}", controllers.size(),
               mqtt::describe(settings.broker), url);
  if (!ready_file.empty()) {
    const std::string tmp = ready_file + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      f << url << "\n";
    }
    std::rename(tmp.c_str(), ready_file.c_str());
  }
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("relay-sim: stopping (signal {})", sig);
  (*server)->stop();
  controllers.clear();  // each publishes its retained "offline", then disconnects cleanly
  return 0;
}
