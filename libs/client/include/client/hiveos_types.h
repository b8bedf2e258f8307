// HiveOS accounts as the client returns them (docs/hiveos.md). The token is never returned:
// token_hint is its last four characters. `raw` keeps the server's JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fleet::client {

struct HiveosAccount {
  std::int64_t id = 0;
  std::string name;
  std::string base_url;
  std::string token_hint;
  bool enabled = true;
  bool exec_enabled = false;
  double requests_per_minute = 20;
  std::int64_t burst = 5;
  std::string state;  // pending | ok | failing
  std::string state_reason;
  std::optional<std::string> last_sync_at;
  std::int64_t farms = 0;
  std::int64_t workers = 0;
  std::string raw;
};

// A new account (name, base_url, token required) or a change (only the fields set are sent).
// exec_enabled is for admins, and only on a change.
struct HiveosAccountDraft {
  std::optional<std::string> name;
  std::optional<std::string> base_url;
  std::optional<std::string> token;
  std::optional<double> requests_per_minute;
  std::optional<std::int64_t> burst;
  std::optional<bool> enabled;
  std::optional<bool> exec_enabled;
};

}  // namespace fleet::client
