// A real Debian mosquitto broker for tests: /usr/sbin/mosquitto on a free 127.0.0.1 port, with its
// own generated config in a temporary directory (persistence off, anonymous or a password file).
// It can be stopped (SIGTERM or SIGKILL) and started again on the SAME port, which is how tests
// take the broker away in the middle of an exchange.
//
// Fails loudly (std::runtime_error) when mosquitto is not installed or does not come up.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "process.h"

namespace fleet::test {

class MosquittoBroker {
 public:
  struct Options {
    // Users of a password file; empty = anonymous access allowed.
    std::vector<std::pair<std::string, std::string>> users;
    // TLS only: a throwaway CA and a server certificate for 127.0.0.1 are made with openssl;
    // clients verify against ca_file().
    bool tls = false;
  };

  // Writes the config (and password file) and starts the broker; returns once it accepts TCP
  // connections on 127.0.0.1:port().
  static std::unique_ptr<MosquittoBroker> start(Options options);
  static std::unique_ptr<MosquittoBroker> start() { return start(Options{}); }
  ~MosquittoBroker();  // stops the broker and removes its directory
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // Stops the broker and waits for it to exit. SIGTERM by default; SIGKILL is a crash.
  void stop(int signal_number = 15);
  // Starts it again on the same port with the same config (retained messages are gone:
  // persistence is off). Returns once it accepts connections.
  void restart();

  bool running();
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const;  // the broker's log so far (every run), for failure messages
  std::string ca_file() const { return dir_ + "/ca.crt"; }  // with Options::tls
  std::string dir() const { return dir_; }

  static constexpr const char* kBinary = "/usr/sbin/mosquitto";

 private:
  MosquittoBroker() = default;
  void launch();

  std::string dir_;
  std::string config_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
  std::string old_logs_;
};

}  // namespace fleet::test
