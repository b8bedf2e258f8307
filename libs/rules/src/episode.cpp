#include "rules/episode.h"

namespace fleet::rules {

std::string_view to_string(EpisodeKind kind) {
  return kind == EpisodeKind::kNoData ? "no_data" : "condition";
}

std::string_view to_string(EpisodeState state) {
  switch (state) {
    case EpisodeState::kPending:
      return "pending";
    case EpisodeState::kFiring:
      return "firing";
    case EpisodeState::kResolved:
      return "resolved";
  }
  return "";
}

std::string_view to_string(Resolution resolution) {
  switch (resolution) {
    case Resolution::kCleared:
      return "cleared";
    case Resolution::kCancelled:
      return "cancelled";
    case Resolution::kNoData:
      return "no_data";
    case Resolution::kDataReturned:
      return "data_returned";
    case Resolution::kRuleDisabled:
      return "rule_disabled";
    case Resolution::kOutOfScope:
      return "out_of_scope";
  }
  return "";
}

std::optional<EpisodeKind> episode_kind_from(std::string_view text) {
  if (text == "condition") return EpisodeKind::kCondition;
  if (text == "no_data") return EpisodeKind::kNoData;
  return std::nullopt;
}

std::optional<EpisodeState> episode_state_from(std::string_view text) {
  if (text == "pending") return EpisodeState::kPending;
  if (text == "firing") return EpisodeState::kFiring;
  if (text == "resolved") return EpisodeState::kResolved;
  return std::nullopt;
}

std::optional<Resolution> resolution_from(std::string_view text) {
  for (Resolution r :
       {Resolution::kCleared, Resolution::kCancelled, Resolution::kNoData,
        Resolution::kDataReturned, Resolution::kRuleDisabled, Resolution::kOutOfScope}) {
    if (to_string(r) == text) return r;
  }
  return std::nullopt;
}

Episode end_episode(Episode episode, Resolution resolution, Time now) {
  episode.state = EpisodeState::kResolved;
  episode.resolved_at = now;
  episode.resolution = resolution;
  return episode;
}

namespace {

// The decisions for a pair with no open episode.
void open_if_due(Advance& out, const Observation& obs, const Timing& timing, Time now,
                 std::int64_t rule_id, std::int64_t worker_id, Severity severity) {
  Episode e;
  e.rule_id = rule_id;
  e.worker_id = worker_id;
  e.severity = severity;
  e.started_at = now;
  if (obs.condition == Truth::kTrue) {
    e.kind = EpisodeKind::kCondition;
    if (timing.for_duration.count() == 0) {
      e.state = EpisodeState::kFiring;
      e.fired_at = now;
      out.fired = true;
    } else {
      e.state = EpisodeState::kPending;
    }
  } else if (obs.condition == Truth::kNoData && timing.no_data == NoDataPolicy::kAlert &&
             obs.worker_up) {
    e.kind = EpisodeKind::kNoData;
    e.state = EpisodeState::kFiring;
    e.fired_at = now;
    out.fired = true;
  } else {
    return;
  }
  out.open = std::move(e);
  out.open_changed = true;
}

}  // namespace

Advance advance(const std::optional<Episode>& current, const Observation& obs, const Timing& timing,
                Time now, std::int64_t rule_id, std::int64_t worker_id, Severity severity) {
  Advance out;
  if (!current) {
    open_if_due(out, obs, timing, now, rule_id, worker_id, severity);
    return out;
  }
  Episode e = *current;
  if (e.kind == EpisodeKind::kNoData) {
    if (obs.condition == Truth::kNoData) {
      out.open = std::move(e);
      return out;
    }
    out.ended = end_episode(std::move(e), Resolution::kDataReturned, now);
    open_if_due(out, obs, timing, now, rule_id, worker_id, severity);
    return out;
  }
  if (e.state == EpisodeState::kPending) {
    if (obs.condition == Truth::kTrue) {
      if (now - e.started_at >= timing.for_duration) {
        e.state = EpisodeState::kFiring;
        e.fired_at = now;
        out.fired = true;
        out.open_changed = true;
      }
      out.open = std::move(e);
      return out;
    }
    const bool no_data = obs.condition == Truth::kNoData;
    out.ended =
        end_episode(std::move(e), no_data ? Resolution::kNoData : Resolution::kCancelled, now);
    if (no_data) open_if_due(out, obs, timing, now, rule_id, worker_id, severity);
    return out;
  }
  // Firing.
  const bool cleared =
      timing.has_clear ? obs.clear == Truth::kTrue : obs.condition == Truth::kFalse;
  const bool no_data = timing.has_clear
                           ? obs.clear == Truth::kNoData && obs.condition == Truth::kNoData
                           : obs.condition == Truth::kNoData;
  if (!cleared && !no_data) {
    if (e.clearing_since) {
      e.clearing_since.reset();
      out.open_changed = true;
    }
    out.open = std::move(e);
    return out;
  }
  const bool held = timing.keep_firing_for.count() == 0 ||
                    (e.clearing_since && now - *e.clearing_since >= timing.keep_firing_for);
  if (!held) {
    if (!e.clearing_since) {
      e.clearing_since = now;
      out.open_changed = true;
    }
    out.open = std::move(e);
    return out;
  }
  out.ended = end_episode(std::move(e), cleared ? Resolution::kCleared : Resolution::kNoData, now);
  if (no_data) open_if_due(out, obs, timing, now, rule_id, worker_id, severity);
  return out;
}

std::optional<int> due_step(const Episode& episode, const std::vector<EscalationStep>& ladder,
                            Time now) {
  if (episode.state != EpisodeState::kFiring || !episode.fired_at) return std::nullopt;
  const auto i = static_cast<std::size_t>(episode.next_step);
  if (i >= ladder.size()) return std::nullopt;
  if (now - *episode.fired_at < ladder[i].after) return std::nullopt;
  if (i > 0 && episode.last_step_at) {
    const auto gap = ladder[i].after - ladder[i - 1].after;
    if (now - *episode.last_step_at < gap) return std::nullopt;
  }
  return static_cast<int>(i);
}

}  // namespace fleet::rules
