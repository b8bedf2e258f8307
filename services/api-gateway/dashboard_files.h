// The dashboard's static files (services/api-gateway/dashboard/), compiled into the binary so a
// farm without internet access needs nothing else (cmake/EmbedFiles.cmake).
#pragma once

#include <cstddef>
#include <string>

namespace fleet::gateway {

struct DashboardFile {
  const char* name;
  const char* data;
  std::size_t size;
  const char* content_type;
};

// nullptr when there is no such file.
const DashboardFile* find_dashboard_file(const std::string& name);

}  // namespace fleet::gateway
