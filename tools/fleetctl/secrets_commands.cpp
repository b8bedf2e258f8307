// fleetctl secrets reseal: seals every miner secret still in the v1 form (sealed before values
// were bound to their place, issue 16.8) again as v2, bound to the miner's MAC and column. Values
// that do not open with this key are counted and left as they are.
#include <iostream>

#include <pqxx/pqxx>

#include "commands.h"
#include "secrets/secret_box.h"

namespace fleet::cli {
namespace {

const char* const kV1 = R"SQL(
SELECT worker_id, mac::text, api_key_enc, unlock_pass_enc FROM miners
 WHERE api_key_enc LIKE 'v1:%' OR unlock_pass_enc LIKE 'v1:%'
 ORDER BY worker_id
 FOR UPDATE
)SQL";

}  // namespace

int secrets_command(Context& ctx, const SecretsOptions& options) {
  auto box = secrets::box_from(ctx.config());
  if (!box.ok()) {
    std::cerr << "fleetctl: " << box.error().message() << "\n";
    return kUsage;
  }
  int resealed = 0, unreadable = 0, miners = 0;
  pqxx::work tx(ctx.connection());
  for (const auto& r : tx.exec(kV1)) {
    ++miners;
    const auto worker = r[0].as<std::int64_t>();
    const std::string mac = r[1].as<std::string>();
    for (const auto& [column, field] :
         {std::pair{"api_key_enc", 2}, std::pair{"unlock_pass_enc", 3}}) {
      if (r[field].is_null()) continue;
      const std::string sealed = r[field].as<std::string>();
      if (sealed.rfind("v1:", 0) != 0) continue;
      const std::string which = field == 2 ? "api_key" : "unlock_password";
      auto plain = box->open(sealed, secrets::miner_secret_context(mac, which));
      if (!plain.ok()) {
        ++unreadable;
        std::cerr << "miner " << worker << ": " << column
                  << " does not open with this key; left as it is\n";
        continue;
      }
      if (!options.dry_run) {
        tx.exec_params(std::string("UPDATE miners SET ") + column + " = $2 WHERE worker_id = $1",
                       worker, box->seal(*plain, secrets::miner_secret_context(mac, which)));
      }
      ++resealed;
    }
  }
  if (!options.dry_run) tx.commit();
  std::cout << (options.dry_run ? "would reseal " : "resealed ") << resealed << " values of "
            << miners << " miners";
  if (unreadable > 0) std::cout << "; " << unreadable << " do not open with this key";
  std::cout << "\n";
  return unreadable > 0 ? kFailed : kOk;
}

}  // namespace fleet::cli
