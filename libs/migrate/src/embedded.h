// The SQL files of sql/, compiled in by cmake/EmbedFiles.cmake.
#pragma once

#include <cstddef>

namespace fleet::migrate::detail {

struct EmbeddedFile {
  const char* name;
  const char* sql;
};

extern const EmbeddedFile kEmbeddedFiles[];
extern const std::size_t kEmbeddedCount;

}  // namespace fleet::migrate::detail
