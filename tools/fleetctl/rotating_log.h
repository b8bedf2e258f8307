// A log file that rotates by size: <path> → <path>.1 → ... → <path>.<max_files>, oldest dropped.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace fleet::cli {

class RotatingLog {
 public:
  RotatingLog(std::string path, std::size_t max_bytes, int max_files);
  ~RotatingLog();
  RotatingLog(const RotatingLog&) = delete;
  RotatingLog& operator=(const RotatingLog&) = delete;

  // Appends and flushes. Rotates first when the file would grow past max_bytes (a single write
  // larger than that goes into a fresh file on its own).
  void write(std::string_view data);
  const std::string& path() const { return path_; }

 private:
  void open();
  void rotate();

  std::string path_;
  std::size_t max_bytes_;
  int max_files_;
  std::FILE* file_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace fleet::cli
