#include "status_store.h"

#include <array>
#include <cmath>

#include <pqxx/pqxx>

#include "asic/copy_rows.h"
#include "asic/metric_rows.h"
#include "status_metrics.h"

namespace fleet::poller {

namespace {

using asic::CopyField;
using asic::field;
using asic::null_field;

// Ids are taken up front so fans, chains and miners.latest_status_id can point at the statuses
// in the same COPY-based batch.
constexpr const char* kTakeIds = "SELECT nextval('statuses_id_seq') FROM generate_series(1, $1)";

const std::vector<std::string> kStatusColumns = {"id",
                                                 "worker_id",
                                                 "observed_at",
                                                 "miner_state",
                                                 "miner_state_time_s",
                                                 "state_description",
                                                 "failure_code",
                                                 "miner_type",
                                                 "hashrate_ths",
                                                 "hashrate_avg_ths",
                                                 "hashrate_nominal_ths",
                                                 "hashrate_ratio",
                                                 "power_w",
                                                 "efficiency_jth",
                                                 "chip_temp_min",
                                                 "chip_temp_max",
                                                 "pcb_temp_min",
                                                 "pcb_temp_max",
                                                 "fan_rpm_min",
                                                 "fan_duty",
                                                 "hw_errors",
                                                 "hw_errors_percent",
                                                 "chips_red",
                                                 "chips_orange",
                                                 "chips_grey",
                                                 "chains_failed",
                                                 "pool_url",
                                                 "pool_user",
                                                 "pool_status",
                                                 "pool_accepted",
                                                 "pool_rejected",
                                                 "uptime"};

const std::vector<std::string> kFanColumns = {"status_id", "worker_id", "observed_at", "fan_id",
                                              "rpm",       "max_rpm",   "status"};

const std::vector<std::string> kChainColumns = {
    "status_id",          "worker_id",           "observed_at", "chain_id",     "state",
    "description",        "frequency_mhz",       "voltage_mv",  "power_w",      "hashrate_ths",
    "hashrate_ideal_ths", "hashrate_percentage", "hw_errors",   "pcb_temp_min", "pcb_temp_max",
    "chip_temp_min",      "chip_temp_max",       "chips_red",   "chips_orange", "chips_grey"};

CopyField voltage(const std::optional<double>& mv) {
  return mv ? field(static_cast<std::int64_t>(std::llround(*mv))) : null_field();
}

CopyField text_or_null(const std::string& s) {
  return s.empty() ? null_field() : field(s);
}

template <class T>
CopyField opt(const std::optional<T>& v) {
  return v ? field(static_cast<std::conditional_t<std::is_integral_v<T>, std::int64_t, double>>(*v))
           : null_field();
}

std::array<CopyField, 32> status_row(std::int64_t id, const PolledStatus& p) {
  const auto& s = p.summary;
  const firmware::PoolReading* pool = s.active_pool();
  return {field(id),
          field(p.worker_id),
          asic::timestamp_field(p.observed_at),
          text_or_null(s.miner_state),
          opt(s.miner_state_time_s),
          text_or_null(s.state_description),
          opt(s.failure_code),
          text_or_null(s.miner_type),
          opt(s.hashrate_ths),
          opt(s.hashrate_avg_ths),
          opt(s.hashrate_nominal_ths),
          opt(s.hashrate_ratio()),
          opt(s.power_w),
          opt(s.efficiency_jth),
          opt(s.chip_temp.min),
          opt(s.chip_temp.max),
          opt(s.pcb_temp.min),
          opt(s.pcb_temp.max),
          opt(s.fan_rpm_min()),
          opt(s.fan_duty),
          opt(s.hw_errors),
          opt(s.hw_errors_percent),
          opt(s.chips_red()),
          opt(s.chips_orange()),
          opt(s.chips_grey()),
          s.has_miner ? field(chains_failed(s)) : null_field(),
          pool ? text_or_null(pool->url) : null_field(),
          pool ? text_or_null(pool->user) : null_field(),
          pool ? text_or_null(pool->status) : null_field(),
          pool ? opt(pool->accepted) : null_field(),
          pool ? opt(pool->rejected) : null_field(),
          s.uptime ? field(*s.uptime) : null_field()};
}

}  // namespace

StoreCounts store_status_batch(pqxx::transaction_base& tx, StatusBatch& batch,
                               const std::string& owner, bool readings) {
  StoreCounts counts;
  std::vector<std::int64_t> ids;
  if (!batch.statuses.empty()) {
    ids.reserve(batch.statuses.size());
    for (const auto& row :
         tx.exec_params(kTakeIds, static_cast<long long>(batch.statuses.size()))) {
      ids.push_back(row[0].as<std::int64_t>());
    }
    {
      pqxx::stream_to stream(tx, "statuses", kStatusColumns);
      for (size_t i = 0; i < batch.statuses.size(); ++i) {
        stream << status_row(ids[i], batch.statuses[i]);
      }
      stream.complete();
    }
    {
      pqxx::stream_to stream(tx, "status_fans", kFanColumns);
      for (size_t i = 0; i < batch.statuses.size(); ++i) {
        const auto& p = batch.statuses[i];
        for (const auto& fan : p.summary.fans) {
          stream << std::array<CopyField, 7>{
              field(ids[i]),           field(p.worker_id), asic::timestamp_field(p.observed_at),
              field(fan.id),           opt(fan.rpm),       opt(fan.max_rpm),
              text_or_null(fan.status)};
          ++counts.fans;
        }
      }
      stream.complete();
    }
    {
      pqxx::stream_to stream(tx, "chain_snapshots", kChainColumns);
      for (size_t i = 0; i < batch.statuses.size(); ++i) {
        const auto& p = batch.statuses[i];
        for (const auto& c : p.summary.chains) {
          stream << std::array<CopyField, 20>{
              field(ids[i]),        field(p.worker_id),        asic::timestamp_field(p.observed_at),
              field(c.id),          text_or_null(c.state),     text_or_null(c.description),
              opt(c.frequency_mhz), voltage(c.voltage_mv),     opt(c.power_w),
              opt(c.hashrate_ths),  opt(c.hashrate_ideal_ths), opt(c.hashrate_percentage),
              opt(c.hw_errors),     opt(c.pcb_temp.min),       opt(c.pcb_temp.max),
              opt(c.chip_temp.min), opt(c.chip_temp.max),      opt(c.chips_red),
              opt(c.chips_orange),  opt(c.chips_grey)};
          ++counts.chains;
        }
      }
      stream.complete();
    }
    std::vector<asic::MetricSample> samples;
    samples.reserve(batch.statuses.size() * 16);
    for (size_t i = 0; i < batch.statuses.size(); ++i) {
      const auto& p = batch.statuses[i];
      auto m = status_metrics(p.worker_id, p.observed_at, p.summary);
      for (auto& sample : m)
        sample.history = p.history;
      samples.insert(samples.end(), std::make_move_iterator(m.begin()),
                     std::make_move_iterator(m.end()));
      batch.outcomes.at(p.outcome).status_id = ids[i];
    }
    counts.metrics = static_cast<std::int64_t>(asic::write_metrics(tx, samples, readings));
    counts.statuses = static_cast<std::int64_t>(batch.statuses.size());
  }
  asic::record_outcomes(tx, asic::ClaimKind::kStatusPoll, owner, batch.outcomes);
  return counts;
}

}  // namespace fleet::poller
