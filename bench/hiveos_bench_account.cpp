// Adds a HiveOS account for the hiveos-sync benchmark (bench/hiveos_sync_bench.sh): the token
// sealed with FLEET_SECRET_KEY under the account's context, as the api-gateway stores it.
//   DATABASE_URL=... FLEET_SECRET_KEY=... hiveos_bench_account NAME BASE_URL TOKEN RPM BURST
// Prints the account id.
#include <cstdlib>
#include <iostream>
#include <string>

#include <pqxx/pqxx>

#include "secrets/secret_box.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: hiveos_bench_account NAME BASE_URL TOKEN REQUESTS_PER_MINUTE BURST\n";
    return 2;
  }
  const char* url = std::getenv("DATABASE_URL");
  const char* key = std::getenv("FLEET_SECRET_KEY");
  if (!url || !key) {
    std::cerr << "hiveos_bench_account: set DATABASE_URL and FLEET_SECRET_KEY\n";
    return 2;
  }
  auto box = fleet::secrets::SecretBox::from_key_text(key);
  if (!box.ok()) {
    std::cerr << "hiveos_bench_account: " << box.error().message() << "\n";
    return 2;
  }
  pqxx::connection c(url);
  pqxx::work tx(c);
  const auto id = tx.exec_params1(
                        "INSERT INTO hiveos_accounts (name, base_url, token_enc, "
                        "requests_per_minute, burst, created_by) VALUES ($1, $2, '', $3::float8, "
                        "$4::int, 'bench') RETURNING id",
                        std::string(argv[1]), std::string(argv[2]), std::string(argv[4]),
                        std::string(argv[5]))[0]
                      .as<std::int64_t>();
  tx.exec_params0("UPDATE hiveos_accounts SET token_enc = $2 WHERE id = $1", id,
                  box->seal(argv[3], "hiveos_account:" + std::to_string(id) + ":token"));
  tx.commit();
  std::cout << id << "\n";
  return 0;
}
