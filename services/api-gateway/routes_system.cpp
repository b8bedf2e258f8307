// /health, /ready, /metrics on the API port (public), and /api/openapi.json.
#include "routes.h"

namespace fleet::gateway {

void add_probe_routes(Router& router, const runtime::Setup& setup) {
  auto probe = [](std::function<runtime::ProbeResult()> fn) {
    return [fn](Call&) {
      runtime::ProbeResult r = fn();
      return Reply{.status = r.status, .raw = r.body, .headers = {{"Cache-Control", "no-store"}}};
    };
  };
  for (const char* path : {"/health", "/livez"}) {
    router.add(
        {.method = "GET",
         .path = path,
         .tag = "probes",
         .summary = "Liveness: 200 while the process makes progress (never touches the database)",
         .role = std::nullopt,
         .handler = probe(setup.health)});
  }
  for (const char* path : {"/ready", "/readyz"}) {
    router.add({.method = "GET",
                .path = path,
                .tag = "probes",
                .summary = "Readiness: 200 when the database answers and the schema fits",
                .role = std::nullopt,
                .handler = probe(setup.ready)});
  }
  router.add({.method = "GET",
              .path = "/metrics",
              .tag = "probes",
              .summary = "Prometheus metrics",
              .role = std::nullopt,
              .handler = [text = setup.metrics_text](Call&) {
                return Reply{.raw = text(),
                             .content_type = "text/plain; version=0.0.4; charset=utf-8"};
              }});
}

void add_openapi_route(Router& router, std::string version) {
  router.add(
      {.method = "GET",
       .path = "/api/openapi.json",
       .tag = "meta",
       .summary = "This API as an OpenAPI 3 document",
       .handler = [&router, version](Call&) { return Reply{.body = router.openapi(version)}; }});
}

}  // namespace fleet::gateway
