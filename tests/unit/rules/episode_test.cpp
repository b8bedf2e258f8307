// The episode state machine: pending -> firing -> resolved, `for`, hysteresis, keep_firing_for,
// no data, and when escalation steps fall due. Time is passed in, never read.
#include <catch2/catch.hpp>

#include "rules/episode.h"

using namespace fleet::rules;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const Time t0 = Time(std::chrono::milliseconds(1'700'000'000'000));

// Feeds a series of observations, one per `step`, and records what happened.
struct Run {
  Timing timing;
  std::optional<Episode> open;
  std::vector<Episode> ended;
  int fired = 0;
  int writes = 0;

  void feed(Truth condition, Time now, Truth clear = Truth::kNoData, bool up = true) {
    Advance a = advance(open, {condition, clear, up}, timing, now, 1, 2, Severity::kWarning);
    if (a.ended) {
      ended.push_back(*a.ended);
      ++writes;
    }
    if (a.fired) ++fired;
    if (a.open_changed) ++writes;
    open = a.open;
    if (open && open->id == 0) open->id = 100 + writes;  // as if written
  }
};

Truth above(double v, double threshold) {
  return v > threshold ? Truth::kTrue : Truth::kFalse;
}
Truth below(double v, double threshold) {
  return v < threshold ? Truth::kTrue : Truth::kFalse;
}

}  // namespace

TEST_CASE("pending -> firing after `for`, then resolved", "[rules][state]") {
  Run r{.timing = {.for_duration = minutes(2)}};
  r.feed(Truth::kFalse, t0);
  CHECK_FALSE(r.open);
  r.feed(Truth::kTrue, t0 + seconds(30));
  REQUIRE(r.open);
  CHECK(r.open->state == EpisodeState::kPending);
  CHECK(r.open->started_at == t0 + seconds(30));
  r.feed(Truth::kTrue, t0 + seconds(90));
  CHECK(r.open->state == EpisodeState::kPending);  // held 60 s of 120
  r.feed(Truth::kTrue, t0 + seconds(150));
  CHECK(r.open->state == EpisodeState::kFiring);
  CHECK(r.open->fired_at == t0 + seconds(150));
  CHECK(r.fired == 1);
  r.feed(Truth::kTrue, t0 + seconds(180));  // still firing: nothing to write
  CHECK(r.writes == 2);
  r.feed(Truth::kFalse, t0 + seconds(210));
  CHECK_FALSE(r.open);
  REQUIRE(r.ended.size() == 1);
  CHECK(r.ended[0].state == EpisodeState::kResolved);
  CHECK(r.ended[0].resolution == Resolution::kCleared);
  CHECK(r.ended[0].resolved_at == t0 + seconds(210));
  CHECK(r.fired == 1);
}

TEST_CASE("without `for` a true condition fires at once", "[rules][state]") {
  Run r;
  r.feed(Truth::kTrue, t0);
  REQUIRE(r.open);
  CHECK(r.open->state == EpisodeState::kFiring);
  CHECK(r.open->fired_at == t0);
  CHECK(r.open->kind == EpisodeKind::kCondition);
  CHECK(r.fired == 1);
}

TEST_CASE("a pending episode that clears before `for` is cancelled and never fires",
          "[rules][state]") {
  Run r{.timing = {.for_duration = minutes(5)}};
  r.feed(Truth::kTrue, t0);
  r.feed(Truth::kFalse, t0 + minutes(1));
  REQUIRE(r.ended.size() == 1);
  CHECK(r.ended[0].resolution == Resolution::kCancelled);
  CHECK_FALSE(r.ended[0].fired_at);
  // A new breach starts the clock again.
  r.feed(Truth::kTrue, t0 + minutes(2));
  r.feed(Truth::kTrue, t0 + minutes(6));
  CHECK(r.open->state == EpisodeState::kPending);
  r.feed(Truth::kTrue, t0 + minutes(7));
  CHECK(r.open->state == EpisodeState::kFiring);
  CHECK(r.fired == 1);
}

TEST_CASE("hysteresis: a flapping series stays one episode instead of flapping", "[rules][state]") {
  // Fires above 85, clears below 75.
  const double series[] = {70, 86, 80, 84, 76, 86, 80, 74, 80, 84, 86};
  Run with{.timing = {.has_clear = true}};
  Run without;
  Time t = t0;
  int with_fired_at = -1, with_cleared_at = -1;
  for (std::size_t i = 0; i < std::size(series); ++i) {
    t += seconds(30);
    const bool was_open = with.open.has_value();
    with.feed(above(series[i], 85), t, below(series[i], 75));
    without.feed(above(series[i], 85), t);
    if (!was_open && with.open) with_fired_at = static_cast<int>(i);
    if (was_open && !with.open) with_cleared_at = static_cast<int>(i);
  }
  CHECK(with_fired_at == 10);  // the last 86 opened a second episode...
  CHECK(with.fired == 2);      // ...after the first (86 at i=1) cleared at 74 (i=7)
  CHECK(with_cleared_at == 7);
  REQUIRE(with.ended.size() == 1);
  CHECK(with.ended[0].fired_at == t0 + seconds(60));
  CHECK(with.ended[0].resolved_at == t0 + seconds(240));
  // The same series without a clear condition flaps: 3 episodes.
  CHECK(without.fired == 3);
  CHECK(without.ended.size() == 2);
}

