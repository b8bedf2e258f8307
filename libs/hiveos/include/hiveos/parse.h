// Mappers from HiveOS API v2 response bodies (hiveos-api-v2.yaml) to model.h. Every body is
// untrusted: size and depth caps first (a body over ParseLimits is kDataLoss before it is parsed),
// then type checks field by field. A missing or null section leaves the field empty; a field of
// the wrong type is skipped with the others kept (HiveOS adds fields and nulls freely), except the
// identity (worker id, farm id) without which the item is dropped. Unknown fields are ignored.
// Never throws.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "hiveos/model.h"

namespace fleet::hiveos {

struct ParseLimits {
  std::size_t max_body_bytes = 16u << 20;  // a farm of thousands of workers with full stats
  int max_depth = 16;
  std::size_t max_items = 20000;              // farms, workers, messages per body
  std::size_t max_gpus = 64;                  // per worker
  std::size_t max_string_bytes = 1024;        // names, models, problems (longer ones are cut)
  std::size_t max_payload_bytes = 64 * 1024;  // a message payload (exec output)
};

// Items dropped for lack of an id are counted so the caller can log them.
template <class T>
struct Parsed {
  std::vector<T> items;
  std::size_t dropped = 0;
};

// GET /farms -> {"data": [Farm...]}
Result<Parsed<Farm>> parse_farms(std::string_view body, const ParseLimits& limits = {});
// GET /farms/{id}/workers -> {"data": [WorkerListItem...]}; farm_id of each worker defaults to
// `farm_id` when the item lacks it.
Result<Parsed<Worker>> parse_workers(std::string_view body, std::int64_t farm_id,
                                     const ParseLimits& limits = {});
// One Worker object (GET /farms/{id}/workers/{workerId}).
Result<Worker> parse_worker(std::string_view body, std::int64_t farm_id,
                            const ParseLimits& limits = {});
// POST .../workers/{id}/command -> 201 CommandResponse {"id", "commands": [{"command","id",...}]}
// (worker_id taken from `worker_id`); POST .../workers/command -> CommandsResponse
// {"id", "commands": [{"worker_id", "command", "id", "data"}]}.
Result<std::vector<SentCommand>> parse_command_response(std::string_view body,
                                                        std::int64_t worker_id,
                                                        const ParseLimits& limits = {});
Result<std::vector<SentCommand>> parse_commands_response(std::string_view body,
                                                         const ParseLimits& limits = {});
// GET .../messages -> {"data": [WorkerMessage...], "pagination": {...}}
Result<Parsed<Message>> parse_messages(std::string_view body, const ParseLimits& limits = {});

// The CommandRequest body for `command` ({"command": ..., "data": {...}}).
std::string command_body(const Command& command);
// The multi-worker body {"worker_ids": [...], "data": CommandRequest}.
std::string bulk_command_body(const std::vector<std::int64_t>& worker_ids, const Command& command);

}  // namespace fleet::hiveos
