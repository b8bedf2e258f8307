// The simulator's control API (JSON over HTTP on --control): inspect miners, inject and clear
// faults, take miners offline, reboot them, move them to another address, read request counters.
// Errors answer {"error": "..."} with 400 (bad input, naming the field), 404 (no such miner or
// route), 405, 409 (address taken) or 503 (address cannot be bound).
#pragma once

#include "fleet_control.h"
#include "http.h"

namespace fleet::minersim {

class ControlApi {
 public:
  ControlApi(FleetControl& fleet, int64_t reboot_seconds)
      : fleet_(fleet), reboot_seconds_(reboot_seconds) {}

  // Answers one request. Thread: any (FleetControl is thread-safe); never the loop thread of a
  // miner shard, because FleetControl waits for those.
  void handle(const http::Request& req, http::Response& out);

 private:
  FleetControl& fleet_;
  int64_t reboot_seconds_;
};

}  // namespace fleet::minersim
