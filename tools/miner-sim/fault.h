// Fault injection: what can go wrong with a simulated miner, how a fault is written on the command
// line ("<selector>:<kind>[=<arg>][@<path>]") and which miners a selector picks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fleet::minersim {

enum class FaultKind {
  kSlow,        // delay every response by arg ms
  kReset,       // close the connection with a TCP RST instead of answering
  kTimeout,     // accept and read the request, never answer
  kGarbage,     // 200 with a non-JSON body
  kTruncated,   // 200 with the JSON cut after arg % of its bytes (Content-Length matches the cut)
  kHuge,        // 200 with valid JSON padded to arg bytes
  kDeep,        // 200 with arg levels of nested arrays
  kWrongTypes,  // 200 with numbers as strings, arrays as objects, objects as arrays...
  kRevokedKey,  // event: every stored API key is forgotten (x-api-key -> 401 until re-provisioned)
  kOffline,     // stop listening: connections are refused
  kFailingChain,  // chain arg fails: state "failure", every chip red, no hashrate
  kReboot,  // event: offline for arg seconds (default --reboot-seconds), then back, uptime reset
  // Additions beyond the shared contract:
  kFailure,      // miner_state "failure" (the real "Failed to parse miner configuration" payload)
  kCutTransfer,  // 200 announcing the full Content-Length, connection closed after half the body
  kFanLost,      // fan arg reports rpm 0, status "lost"
  kNoMiner,      // failed to start mining: /summary answers {"miner": null}, /status the failure
};

struct Fault {
  FaultKind kind = FaultKind::kSlow;
  int64_t arg = 0;   // meaning per kind; defaults filled in by parse_fault / with_default_arg
  std::string path;  // "" = every endpoint; else only requests to this path (e.g. /api/v1/summary)

  bool operator==(const Fault&) const = default;
};

std::string_view to_string(FaultKind kind);
Result<FaultKind> parse_fault_kind(std::string_view name);
// All kind names, for help texts and error messages.
std::vector<std::string> fault_kind_names();

// True for faults that happen once when applied (revoked_key, reboot) and are not kept in the
// miner's fault list.
bool is_event(FaultKind kind);
// True for faults that change the body of a successful answer.
bool is_body_fault(FaultKind kind);

// Fills in the default argument of `kind` when `arg` is absent and range-checks a given one.
// `reboot_seconds` is the default for reboot. Errors name the kind and the allowed range.
Result<Fault> make_fault(FaultKind kind, std::optional<int64_t> arg, std::string path,
                         int64_t reboot_seconds);

// "<kind>[=<arg>][@<path>]", e.g. "slow=2000", "failing_chain=2", "garbage@/api/v1/summary".
Result<Fault> parse_fault(std::string_view text, int64_t reboot_seconds);

// The inverse of parse_fault, e.g. "slow=2000" (argument-less kinds print no "=<arg>").
std::string describe(const Fault& fault);

// Which miners a fault applies to: one index ("5"), a range ("10-19"), a share ("10%", chosen
// deterministically from the seed), "all", or a comma-separated list of those.
struct Selector {
  struct Part {
    enum class Type { kIndex, kRange, kShare, kAll } type = Type::kIndex;
    int64_t first = 0;
    int64_t last = 0;
    double percent = 0;
  };
  std::vector<Part> parts;
  std::string text;
};
Result<Selector> parse_selector(std::string_view text);

// The sorted, distinct miner indices `selector` picks among `count` miners. A share picks
// round(count * percent / 100) miners ranked by a hash of (seed, index, salt); callers pass the
// fault kind as salt so that "10%:timeout" and "10%:garbage" hit mostly different miners.
// Error when an index or range lies outside [0, count).
Result<std::vector<int>> resolve(const Selector& selector, int count, uint64_t seed, uint64_t salt);

// A command-line --fault value: "<selector>:<fault>".
struct FaultSpec {
  Selector selector;
  Fault fault;
};
Result<FaultSpec> parse_fault_spec(std::string_view text, int64_t reboot_seconds);

}  // namespace fleet::minersim
