// Body faults: turn a correct JSON answer into the broken one a faulty miner sends (garbage,
// truncated, huge, deeply nested, wrong types, cut transfer). Plain functions for unit tests.
#pragma once

#include <string>

#include "fault.h"
#include "http.h"

namespace fleet::minersim {

// Replaces `response`'s body (the correct JSON `json`) according to `fault`.
// REQUIRES: is_body_fault(fault.kind).
void apply_body_fault(const Fault& fault, std::string json, http::Response& response);

// The wrong_types transformation of a JSON document: numbers become strings, strings become
// numbers, booleans become strings, arrays become objects keyed "0", "1", ... and nested objects
// keep their keys with transformed values. Non-JSON input is returned unchanged.
std::string wrong_types(const std::string& json);

}  // namespace fleet::minersim
