#include "core/result.h"

namespace fleet {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument: return "invalid argument";
    case ErrorKind::kNotFound: return "not found";
    case ErrorKind::kAlreadyExists: return "already exists";
    case ErrorKind::kFailedPrecondition: return "failed precondition";
    case ErrorKind::kUnauthenticated: return "unauthenticated";
    case ErrorKind::kPermissionDenied: return "permission denied";
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kDeadlineExceeded: return "deadline exceeded";
    case ErrorKind::kResourceExhausted: return "resource exhausted";
    case ErrorKind::kCancelled: return "cancelled";
    case ErrorKind::kDataLoss: return "bad data";
    case ErrorKind::kInternal: return "internal";
  }
  return "unknown";
}

std::string Error::describe() const {
  std::string out(to_string(kind_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace fleet
