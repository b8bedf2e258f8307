#include "smtp_sink.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fstream>
#include <list>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace fleet::smtpsink {
namespace {

constexpr std::size_t kMaxLine = 4096;

std::string decode_base64(std::string_view text) {
  std::string clean;
  for (char c : text) {
    if (c != '\r' && c != '\n' && c != ' ') clean += c;
  }
  std::string out(clean.size(), '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), clean.data(),
                        clean.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return "";
  }
  out.resize(len);
  return out;
}

// Header block (up to the first empty line) into lower-cased names; folded lines joined.
std::map<std::string, std::string> parse_headers(std::string_view block) {
  std::map<std::string, std::string> headers;
  std::string last;
  for (const auto& raw : split(block, '\n')) {
    std::string line = raw;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !last.empty()) {
      headers[last] += " " + std::string(trim(line));
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    last = to_lower(trim(std::string_view(line).substr(0, colon)));
    headers[last] = std::string(trim(std::string_view(line).substr(colon + 1)));
  }
  return headers;
}

// Body after the header block.
std::string_view body_of(std::string_view message) {
  const auto p = message.find("\r\n\r\n");
  return p == std::string_view::npos ? std::string_view() : message.substr(p + 4);
}

std::vector<std::pair<std::string, std::string>> parse_parts(
    const std::map<std::string, std::string>& headers, std::string_view message) {
  std::vector<std::pair<std::string, std::string>> parts;
  auto ct = headers.find("content-type");
  if (ct == headers.end()) return parts;
  const auto b = ct->second.find("boundary=\"");
  if (b == std::string::npos) {
    parts.emplace_back(ct->second, std::string(body_of(message)));
    return parts;
  }
  const auto end = ct->second.find('"', b + 10);
  const std::string delimiter = "--" + ct->second.substr(b + 10, end - b - 10);
  std::string_view body = body_of(message);
  std::size_t pos = body.find(delimiter);
  while (pos != std::string_view::npos) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") break;
    const auto next = body.find(delimiter, pos);
    std::string_view part =
        body.substr(pos, next == std::string_view::npos ? body.npos : next - pos);
    if (part.substr(0, 2) == "\r\n") part.remove_prefix(2);
    const auto part_headers = parse_headers(part);
    std::string content = std::string(body_of(part));
    auto cte = part_headers.find("content-transfer-encoding");
    if (cte != part_headers.end() && to_lower(cte->second) == "base64") {
      content = decode_base64(content);
    }
    auto pct = part_headers.find("content-type");
    parts.emplace_back(pct == part_headers.end() ? "" : pct->second, content);
    pos = next;
  }
  return parts;
}

// The address inside "<...>" of MAIL FROM:/RCPT TO:.
std::string angle_address(std::string_view arg) {
  const auto open = arg.find('<');
  const auto close = arg.find('>', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) {
    return std::string(trim(arg.substr(arg.find(':') + 1)));
  }
  return std::string(arg.substr(open + 1, close - open - 1));
}

}  // namespace

struct SmtpSink::Impl {
  // Constant after start().
  SinkOptions options;
  int listen_fd = -1;
  int port = 0;
  SSL_CTX* tls = nullptr;

  std::atomic<bool> stopping{false};
  std::thread acceptor;

  mutable std::mutex mu;  // guards everything below
  std::vector<ReceivedMail> mails;
  int fail_count = 0;
  int fail_code = 451;
  bool hang = false;
  int auth_failures = 0;
  std::list<int> client_fds;
  std::list<std::thread> clients;

  ~Impl() {
    if (tls != nullptr) SSL_CTX_free(tls);
  }

