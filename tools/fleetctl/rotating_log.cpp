#include "rotating_log.h"

#include <filesystem>

namespace fleet::cli {

RotatingLog::RotatingLog(std::string path, std::size_t max_bytes, int max_files)
    : path_(std::move(path)), max_bytes_(max_bytes), max_files_(max_files) {
  open();
}

RotatingLog::~RotatingLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void RotatingLog::open() {
  file_ = std::fopen(path_.c_str(), "ab");
  std::error_code ec;
  size_ = file_ != nullptr ? static_cast<std::size_t>(std::filesystem::file_size(path_, ec)) : 0;
}

void RotatingLog::rotate() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  if (max_files_ <= 0) {
    std::filesystem::remove(path_, ec);
  } else {
    std::filesystem::remove(path_ + "." + std::to_string(max_files_), ec);
    for (int i = max_files_ - 1; i >= 1; --i) {
      std::filesystem::rename(path_ + "." + std::to_string(i), path_ + "." + std::to_string(i + 1),
                              ec);
    }
    std::filesystem::rename(path_, path_ + ".1", ec);
  }
  open();
}

void RotatingLog::write(std::string_view data) {
  if (size_ > 0 && size_ + data.size() > max_bytes_) rotate();
  if (file_ == nullptr) return;
  std::fwrite(data.data(), 1, data.size(), file_);
  std::fflush(file_);
  size_ += data.size();
}

}  // namespace fleet::cli
