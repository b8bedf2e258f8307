#include <catch2/catch.hpp>

#include <thread>

#include "metrics/registry.h"

using namespace fleet::metrics;
using Catch::Matchers::Contains;

TEST_CASE("counters, gauges and histograms render in the Prometheus text format", "[metrics]") {
  Registry r;
  r.counter("fleet_cycles_total", "Cycles run", {{"service", "x"}}).inc();
  r.counter("fleet_cycles_total", "Cycles run", {{"service", "x"}}).inc(2);
  r.gauge("fleet_leader", "Leader", {{"service", "x"}}).set(1);
  auto& h =
      r.histogram("fleet_cycle_duration_seconds", "Durations", {0.1, 1, 10}, {{"service", "x"}});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(100);
  const std::string text = r.render();
  CHECK_THAT(text,
             Contains("# HELP fleet_cycles_total Cycles run\n# TYPE fleet_cycles_total counter\n"
                      "fleet_cycles_total{service=\"x\"} 3\n"));
  CHECK_THAT(text, Contains("# TYPE fleet_leader gauge\nfleet_leader{service=\"x\"} 1\n"));
  CHECK_THAT(text, Contains("fleet_cycle_duration_seconds_bucket{service=\"x\",le=\"0.1\"} 1\n"));
  CHECK_THAT(text, Contains("fleet_cycle_duration_seconds_bucket{service=\"x\",le=\"1\"} 2\n"));
  CHECK_THAT(text, Contains("fleet_cycle_duration_seconds_bucket{service=\"x\",le=\"10\"} 2\n"));
  CHECK_THAT(text, Contains("fleet_cycle_duration_seconds_bucket{service=\"x\",le=\"+Inf\"} 3\n"));
  CHECK_THAT(text, Contains("fleet_cycle_duration_seconds_sum{service=\"x\"} 100.55\n"));
  CHECK_THAT(text, Contains("fleet_cycle_duration_seconds_count{service=\"x\"} 3\n"));
}

TEST_CASE("label values are escaped and bucket bounds print short", "[metrics]") {
  Registry r;
  r.gauge("g", "help with \\ and\nnewline", {{"path", "a\"b\\c\nd"}}).set(0.25);
  r.histogram("h", "h", {0.005, 0.01}).observe(0.001);
  const std::string text = r.render();
  CHECK_THAT(text, Contains("# HELP g help with \\\\ and\\nnewline"));
  CHECK_THAT(text, Contains("g{path=\"a\\\"b\\\\c\\nd\"} 0.25"));
  CHECK_THAT(text, Contains("h_bucket{le=\"0.005\"} 1"));
}

TEST_CASE("one name cannot have two types, names are validated", "[metrics]") {
  Registry r;
  r.counter("x_total", "x");
  CHECK_THROWS_AS(r.gauge("x_total", "x"), std::logic_error);
  CHECK_THROWS_AS(r.counter("bad-name", "x"), std::logic_error);
  CHECK_THROWS_AS(r.counter("ok_total", "x", {{"le", "1"}}), std::logic_error);
}

TEST_CASE("the same name and labels return the same metric, updates are thread-safe", "[metrics]") {
  Registry r;
  Counter& a = r.counter("n_total", "n", {{"k", "v"}});
  Counter& b = r.counter("n_total", "n", {{"k", "v"}});
  CHECK(&a == &b);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i)
        a.inc();
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(a.value() == 40000);
}