TEST_CASE("keep_firing_for holds a firing episode through short clears", "[rules][state]") {
  Run r{.timing = {.keep_firing_for = minutes(5)}};
  r.feed(Truth::kTrue, t0);
  r.feed(Truth::kFalse, t0 + minutes(1));
  REQUIRE(r.open);
  CHECK(r.open->state == EpisodeState::kFiring);
  CHECK(r.open->clearing_since == t0 + minutes(1));
  r.feed(Truth::kTrue, t0 + minutes(3));  // breach again: the clearing clock resets
  CHECK_FALSE(r.open->clearing_since);
  r.feed(Truth::kFalse, t0 + minutes(4));
  r.feed(Truth::kFalse, t0 + minutes(8));
  CHECK(r.open);  // 4 of 5 minutes
  r.feed(Truth::kFalse, t0 + minutes(9));
  CHECK_FALSE(r.open);
  REQUIRE(r.ended.size() == 1);
  CHECK(r.ended[0].resolution == Resolution::kCleared);
  CHECK(r.fired == 1);
}

TEST_CASE("no data never fires, ends what was open, and opens a no-data episode on request",
          "[rules][state]") {
  SECTION("ignored") {
    Run r;
    r.feed(Truth::kNoData, t0);
    CHECK_FALSE(r.open);
    r.feed(Truth::kTrue, t0 + minutes(1));
    r.feed(Truth::kNoData, t0 + minutes(2));
    CHECK_FALSE(r.open);
    REQUIRE(r.ended.size() == 1);
    CHECK(r.ended[0].resolution == Resolution::kNoData);
  }
  SECTION("pending is dropped") {
    Run r{.timing = {.for_duration = minutes(5)}};
    r.feed(Truth::kTrue, t0);
    r.feed(Truth::kNoData, t0 + minutes(1));
    CHECK_FALSE(r.open);
    CHECK(r.ended.at(0).resolution == Resolution::kNoData);
    CHECK(r.fired == 0);
  }
  SECTION("alerted") {
    Run r{.timing = {.no_data = NoDataPolicy::kAlert}};
    r.feed(Truth::kNoData, t0);
    REQUIRE(r.open);
    CHECK(r.open->kind == EpisodeKind::kNoData);
    CHECK(r.open->state == EpisodeState::kFiring);
    r.feed(Truth::kNoData, t0 + minutes(1));  // stays, nothing written
    CHECK(r.writes == 1);
    r.feed(Truth::kTrue, t0 + minutes(2));  // data returns, and it is a breach
    REQUIRE(r.ended.size() == 1);
    CHECK(r.ended[0].resolution == Resolution::kDataReturned);
    REQUIRE(r.open);
    CHECK(r.open->kind == EpisodeKind::kCondition);
    CHECK(r.open->state == EpisodeState::kFiring);
    r.feed(Truth::kNoData, t0 + minutes(3));  // firing -> no data: resolved, no-data opened
    CHECK(r.ended.back().resolution == Resolution::kNoData);
    CHECK(r.open->kind == EpisodeKind::kNoData);
    CHECK(r.fired == 3);
  }
  SECTION("not for a worker that is down") {
    Run r{.timing = {.no_data = NoDataPolicy::kAlert}};
    r.feed(Truth::kNoData, t0, Truth::kNoData, /*up=*/false);
    CHECK_FALSE(r.open);
  }
}

TEST_CASE("escalation steps fall due by their offsets and re-space after a hold",
          "[rules][state]") {
  const std::vector<EscalationStep> ladder{{"restart_mining", minutes(0)},
                                           {"reboot", minutes(10)},
                                           {"power_cycle", minutes(30)},
                                           {"notify", minutes(40)}};
  Episode e;
  e.state = EpisodeState::kFiring;
  e.fired_at = t0;
  CHECK(due_step(e, ladder, t0) == 0);
  e.next_step = 1;
  e.last_step_at = t0;
  CHECK_FALSE(due_step(e, ladder, t0 + minutes(9)));
  CHECK(due_step(e, ladder, t0 + minutes(10)) == 1);
  // Held (silenced) from 10 to 35 minutes: at 35 the reboot goes, the power cycle waits its gap.
  CHECK(due_step(e, ladder, t0 + minutes(35)) == 1);
  e.next_step = 2;
  e.last_step_at = t0 + minutes(35);
  CHECK_FALSE(due_step(e, ladder, t0 + minutes(36)));
  CHECK(due_step(e, ladder, t0 + minutes(55)) == 2);
  e.next_step = 4;
  CHECK_FALSE(due_step(e, ladder, t0 + minutes(500)));  // the ladder has ended
  Episode pending;
  CHECK_FALSE(due_step(pending, ladder, t0));
}
