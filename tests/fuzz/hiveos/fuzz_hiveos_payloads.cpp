// Fuzzes every HiveOS payload mapper (hiveos/parse.h) with the same bytes, under the default caps
// and under tight ones: none may crash, hang, throw, or return what its contract rules out
// (an item without a positive id, a nameless farm or worker, a non-finite or negative hashrate,
// more items / GPUs / boards / problems than the caps, strings over their caps, JSON texts that do
// not parse). Each worker parsed also goes through metrics_of and is_live: every value finite,
// every JSON text valid.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hiveos/metrics.h"
#include "hiveos/parse.h"

namespace {

using fleet::hiveos::ParseLimits;
using json = nlohmann::json;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_finite(const std::optional<double>& v) {
  check(!v || std::isfinite(*v));
}

void check_json(const std::string& text, bool object_only) {
  if (text.empty()) return;
  json j = json::parse(text, nullptr, false);
  check(!j.is_discarded());
  if (object_only) check(j.is_object());
}

void check_worker(const fleet::hiveos::Worker& w, const ParseLimits& limits) {
  check(w.id > 0);
  check(!w.name.empty() && w.name.size() <= 200 + 32);  // "worker-<id>" when absent
  check(w.description.size() <= limits.max_string_bytes);
  check(w.gpus.size() <= limits.max_gpus);
  check(w.boards.size() <= 64);
  check(w.hashrates.size() <= 16);
  check(w.ip_addresses.size() <= 16);
  check(w.stats.problems.size() <= 32);
  check_json(w.versions_json, true);
  check(!w.versions_json.empty());
  for (const auto& g : w.gpus) {
    check(g.model.size() <= limits.max_string_bytes);
    for (auto v : {g.temp_c, g.mem_temp_c, g.fan_percent, g.power_w, g.core_clock_mhz,
                   g.mem_clock_mhz, g.hashrate_ths})
      check_finite(v);
    check(!g.hashrate_ths || *g.hashrate_ths >= 0);
  }
  for (const auto& b : w.boards) {
    for (auto v : {b.freq_mhz, b.temp_c, b.board_temp_c, b.power_w})
      check_finite(v);
  }
  for (const auto& h : w.hashrates)
    check(std::isfinite(h.ths) && h.ths >= 0);
  for (auto v :
       {w.max_temp_c, w.max_fan_percent, w.min_fan_rpm, w.cpu_temp_c, w.cpu_load_1m,
        w.stats.power_draw_w, w.watchdog.restart_timeout_min, w.watchdog.reboot_timeout_min})
    check_finite(v);

  for (std::int64_t now : {std::int64_t{0}, std::int64_t{1'800'000'000}}) {
    for (const auto& m : fleet::hiveos::metrics_of(w, now)) {
      check(!m.name.empty());
      check(m.value.has_value());
      check_finite(m.value);
      check_json(m.json_value, false);
      check_json(m.metadata_json, true);
    }
    (void)fleet::hiveos::is_live(w, now, 300);
  }
}

void run(std::string_view body, const ParseLimits& limits) {
  using namespace fleet::hiveos;
  if (auto farms = parse_farms(body, limits); farms.ok()) {
    check(farms->items.size() + farms->dropped <= limits.max_items);
    for (const auto& f : farms->items)
      check(f.id > 0 && !f.name.empty());
  }
  if (auto workers = parse_workers(body, 7, limits); workers.ok()) {
    check(workers->items.size() + workers->dropped <= limits.max_items);
    for (const auto& w : workers->items)
      check_worker(w, limits);
  }
  if (auto worker = parse_worker(body, 7, limits); worker.ok()) check_worker(*worker, limits);
  if (auto sent = parse_command_response(body, 42, limits); sent.ok()) {
    check(sent->size() == 1);
    check((*sent)[0].worker_id == 42 && (*sent)[0].command_id > 0);
  }
  if (auto sent = parse_commands_response(body, limits); sent.ok()) {
    check(sent->size() <= limits.max_items);
    for (const auto& s : *sent)
      check(s.worker_id > 0 && s.command_id > 0);
  }
  if (auto messages = parse_messages(body, limits); messages.ok()) {
    check(messages->items.size() + messages->dropped <= limits.max_items);
    for (const auto& m : messages->items) {
      check(m.id > 0);
      check(!m.cmd_id || *m.cmd_id > 0);
      check(m.type.size() <= 16);
      check(m.title.size() <= limits.max_string_bytes);
      check(m.payload.size() <= limits.max_payload_bytes);
    }
  }
  // A command's data as the dispatcher passes it: whatever it is, the body is one JSON object
  // with the command, and the bulk body wraps it.
  Command command{"reboot", std::string(body)};
  check_json(command_body(command), true);
  check_json(bulk_command_body({1, 2}, command), true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  run(body, ParseLimits{});
  ParseLimits tight;
  tight.max_body_bytes = 64 * 1024;
  tight.max_depth = 6;
  tight.max_items = 3;
  tight.max_gpus = 2;
  tight.max_string_bytes = 8;
  tight.max_payload_bytes = 16;
  run(body, tight);
  return 0;
}
