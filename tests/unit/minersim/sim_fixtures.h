// Building miners for the simulator's unit tests.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "http.h"
#include "identity.h"
#include "miner.h"
#include "models.h"
#include "telemetry.h"
#include "vnish_api.h"

namespace fleet::minersim::test {

// A fixed starting point for test time.
inline Now t0() {
  return {std::chrono::steady_clock::time_point(std::chrono::hours(1000)),
          std::chrono::system_clock::time_point(std::chrono::seconds(1'760'000'000))};
}

struct MinerSetup {
  std::string model = "s19jpro";
  FirmwareMix firmware = FirmwareMix::kCurrent;
  PresetsMix presets = PresetsMix::kBare;
  int index = 0;
  uint64_t seed = 42;
  std::string password = "admin";
  MinerTiming timing{};
};

inline Miner make_miner(const MinerSetup& s = {}, Now now = t0()) {
  SimOptions o;
  o.models = {*find_model(s.model)};
  o.firmware = s.firmware;
  o.presets = s.presets;
  o.seed = s.seed;
  Miner m(make_identity(s.index, o), s.password, s.timing, now);
  m.set_ip(initial_ip(s.index, o));
  return m;
}

// One request through the firmware API.
struct Call {
  std::string method = "GET";
  std::string path;
  std::string body;
  std::string authorization;
  std::string api_key;
};

inline http::Response call(Miner& m, const Call& c, Now now = t0(), ApiEffects* effects = nullptr) {
  http::Request req;
  req.method = c.method;
  req.path = c.path;
  req.target = c.path;
  req.body = c.body;
  req.authorization = c.authorization;
  req.api_key = c.api_key;
  Readings scratch;
  http::Response out;
  ApiEffects fx = handle_vnish(m, req, classify_path(c.path), now, out, scratch);
  if (effects) *effects = fx;
  return out;
}

inline std::string body_of(const http::Response& r) {
  std::string s;
  for (const auto& seg : r.body) {
    s += seg.text;
    s.append(seg.repeat, seg.fill);
  }
  return s;
}

inline nlohmann::json json_of(const http::Response& r) {
  return nlohmann::json::parse(body_of(r));
}

constexpr const char* kKey = "0123456789abcdef0123456789abcdef";

// A miner with kKey installed.
inline Miner keyed_miner(MinerSetup s = {}) {
  Miner m = make_miner(s);
  (void)m.add_key(kKey, "fleetward");
  return m;
}

}  // namespace fleet::minersim::test
