#include "chip_store.h"

#include <pqxx/pqxx>

namespace fleet::telemetry {

namespace {

using asic::CopyField;
using asic::field;
using asic::int_array;
using asic::null_field;

const std::vector<std::string> kColumns = {
    "worker_id",   "observed_at", "chain_id",       "state",        "failure_message",
    "hr_realtime", "hr_nominal",  "chain_freq_mhz", "chip_count",   "chip_id_first",
    "chip_ids",    "hr",          "temp_dc",        "freq_mhz",     "volt_mv",
    "errs",        "red_pos",     "orange_pos",     "throttled_pos"};

CopyField text_or_null(const std::string& s) {
  return s.empty() ? null_field() : field(s);
}

// bytea in its text input form: \x followed by hex digits (the COPY stream escapes the backslash).
CopyField bytea(const std::string& bytes) {
  if (bytes.empty()) return null_field();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return {std::move(out), false};
}

}  // namespace

ChipRow chip_row(std::int64_t worker_id, std::chrono::system_clock::time_point observed_at,
                 const EncodedChain& c) {
  return {field(worker_id),
          asic::timestamp_field(observed_at),
          field(c.chain_id),
          text_or_null(c.state),
          text_or_null(c.failure_message),
          field(c.hr_realtime),
          field(c.hr_nominal),
          field(c.chain_freq_mhz),
          field(c.chip_count),
          field(c.chip_id_first),
          int_array(c.chip_ids, true),
          bytea(c.hr),
          bytea(c.temp_dc),
          bytea(c.freq_mhz),
          bytea(c.volt_mv),
          bytea(c.errs),
          int_array(c.red_pos, true),
          int_array(c.orange_pos, true),
          int_array(c.throttled_pos, true)};
}

TelemetryCounts store_telemetry_batch(pqxx::transaction_base& tx, const TelemetryBatch& batch,
                                      const std::string& owner, bool readings) {
  TelemetryCounts counts;
  if (!batch.rows.empty()) {
    pqxx::stream_to stream(tx, "chip_telemetry", kColumns);
    for (const auto& row : batch.rows) {
      stream << row;
      counts.chips += std::stoll(row[8].text);
    }
    stream.complete();
    counts.chains = static_cast<std::int64_t>(batch.rows.size());
  }
  if (!batch.metrics.empty()) {
    counts.metrics = static_cast<std::int64_t>(asic::write_metrics(tx, batch.metrics, readings));
  }
  asic::record_outcomes(tx, asic::ClaimKind::kTelemetry, owner, batch.outcomes);
  return counts;
}

}  // namespace fleet::telemetry
