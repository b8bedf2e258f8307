// An alert episode (one row of `alerts`) and how one evaluation moves it: the state machine of
// DESIGN §4, as a pure function of the previous episode, what was observed and the time.
//
//   (none) --condition true--> pending --held for `for`--> firing --clear held keep_firing_for-->
//   resolved
//          \--condition true, for = 0 ------------------> firing
//   pending --condition false or no data--> resolved (cancelled / no_data; it never fired)
//   firing: clear = the clear condition holds (default: the condition is false); no data counts as
//           clearing too, and resolves as `no_data` (a stale metric is never a breach).
//   (none) --no data, rule asks for no-data alerts, worker up--> firing (kind no_data)
//   no_data firing --data returns--> resolved (data_returned), then the condition is judged afresh.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rules/evaluator.h"
#include "rules/rule.h"

namespace fleet::rules {

using Time = std::chrono::sys_time<std::chrono::milliseconds>;

enum class EpisodeKind { kCondition, kNoData };
enum class EpisodeState { kPending, kFiring, kResolved };
enum class Resolution { kCleared, kCancelled, kNoData, kDataReturned, kRuleDisabled, kOutOfScope };

std::string_view to_string(EpisodeKind kind);
std::string_view to_string(EpisodeState state);
std::string_view to_string(Resolution resolution);
std::optional<EpisodeKind> episode_kind_from(std::string_view text);
std::optional<EpisodeState> episode_state_from(std::string_view text);
std::optional<Resolution> resolution_from(std::string_view text);

struct Episode {
  std::int64_t id = 0;  // 0 until written
  std::int64_t rule_id = 0;
  std::int64_t worker_id = 0;
  EpisodeKind kind = EpisodeKind::kCondition;
  EpisodeState state = EpisodeState::kPending;
  Severity severity = Severity::kWarning;
  Time started_at{};
  std::optional<Time> fired_at;
  std::optional<Time> clearing_since;
  std::optional<Time> resolved_at;
  std::optional<Resolution> resolution;
  std::optional<double> value;             // when it fired (simple conditions)
  std::optional<double> resolution_value;  // when it resolved
  std::string observed_json;               // terms when it fired, "" = none
  int next_step = 0;                       // escalation ladder position
  std::optional<Time> last_step_at;
  std::optional<Time> notified_at;
  std::optional<std::string> suppressed_by;
  int revision = 0;  // as read from the database

  bool open() const { return state != EpisodeState::kResolved; }
};

// What one evaluation of a rule × worker pair saw.
struct Observation {
  Truth condition = Truth::kNoData;
  Truth clear = Truth::kNoData;  // the clear condition; only read when Timing::has_clear
  bool worker_up = true;         // no-data episodes are only opened for workers that are up
};

struct Timing {
  std::chrono::milliseconds for_duration{0};
  std::chrono::milliseconds keep_firing_for{0};
  bool has_clear = false;
  NoDataPolicy no_data = NoDataPolicy::kIgnore;
};

struct Advance {
  std::optional<Episode> ended;  // the episode that ended now (its final row)
  std::optional<Episode> open;   // the open episode after this evaluation
  bool open_changed = false;     // `open` is new or differs from the one passed in
  bool fired = false;            // `open` started firing now
};

// REQUIRES: `current`, when set, is open and belongs to (rule_id, worker_id).
Advance advance(const std::optional<Episode>& current, const Observation& observation,
                const Timing& timing, Time now, std::int64_t rule_id, std::int64_t worker_id,
                Severity severity);

// Ends an open episode for a reason outside its condition (rule disabled, out of scope).
Episode end_episode(Episode episode, Resolution resolution, Time now);

// Escalation: the ladder step due now for a firing episode, if any. Step i is due once the
// episode has fired for steps[i].after and, after a hold (a silence), once the gap between
// steps i-1 and i has passed since the previous step was taken.
std::optional<int> due_step(const Episode& episode, const std::vector<EscalationStep>& ladder,
                            Time now);

}  // namespace fleet::rules
