// Maps database exceptions to error kinds (userver's SQLSTATE classes), so callers know whether to
// retry (transient) or stop and report.
#pragma once

#include <exception>
#include <string>

#include "core/result.h"

namespace fleet::db {

// kUnavailable for lost connections, shutdowns, serialization failures and deadlocks;
// kDeadlineExceeded for statement and lock timeouts; kCancelled for a cancelled query;
// kFailedPrecondition for schema problems (missing table or column); kAlreadyExists for unique
// violations; kInvalidArgument for other constraint or data errors; kInternal for the rest.
ErrorKind classify(const std::exception& e);

// The SQLSTATE of a pqxx::sql_error, or "" for other exceptions.
std::string sqlstate_of(const std::exception& e);

// An Error for `e`: its kind per classify() and its message with secrets redacted.
Error to_error(const std::exception& e);

}  // namespace fleet::db
