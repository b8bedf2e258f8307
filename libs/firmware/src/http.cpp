#include "firmware/http.h"

#include <optional>

namespace fleet::firmware {

std::string_view to_string(TransportFailure failure) {
  switch (failure) {
    case TransportFailure::kNone:
      return "none";
    case TransportFailure::kRefused:
      return "connection refused";
    case TransportFailure::kConnectTimeout:
      return "connect timeout";
    case TransportFailure::kTimeout:
      return "timeout";
    case TransportFailure::kReset:
      return "connection reset";
    case TransportFailure::kTooLarge:
      return "body too large";
    case TransportFailure::kCancelled:
      return "cancelled";
    case TransportFailure::kOther:
      return "transport error";
  }
  return "transport error";
}

HttpResponse fetch(HttpTransport& transport, HttpRequest request) {
  std::optional<HttpResponse> out;
  transport.submit(std::move(request), [&out](HttpResponse r) { out = std::move(r); });
  transport.run();
  if (!out) {
    HttpResponse r;
    r.failure = TransportFailure::kOther;
    r.error = "the transport finished without an answer";
    return r;
  }
  return std::move(*out);
}

}  // namespace fleet::firmware
