#include "rules/catalogue.h"

#include <algorithm>

namespace fleet::rules {

bool MetricInfo::reported_by(std::string_view kind) const {
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

bool MetricInfo::has_state(std::string_view state) const {
  return std::find(states.begin(), states.end(), state) != states.end();
}

void MetricCatalogue::add(MetricInfo metric) {
  if (auto it = index_.find(metric.name); it != index_.end()) {
    metrics_[it->second] = std::move(metric);
    return;
  }
  index_.emplace(metric.name, metrics_.size());
  metrics_.push_back(std::move(metric));
}

const MetricInfo* MetricCatalogue::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &metrics_[it->second];
}

std::vector<std::string> MetricCatalogue::names() const {
  std::vector<std::string> out;
  out.reserve(metrics_.size());
  for (const auto& m : metrics_)
    out.push_back(m.name);
  return out;
}

}  // namespace fleet::rules
