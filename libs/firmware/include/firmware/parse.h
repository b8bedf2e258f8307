// Payload mappers: firmware response bodies -> typed structs (firmware/payloads.h).
//
// Every body is untrusted. Before any parser sees it, its size and nesting depth are checked
// against PayloadLimits (the JSON parser recurses, so a deeply nested body must never reach it).
// A body that is not JSON, is too big or too deep, or lacks what the payload cannot do without
// (e.g. /info without fw_name) fails with ErrorKind::kDataLoss: a permanent failure for this
// response, counted and reported, never retried at once.
//
// Fields are tolerant: unknown fields are ignored; optional fields that are missing, of the wrong
// type or out of range become std::nullopt and are listed in `issues` (so the caller can count
// them) without failing the payload. Older firmware (1.2.0-beta: deprecated fields only) and newer
// firmware (1.2.6: hr_* and power_consumption) map to the same struct.
//
// Pure functions, thread-safe, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "firmware/payloads.h"

namespace fleet::firmware {

struct PayloadLimits {
  std::size_t max_bytes = 1 << 20;  // 1 MiB: /chains of a 3 x 126-chip miner is ~45 KiB
  int max_depth = 16;               // the deepest real payload (/model topology) nests 5 levels
};

// Checks size and nesting depth without parsing (one pass over the bytes, strings skipped).
// kDataLoss naming the limit when either is exceeded.
Status check_limits(std::string_view body, const PayloadLimits& limits);

// Problems with single fields that did not fail the payload, e.g. "miner.chains[1].voltage:
// expected a number". Capped at a few dozen entries.
using FieldIssues = std::vector<std::string>;

// The unit of /summary and /chains hashrates. /summary values are converted to TH/s with it.
enum class HashMeasure { kGhs, kMhs };
// "GH/s" -> kGhs, "MH/s" -> kMhs; anything else (incl. "") -> kGhs.
HashMeasure hash_measure_of(std::string_view hr_measure);

Result<InfoPayload> parse_info(std::string_view body, const PayloadLimits& limits,
                               FieldIssues* issues = nullptr);
Result<ModelPayload> parse_model(std::string_view body, const PayloadLimits& limits,
                                 FieldIssues* issues = nullptr);
// Accepts the bare array and the object-wrapped {"presets": [...]} shape.
Result<std::vector<Preset>> parse_presets(std::string_view body, const PayloadLimits& limits,
                                          FieldIssues* issues = nullptr);
Result<SummaryPayload> parse_summary(std::string_view body, HashMeasure measure,
                                     const PayloadLimits& limits, FieldIssues* issues = nullptr);
// Streams the body (SAX): no document tree is built, so 10,000 miners' chips parse quickly.
Result<ChainsPayload> parse_chains(std::string_view body, const PayloadLimits& limits,
                                   FieldIssues* issues = nullptr);
Result<StatusPane> parse_status(std::string_view body, const PayloadLimits& limits,
                                FieldIssues* issues = nullptr);
Result<PerfSummary> parse_perf_summary(std::string_view body, const PayloadLimits& limits,
                                       FieldIssues* issues = nullptr);
Result<std::vector<ApiKeyEntry>> parse_api_keys(std::string_view body, const PayloadLimits& limits);
// POST /unlock answer: the token (opaque; a JWT on some versions).
Result<std::string> parse_unlock(std::string_view body, const PayloadLimits& limits);
// POST /apikeys answer: "inserted" | "updated" | "nochanges".
Result<std::string> parse_add_key_status(std::string_view body, const PayloadLimits& limits);
Result<SaveConfigResult> parse_save_config(std::string_view body, const PayloadLimits& limits);
Result<SettingsView> parse_settings(std::string_view body, const PayloadLimits& limits);
// POST /find-miner answer: whether the locate LED is now on (the firmware may answer null).
Result<std::optional<bool>> parse_find_miner(std::string_view body, const PayloadLimits& limits);
// POST /system/reboot answer: seconds until the reboot ("after"), if given.
Result<std::optional<std::int64_t>> parse_reboot(std::string_view body,
                                                 const PayloadLimits& limits);
// The "err" text of a firmware error body ({"err": "..."}), or "" when there is none.
std::string error_text(std::string_view body);

// Normalises a MAC address to lower-case colon form; nullopt unless it is six hex pairs
// separated by ':' or '-'.
std::optional<std::string> normalize_mac(std::string_view text);

}  // namespace fleet::firmware
