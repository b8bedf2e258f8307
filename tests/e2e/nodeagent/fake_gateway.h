// A stand-in for the api-gateway's node routes, on 127.0.0.1: records what a node-agent sends and
// serves queued agent commands. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fleet::test {

class FakeGateway {
 public:
  explicit FakeGateway(int port);  // listens at once; REQUIRES: the port is free
  ~FakeGateway();
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Every heartbeat body received (JSON text), and the Authorization headers seen.
  std::vector<std::string> heartbeats() const;
  std::vector<std::string> authorizations() const;
  std::vector<std::string> results() const;  // "<command id> <body>"
  std::string last_registration() const;
  int command_polls() const;

  void set_reject_all(bool reject);  // answer every node route 401
  // Queues a command; GET /commands hands it out once; heartbeats report it pending until then.
  void add_command(std::int64_t id, const std::string& action, const std::string& params_json);
  // The credential rotate answers with, and which credential is accepted ("" = any).
  void set_rotated_credential(const std::string& c);

  struct State;

 private:
  int port_;
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace fleet::test
