#include "raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fleet::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int connect_to(const std::string& ip, int port, int& err, const std::string& source_ip = "") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!source_ip.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      err = errno;
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    err = errno;
    ::close(fd);
    return -1;
  }
  err = 0;
  return fd;
}

// Reads from fd into buf until one full answer is there, EOF, reset or the deadline.
RawAnswer read_one(int fd, std::string& buf, Clock::time_point deadline, Clock::time_point start) {
  RawAnswer a;
  while (true) {
    const auto head_end = buf.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      a.head = buf.substr(0, head_end);
      a.status = std::atoi(a.head.c_str() + 9);
      std::string lower = a.head;
      for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const auto cl = lower.find("content-length: ");
      a.content_length = cl == std::string::npos ? 0 : std::atoll(lower.c_str() + cl + 16);
      const size_t need = head_end + 4 + static_cast<size_t>(a.content_length);
      if (buf.size() >= need) {
        a.body = buf.substr(head_end + 4, static_cast<size_t>(a.content_length));
        buf.erase(0, need);
        a.outcome = RawAnswer::Outcome::kAnswered;
        a.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
        return a;
      }
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      a.outcome = RawAnswer::Outcome::kTimeout;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char chunk[65536];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      buf.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      a.outcome = RawAnswer::Outcome::kClosedEarly;
    } else {
      a.outcome = errno == ECONNRESET ? RawAnswer::Outcome::kReset : RawAnswer::Outcome::kError;
    }
    break;
  }
  const auto head_end = buf.find("\r\n\r\n");
  if (head_end != std::string::npos) a.body = buf.substr(head_end + 4);
  a.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  return a;
}

}  // namespace

const char* to_string(RawAnswer::Outcome o) {
  switch (o) {
    case RawAnswer::Outcome::kAnswered:
      return "answered";
    case RawAnswer::Outcome::kRefused:
      return "refused";
    case RawAnswer::Outcome::kReset:
      return "reset";
    case RawAnswer::Outcome::kTimeout:
      return "timeout";
    case RawAnswer::Outcome::kClosedEarly:
      return "closed early";
    case RawAnswer::Outcome::kError:
      return "error";
  }
  return "?";
}

std::string http_message(const std::string& method, const std::string& path,
                         const std::string& body, const std::string& api_key,
                         const std::string& bearer, bool close) {
  std::string m = method + " " + path + " HTTP/1.1\r\nHost: miner\r\nAccept: application/json\r\n";
  if (!api_key.empty()) m += "x-api-key: " + api_key + "\r\n";
  if (!bearer.empty()) m += "Authorization: Bearer " + bearer + "\r\n";
  if (close) m += "Connection: close\r\n";
  if (!body.empty() || method == "POST") {
    m +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return m + "\r\n" + body;
}

RawAnswer raw_exchange(const std::string& ip, int port, const std::string& request,
                       milliseconds timeout) {
  const auto start = Clock::now();
  int err = 0;
  const int fd = connect_to(ip, port, err);
  if (fd < 0) {
    RawAnswer a;
    a.outcome = err == ECONNREFUSED ? RawAnswer::Outcome::kRefused : RawAnswer::Outcome::kError;
    return a;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string buf;
  RawAnswer a = read_one(fd, buf, start + timeout, start);
  ::close(fd);
  return a;
}

RawAnswer request(const std::string& ip, int port, const std::string& method,
                  const std::string& path, const std::string& body, const std::string& api_key,
                  const std::string& bearer, milliseconds timeout) {
  return raw_exchange(ip, port, http_message(method, path, body, api_key, bearer), timeout);
}

bool refuses(const std::string& ip, int port) {
  int err = 0;
  const int fd = connect_to(ip, port, err);
  if (fd >= 0) ::close(fd);
  return fd < 0 && err == ECONNREFUSED;
}

RawConnection::RawConnection(const std::string& ip, int port, const std::string& source_ip) {
  int err = 0;
  fd_ = connect_to(ip, port, err, source_ip);
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void RawConnection::send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

RawAnswer RawConnection::read_answer(milliseconds timeout) {
  const auto start = Clock::now();
  return read_one(fd_, buffer_, start + timeout, start);
}

bool RawConnection::closed_by_peer(milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char c;
  return ::recv(fd_, &c, 1, MSG_PEEK) == 0;
}

}  // namespace fleet::test
