#include "mosquitto.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <stdexcept>

namespace fleet::test {
namespace {

bool accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace

std::unique_ptr<MosquittoBroker> MosquittoBroker::start(Options options) {
  if (access(kBinary, X_OK) != 0) {
    throw std::runtime_error(std::string("the MQTT broker is not installed: ") + kBinary +
                             " is missing (install the Debian package 'mosquitto'; "
                             "scripts/install-deps.sh lists it)");
  }
  std::unique_ptr<MosquittoBroker> b(new MosquittoBroker());
  b->dir_ = make_temp_dir("fleet-mosquitto");
  b->port_ = free_port();
  std::string conf;
  conf += "listener " + std::to_string(b->port_) + " 127.0.0.1\n";
  conf += "persistence false\n";
  conf += "log_dest stderr\n";
  conf += "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n";
  conf += "connection_messages true\n";
  // Running as root, mosquitto would switch to the 'mosquitto' user, which cannot read our
  // temporary directory.
  if (geteuid() == 0) conf += "user root\n";
  if (options.users.empty()) {
    conf += "allow_anonymous true\n";
  } else {
    const std::string passwd = b->dir_ + "/passwd";
    write_file(passwd, "");
    for (const auto& [user, password] : options.users) {
      auto r = run("/usr/bin/mosquitto_passwd", {"-b", passwd, user, password});
      if (r.code != 0) throw std::runtime_error("mosquitto_passwd failed: " + r.err);
    }
    chmod(passwd.c_str(), 0600);
    conf += "allow_anonymous false\npassword_file " + passwd + "\n";
  }
  if (options.tls) {
    // EC keys: quick to make. The server certificate names 127.0.0.1, which clients verify.
    const std::string d = b->dir_;
    write_file(d + "/san.ext", "subjectAltName=IP:127.0.0.1\n");
    const std::vector<std::vector<std::string>> steps = {
        {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj",
         "/CN=fleetward test CA"},
        {"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
         d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=127.0.0.1"},
        {"x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
         "-CAcreateserial", "-out", d + "/server.crt", "-days", "2", "-extfile", d + "/san.ext"},
    };
    for (const auto& args : steps) {
      auto r = run("/usr/bin/openssl", args);
      if (r.code != 0) throw std::runtime_error("openssl failed: " + r.err);
    }
    conf +=
        "cafile " + d + "/ca.crt\ncertfile " + d + "/server.crt\nkeyfile " + d + "/server.key\n";
  }
  b->config_ = b->dir_ + "/mosquitto.conf";
  write_file(b->config_, conf);
  b->launch();
  return b;
}

void MosquittoBroker::launch() {
  process_ = std::make_unique<Process>(kBinary, std::vector<std::string>{"-c", config_});
  const bool up =
      eventually([&] { return !process_->running() || accepts(port_); }, std::chrono::seconds(10));
  if (!up || !process_->running()) {
    throw std::runtime_error("mosquitto did not come up on port " + std::to_string(port_) + ":\n" +
                             log());
  }
}

MosquittoBroker::~MosquittoBroker() {
  try {
    stop(SIGKILL);
  } catch (...) {
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void MosquittoBroker::stop(int signal_number) {
  if (!process_) return;
  if (process_->running()) {
    process_->signal(signal_number);
    if (!process_->wait(std::chrono::seconds(10))) {
      process_->signal(SIGKILL);
      process_->wait(std::chrono::seconds(10));
    }
  }
  old_logs_ += process_->err();
  process_.reset();
}

void MosquittoBroker::restart() {
  stop();
  launch();
}

bool MosquittoBroker::running() {
  return process_ && process_->running();
}

std::string MosquittoBroker::log() const {
  return old_logs_ + (process_ ? process_->err() : std::string());
}

}  // namespace fleet::test
