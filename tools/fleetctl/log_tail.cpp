#include "log_tail.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

namespace fleet::cli {

std::vector<std::string> last_lines(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in || n == 0) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  std::string tail;
  std::streamoff pos = size;
  const std::streamoff block = 64 * 1024;
  // Read backwards until n + 1 newlines are seen (one may end the file).
  while (pos > 0 && static_cast<size_t>(std::count(tail.begin(), tail.end(), '\n')) <= n) {
    std::streamoff step = std::min(block, pos);
    pos -= step;
    std::string chunk(static_cast<size_t>(step), '\0');
    in.seekg(pos);
    in.read(chunk.data(), step);
    tail = chunk + tail;
  }
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < tail.size()) {
    size_t nl = tail.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(tail.substr(start));
      break;
    }
    lines.push_back(tail.substr(start, nl - start));
    start = nl + 1;
  }
  // The first line may be partial when we stopped mid-file.
  if (pos > 0 && !lines.empty()) lines.erase(lines.begin());
  if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(n));
  return lines;
}

std::vector<std::string> log_files(const std::string& dir,
                                   const std::vector<std::string>& services) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".log") continue;
    const std::string stem = entry.path().stem().string();
    if (!services.empty() && std::find(services.begin(), services.end(), stem) == services.end()) {
      continue;
    }
    out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Follower::Follower(std::vector<std::string> paths) {
  for (auto& p : paths) {
    File f;
    f.path = std::move(p);
    struct stat st {};
    if (::stat(f.path.c_str(), &st) == 0) {
      f.inode = st.st_ino;
      f.offset = static_cast<std::uint64_t>(st.st_size);
    }
    files_.push_back(std::move(f));
  }
}

size_t Follower::poll(const std::function<void(const std::string&, const std::string&)>& on_line) {
  size_t delivered = 0;
  for (auto& f : files_) {
    struct stat st {};
    if (::stat(f.path.c_str(), &st) != 0) continue;  // rotated away; wait for the new file
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (st.st_ino != f.inode || size < f.offset) {  // replaced or truncated: start over
      f.inode = st.st_ino;
      f.offset = 0;
      f.partial.clear();
    }
    if (size == f.offset) continue;
    std::ifstream in(f.path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(f.offset));
    std::string chunk(size - f.offset, '\0');
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    chunk.resize(static_cast<size_t>(in.gcount()));
    f.offset += chunk.size();
    f.partial += chunk;
    size_t start = 0;
    for (size_t nl; (nl = f.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      on_line(f.path, f.partial.substr(start, nl - start));
      ++delivered;
    }
    f.partial.erase(0, start);
  }
  return delivered;
}

void Follower::run(std::stop_token stop, int poll_ms,
                   const std::function<void(const std::string&, const std::string&)>& on_line) {
  while (!stop.stop_requested()) {
    poll(on_line);
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
}

}  // namespace fleet::cli