  void accept_loop() {
    while (!stopping) {
      pollfd p{listen_fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      const int fd = ::accept(listen_fd, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard lock(mu);
      if (stopping) {
        ::close(fd);
        break;
      }
      client_fds.push_back(fd);
      clients.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd);
  void record(ReceivedMail mail) {
    if (!options.out_file.empty()) {
      std::ofstream out(options.out_file, std::ios::app);
      out << to_json_line(mail) << "\n";
    }
    mails.push_back(std::move(mail));
  }
};

namespace {

// One client connection: line I/O over the socket, or over TLS once STARTTLS succeeded.
class Session {
 public:
  Session(int fd, SSL_CTX* ctx) : fd_(fd), ctx_(ctx) {}
  ~Session() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
  }
  bool tls() const { return ssl_ != nullptr; }

  bool write(const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
      const int n =
          ssl_ != nullptr
              ? SSL_write(ssl_, text.data() + done, static_cast<int>(text.size() - done))
              : static_cast<int>(::send(fd_, text.data() + done, text.size() - done, MSG_NOSIGNAL));
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  // A line without its CRLF; false at EOF or on a line over kMaxLine.
  bool read_line(std::string& line) {
    while (true) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        line = buffer_.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        buffer_.erase(0, nl + 1);
        return true;
      }
      if (buffer_.size() > kMaxLine * 16) return false;
      char chunk[4096];
      const int n = ssl_ != nullptr ? SSL_read(ssl_, chunk, sizeof chunk)
                                    : static_cast<int>(::recv(fd_, chunk, sizeof chunk, 0));
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  bool start_tls() {
    buffer_.clear();  // nothing sent before the handshake counts (RFC 3207)
    ssl_ = SSL_new(ctx_);
    if (ssl_ == nullptr) return false;
    SSL_set_fd(ssl_, fd_);
    return SSL_accept(ssl_) == 1;
  }

 private:
  int fd_;
  SSL_CTX* ctx_;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

}  // namespace

void SmtpSink::Impl::serve(int fd) {
  Session s(fd, tls);
  bool greeted = false;
  std::string auth_user;
  ReceivedMail mail;
  bool in_mail = false;
  std::string line;
  auto check_credentials = [&](const std::string& user, const std::string& password) {
    if (user == options.username && password == options.password && !options.username.empty()) {
      auth_user = user;
      return s.write("235 2.7.0 Authentication successful\r\n");
    }
    std::lock_guard lock(mu);
    ++auth_failures;
    return s.write("535 5.7.8 Authentication credentials invalid\r\n");
  };
  bool open = s.write("220 127.0.0.1 fleetward smtp-sink ready\r\n");
  while (open && !stopping && s.read_line(line)) {
    const std::string verb = to_lower(line.substr(0, line.find(' ')));
    const std::string arg =
        line.find(' ') == std::string::npos ? "" : line.substr(line.find(' ') + 1);
    const bool tls_needed = options.require_tls && !s.tls();
    bool ok = true;
    if (verb == "ehlo" || verb == "helo") {
      greeted = true;
      in_mail = false;
      std::string reply = "250-127.0.0.1 greets " + sanitize_utf8(arg) + "\r\n250-8BITMIME\r\n";
      reply += "250-SIZE " + std::to_string(options.max_message_bytes) + "\r\n";
      if (tls != nullptr && !s.tls()) reply += "250-STARTTLS\r\n";
      if (!options.username.empty() && !tls_needed) reply += "250-AUTH PLAIN LOGIN\r\n";
      ok = s.write(verb == "helo" ? "250 127.0.0.1\r\n" : reply + "250 HELP\r\n");
    } else if (verb == "starttls") {
      if (tls == nullptr || s.tls()) {
        ok = s.write("454 4.7.0 TLS not available\r\n");
      } else {
        ok = s.write("220 2.0.0 Ready to start TLS\r\n") && s.start_tls();
        greeted = false;
        auth_user.clear();
        in_mail = false;
      }
    } else if (verb == "auth") {
      const std::string mech = to_lower(arg.substr(0, arg.find(' ')));
      const std::string initial =
          arg.find(' ') == std::string::npos ? "" : arg.substr(arg.find(' ') + 1);
      if (tls_needed) {
        ok = s.write("530 5.7.0 Must issue a STARTTLS command first\r\n");
      } else if (options.username.empty()) {
        ok = s.write("503 5.5.1 AUTH not offered\r\n");
      } else if (mech == "plain") {
        std::string payload = initial;
        if (payload.empty()) ok = s.write("334 \r\n") && s.read_line(payload);
        const std::string decoded = decode_base64(payload);
        const auto a = decoded.find('\0');
        const auto b = a == std::string::npos ? a : decoded.find('\0', a + 1);
        if (ok) {
          ok = b == std::string::npos
                   ? s.write("501 5.5.2 malformed AUTH PLAIN\r\n")
                   : check_credentials(decoded.substr(a + 1, b - a - 1), decoded.substr(b + 1));
        }
      } else if (mech == "login") {
        std::string user_b64 = initial, pass_b64;
        if (user_b64.empty()) ok = s.write("334 VXNlcm5hbWU6\r\n") && s.read_line(user_b64);
        ok = ok && s.write("334 UGFzc3dvcmQ6\r\n") && s.read_line(pass_b64);
        if (ok) ok = check_credentials(decode_base64(user_b64), decode_base64(pass_b64));
      } else {
        ok = s.write("504 5.5.4 unrecognised authentication mechanism\r\n");
      }
    } else if (verb == "mail") {
      if (!greeted) {
        ok = s.write("503 5.5.1 EHLO first\r\n");
      } else if (tls_needed) {
        ok = s.write("530 5.7.0 Must issue a STARTTLS command first\r\n");
      } else if (!options.username.empty() && auth_user.empty()) {
        ok = s.write("530 5.7.0 Authentication required\r\n");
      } else {
        mail = ReceivedMail{};
        mail.from = angle_address(arg);
        mail.auth_user = auth_user;
        mail.tls = s.tls();
        in_mail = true;
        ok = s.write("250 2.1.0 Ok\r\n");
      }
    } else if (verb == "rcpt") {
      if (!in_mail) {
        ok = s.write("503 5.5.1 MAIL first\r\n");
      } else {
        mail.to.push_back(angle_address(arg));
        ok = s.write("250 2.1.5 Ok\r\n");
      }
    } else if (verb == "data") {
      if (!in_mail || mail.to.empty()) {
        ok = s.write("503 5.5.1 RCPT first\r\n");
        continue;
      }
      ok = s.write("354 End data with <CR><LF>.<CR><LF>\r\n");
      bool too_big = false;
      while (ok && (ok = s.read_line(line))) {
        if (line == ".") break;
        if (!line.empty() && line[0] == '.') line.erase(0, 1);
        if (mail.data.size() + line.size() + 2 > options.max_message_bytes) too_big = true;
        if (!too_big) mail.data += line + "\r\n";
      }
      if (!ok) break;
      in_mail = false;
      int fail = 0;
      bool hung = false;
      {
        std::lock_guard lock(mu);
        hung = hang;
        if (!hung && fail_count > 0) {
          --fail_count;
          fail = fail_code;
        }
      }
      if (hung) {
        while (!stopping && s.read_line(line)) {
        }
        break;
      }
      if (too_big) {
        ok = s.write("552 5.3.4 Message too big\r\n");
      } else if (fail != 0) {
        ok = s.write(std::to_string(fail) + (fail >= 500 ? " 5.0.0" : " 4.0.0") +
                     " smtp-sink was told to refuse this message\r\n");
      } else {
        mail.headers = parse_headers(mail.data);
        mail.parts = parse_parts(mail.headers, mail.data);
        std::size_t n = 0;
        {
          std::lock_guard lock(mu);
          record(mail);
          n = mails.size();
        }
        ok = s.write("250 2.0.0 Ok: queued as " + std::to_string(n) + "\r\n");
      }
    } else if (verb == "rset") {
      in_mail = false;
      ok = s.write("250 2.0.0 Ok\r\n");
    } else if (verb == "noop") {
      ok = s.write("250 2.0.0 Ok\r\n");
    } else if (verb == "quit") {
      s.write("221 2.0.0 Bye\r\n");
      break;
    } else {
      ok = s.write("502 5.5.2 command not recognised\r\n");
    }
    if (!ok) break;
  }
  std::lock_guard lock(mu);
  client_fds.remove(fd);
  ::close(fd);
}

SmtpSink::SmtpSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<SmtpSink>> SmtpSink::start(SinkOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  if (!impl->options.cert_file.empty()) {
    impl->tls = SSL_CTX_new(TLS_server_method());
    if (impl->tls == nullptr ||
        SSL_CTX_use_certificate_chain_file(impl->tls, impl->options.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(impl->tls, impl->options.key_file.c_str(), SSL_FILETYPE_PEM) !=
            1) {
      return Error::invalid("cannot load the TLS certificate/key " + impl->options.cert_file);
    }
  }
  impl->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (impl->listen_fd < 0) return Error::unavailable("socket failed");
  const int one = 1;
  ::setsockopt(impl->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(impl->options.port));
  if (::bind(impl->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(impl->listen_fd, 64) != 0) {
    const std::string why = std::strerror(errno);
    ::close(impl->listen_fd);
    return Error::unavailable("cannot listen on 127.0.0.1:" + std::to_string(impl->options.port) +
                              ": " + why);
  }
  socklen_t len = sizeof addr;
  ::getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  impl->port = ntohs(addr.sin_port);
  Impl* raw = impl.get();
  raw->acceptor = std::thread([raw] { raw->accept_loop(); });
  return std::unique_ptr<SmtpSink>(new SmtpSink(std::move(impl)));
}

SmtpSink::~SmtpSink() {
  impl_->stopping = true;
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  std::list<std::thread> clients;
  {
    std::lock_guard lock(impl_->mu);
    for (int fd : impl_->client_fds)
      ::shutdown(fd, SHUT_RDWR);
    clients.swap(impl_->clients);
  }
  for (auto& t : clients)
    t.join();
  ::close(impl_->listen_fd);
}

int SmtpSink::port() const {
  return impl_->port;
}

std::vector<ReceivedMail> SmtpSink::messages() const {
  std::lock_guard lock(impl_->mu);
  return impl_->mails;
}

void SmtpSink::fail_next(int count, int code) {
  std::lock_guard lock(impl_->mu);
  impl_->fail_count = count;
  impl_->fail_code = code;
}

void SmtpSink::hang_after_data(bool hang) {
  std::lock_guard lock(impl_->mu);
  impl_->hang = hang;
}

int SmtpSink::auth_failures() const {
  std::lock_guard lock(impl_->mu);
  return impl_->auth_failures;
}

std::string to_json_line(const ReceivedMail& mail) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& [type, body] : mail.parts) {
    parts.push_back({{"content_type", type}, {"body", body}});
  }
  const nlohmann::json j = {
      {"from", mail.from}, {"to", mail.to},           {"auth_user", mail.auth_user},
      {"tls", mail.tls},   {"headers", mail.headers}, {"parts", parts},
      {"data", mail.data}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace fleet::smtpsink
