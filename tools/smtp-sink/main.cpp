// smtp-sink: an SMTP server that keeps what it receives, for tests and the demo (issue 12;
// docs/notifications-channels.md). Listens on 127.0.0.1 only.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "core/version.h"
#include "smtp_sink.h"

int main(int argc, char** argv) {
  CLI::App app("smtp-sink — an SMTP server that keeps the mail it receives (tests, demo)",
               "smtp-sink");
  app.set_version_flag("--version", "smtp-sink " + std::string(fleet::version_string()));
  app.footer("Exit codes: 0 stopped by SIGTERM/SIGINT; 1 could not start; 2 bad command line.");
  fleet::smtpsink::SinkOptions o;
  std::string user;
  std::string ready_file;
  int fail_first = 0;
  int fail_code = 451;
  app.add_option("--port", o.port, "port on 127.0.0.1 (0 = any free port)")->capture_default_str();
  app.add_option("--cert", o.cert_file, "PEM certificate: offer STARTTLS");
  app.add_option("--key", o.key_file, "PEM private key of --cert");
  app.add_flag("--require-tls", o.require_tls, "refuse AUTH and MAIL before STARTTLS");
  app.add_option("--user", user, "USER:PASSWORD required through AUTH (tests only)");
  app.add_option("--out", o.out_file, "append every message to this file as a JSON line");
  app.add_option("--fail-first", fail_first, "refuse the first N messages after DATA");
  app.add_option("--fail-code", fail_code, "the reply code of those refusals")
      ->check(CLI::Range(400, 599))
      ->capture_default_str();
  app.add_option("--ready-file", ready_file, "write the port here once listening");
  CLI11_PARSE(app, argc, argv);
  if (o.cert_file.empty() != o.key_file.empty()) {
    std::cerr << "smtp-sink: --cert and --key go together\n";
    return 2;
  }
  if (!user.empty()) {
    const auto colon = user.find(':');
    if (colon == std::string::npos) {
      std::cerr << "smtp-sink: --user must be USER:PASSWORD\n";
      return 2;
    }
    o.username = user.substr(0, colon);
    o.password = user.substr(colon + 1);
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto sink = fleet::smtpsink::SmtpSink::start(o);
  if (!sink.ok()) {
    std::cerr << "smtp-sink: " << sink.error().message() << "\n";
    return 1;
  }
  if (fail_first > 0) (*sink)->fail_next(fail_first, fail_code);
  std::cout << "smtp-sink listening on 127.0.0.1:" << (*sink)->port() << std::endl;
  if (!ready_file.empty()) std::ofstream(ready_file) << (*sink)->port() << "\n";
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  return 0;
}
