// The metrics a rule may name (table metric_catalogue): their type, unit and which kinds of worker
// report them. A condition is checked against it when a rule is saved and again when it is loaded.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fleet::rules {

enum class ValueType {
  kNumber,  // a double (metrics_latest.value)
  kState,   // a word from MetricInfo::states (metrics_latest.json_value as a JSON string)
};

enum class MetricSource {
  kMetrics,  // metrics_latest / readings
  kWorker,   // computed from the workers row (worker_status, last_seen_age); never stale
};

struct MetricInfo {
  std::string name;
  ValueType type = ValueType::kNumber;
  std::string unit;
  std::string description;
  std::vector<std::string> kinds;   // asic, rig, node, device
  std::vector<std::string> states;  // kState only: the allowed values
  MetricSource source = MetricSource::kMetrics;

  bool reported_by(std::string_view kind) const;
  bool has_state(std::string_view state) const;
};

class MetricCatalogue {
 public:
  // Adds or replaces a metric.
  void add(MetricInfo metric);
  // nullptr when unknown.
  const MetricInfo* find(std::string_view name) const;
  std::vector<std::string> names() const;
  const std::vector<MetricInfo>& metrics() const { return metrics_; }
  bool empty() const { return metrics_.empty(); }

 private:
  std::vector<MetricInfo> metrics_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace fleet::rules
