// Renders the firmware's JSON payloads in the real shapes (external-apis.md §1.4-1.10,
// vnish-openapi.json). Each writer appends to `out`. Field order follows the real examples.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "address.h"
#include "miner.h"
#include "telemetry.h"

namespace fleet::minersim {

// GET /api/v1/info (InfoJson).
void write_info(std::string& out, Miner& m, Now now);
// GET /api/v1/model.
void write_model(std::string& out, const Miner& m);
// GET /api/v1/status (StatusPane). `unlocked`: the request carried a valid token or key.
void write_status(std::string& out, Miner& m, Now now, bool unlocked);
// GET /api/v1/summary: the legacy (1.2.0-beta10) or current (1.2.6) shape per the miner's firmware.
void write_summary(std::string& out, const Miner& m, const Readings& r);
// GET /api/v1/chains (AntmChainChips[]); "[]" in the failure state.
void write_chains(std::string& out, const Miner& m, const Readings& r);
// GET /api/v1/chips (deprecated AntmChainsChipsStats).
void write_chips(std::string& out, const Miner& m, const Readings& r);
// GET /api/v1/chains/factory-info (FactoryInfoReply).
void write_factory_info(std::string& out, const Miner& m);
// GET /api/v1/autotune/presets: a bare array, or {"presets": [...]} per the miner's firmware.
void write_presets(std::string& out, const Miner& m);
// GET /api/v1/perf-summary (PerfSummary).
void write_perf_summary(std::string& out, const Miner& m);
// GET /api/v1/settings (ViewConfig).
void write_settings(std::string& out, const Miner& m);
// GET / : the web UI's HTML shell (pyasic looks for "AnthillOS" in it).
std::string web_page(const Miner& m);
// GET /api/v1/logs/{type}: a few plain-text lines.
std::string log_text(const Miner& m, std::string_view type, Now now);

// Whether preset `index` of the miner's model shows status "tuned" (deterministic per miner).
bool preset_tuned(const Miner& m, size_t index);

}  // namespace fleet::minersim
