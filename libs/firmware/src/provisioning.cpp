#include "firmware/provisioning.h"

#include <sodium.h>

#include <memory>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

namespace fleet::firmware {

namespace {

using json = nlohmann::json;

// One miner's flow; owned by the callbacks in flight (shared_ptr), so it lives until `done`.
struct ProvisionFlow : std::enable_shared_from_this<ProvisionFlow> {
  HttpTransport& transport;
  ProvisionRequest request;
  ApiOptions options;
  ProvisionCallback done;
  std::string token;

  ProvisionFlow(HttpTransport& t, ProvisionRequest r, const ApiOptions& o, ProvisionCallback d)
      : transport(t), request(std::move(r)), options(o), done(std::move(d)) {}

  void finish(Result<ProvisionedKey> result) {
    ProvisionCallback callback = std::move(done);
    callback(std::move(result));
  }

  void unlock() {
    json body = {{"pw", request.password}};
    auto self = shared_from_this();
    HttpRequest req = post_request(request.miner, paths::kUnlock, body.dump(), options);
    req.keep_alive = true;  // the key list follows
    transport.submit(std::move(req), [self](HttpResponse r) { self->on_unlock(std::move(r)); });
  }

  void on_unlock(HttpResponse r) {
    if (Status s = classify(r, "/unlock"); !s.ok()) {
      if (s.error().kind() == ErrorKind::kPermissionDenied) {
        return finish(Error(ErrorKind::kPermissionDenied, "/unlock: wrong unlock password"));
      }
      return finish(s.error());
    }
    auto token_or = parse_unlock(r.body, options.limits);
    if (!token_or.ok()) return finish(token_or.error());
    token = std::move(*token_or);
    auto self = shared_from_this();
    HttpRequest req = get_request(request.miner, paths::kApiKeys, options, {.bearer_token = token});
    req.keep_alive = true;  // a key creation, or the caller's first call with the key, follows
    transport.submit(std::move(req), [self](HttpResponse resp) { self->on_list(std::move(resp)); });
  }

  void on_list(HttpResponse r) {
    if (Status s = classify(r, "/apikeys"); !s.ok()) return finish(s.error());
    auto keys = parse_api_keys(r.body, options.limits);
    if (!keys.ok()) return finish(keys.error());
    for (const auto& entry : *keys) {
      if (entry.description == request.description && is_valid_api_key(entry.key)) {
        return finish(ProvisionedKey{entry.key, false});
      }
    }
    create();
  }

  void create() {
    auto key = std::make_shared<std::string>(generate_api_key());
    json body = {{"key", *key}, {"description", request.description}};
    auto self = shared_from_this();
    transport.submit(
        post_request(request.miner, paths::kApiKeys, body.dump(), options, {.bearer_token = token}),
        [self, key](HttpResponse r) { self->on_created(std::move(r), std::move(*key)); });
  }

  void on_created(HttpResponse r, std::string key) {
    if (Status s = classify(r, "/apikeys"); !s.ok()) return finish(s.error());
    auto status = parse_add_key_status(r.body, options.limits);
    if (!status.ok()) return finish(status.error());
    finish(ProvisionedKey{std::move(key), true});
  }
};

}  // namespace

void start_provisioning(HttpTransport& transport, ProvisionRequest request,
                        const ApiOptions& options, ProvisionCallback done) {
  auto flow =
      std::make_shared<ProvisionFlow>(transport, std::move(request), options, std::move(done));
  flow->unlock();
}

Result<ProvisionedKey> provision(HttpTransport& transport, ProvisionRequest request,
                                 const ApiOptions& options) {
  std::optional<Result<ProvisionedKey>> out;
  start_provisioning(transport, std::move(request), options,
                     [&out](Result<ProvisionedKey> r) { out.emplace(std::move(r)); });
  transport.run();
  if (!out) return Error::internal("provisioning ended without a result");
  return std::move(*out);
}

std::string generate_api_key() {
  static const bool ready = sodium_init() >= 0;
  unsigned char bytes[16];
  if (ready) {
    randombytes_buf(bytes, sizeof bytes);
  } else {
    std::random_device rd;
    for (auto& b : bytes)
      b = static_cast<unsigned char>(rd());
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (size_t i = 0; i < sizeof bytes; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xF];
  }
  return out;
}

bool is_valid_api_key(std::string_view key) {
  if (key.size() != 32) return false;
  for (char c : key) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace fleet::firmware
