// Relay controllers and workers' relay mappings as the client returns them (docs/client.md,
// docs/relay-mappings.md). `raw` keeps the server's JSON for printing or fields added later.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fleet::client {

struct RelayController {
  std::int64_t id = 0;
  std::string name;
  std::string driver;  // fleetward or tasmota
  std::string topic;
  int channels = 0;
  std::optional<std::string> site;
  std::string description;
  std::optional<bool> online;  // nullopt: the dispatcher has not heard from it yet
  std::optional<std::string> availability_at;
  std::int64_t mapped_workers = 0;
  std::string raw;
};

// A new controller (name, driver, topic required) or a change (only the fields set are sent).
struct RelayControllerDraft {
  std::optional<std::string> name;
  std::optional<std::string> driver;
  std::optional<std::string> topic;
  std::optional<int> channels;
  std::optional<std::string> site;  // "" clears it on update
  std::optional<std::string> description;
};

struct RelayMapping {
  std::int64_t worker_id = 0;
  std::string worker_name;
  std::int64_t controller_id = 0;
  std::string controller_name;
  std::optional<bool> controller_online;
  int channel = 0;
  std::string wiring;  // power_button or mains
  int pulse_ms = 0;
  int hold_ms = 0;
  int off_ms = 0;
  std::string raw;
};

struct RelayMappingRequest {
  // The controller: its id, or its name when controller_id is unset.
  std::optional<std::int64_t> controller_id;
  std::string controller;
  int channel = 0;
  std::string wiring;           // power_button or mains
  std::optional<int> pulse_ms;  // unset: the server's defaults (500, 6000, 10000)
  std::optional<int> hold_ms;
  std::optional<int> off_ms;
};

}  // namespace fleet::client
