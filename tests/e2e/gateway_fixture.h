// A running api-gateway on a fresh database, with an admin, an operator and a viewer, and a small
// JSON HTTP client for the API tests.
#pragma once

#include <httplib.h>
#include <pqxx/pqxx>

#include <nlohmann/json.hpp>

#include "auth/credentials.h"
#include "e2e.h"

namespace fleet::test {

struct ApiAnswer {
  int status = 0;
  nlohmann::json body;
  std::string raw;
  httplib::Headers headers;
};

class GatewayFixture {
 public:
  static constexpr const char* kPassword = "correct horse battery";
  // Random: the gateway refuses a patterned or placeholder token secret.
  static constexpr const char* kTokenSecret =
      "cef2a9829ac15f953321e82c821a01b2d77d71f8370071e9c03cf4dad27e3800";

  explicit GatewayFixture(std::vector<std::string> extra_args = {}) {
    // One Argon2id hash for every test user: hashing is deliberately slow.
    static const std::string hash = *auth::hash_password(kPassword);
    for (const char* role : {"admin", "operator", "viewer"}) {
      db.exec("INSERT INTO users (username, password_hash, role) VALUES ('" + std::string(role) +
              "', '" + hash + "', '" + role + "')");
    }
    port = free_port();
    std::vector<std::string> args{"--port",     std::to_string(port),
                                  "--interval", "1",
                                  "--set",      "gateway.token_secret=" + std::string(kTokenSecret),
                                  "--set",      "gateway.threads=8",
                                  "--set",      "gateway.db_connections=4"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    gateway = std::make_unique<Process>(binary("api-gateway"), args, worker_env(db));
    if (!eventually([&] { return http_get(port, "/ready").status == 200; },
                    std::chrono::seconds(20))) {
      throw std::runtime_error("api-gateway did not become ready: " + gateway->err());
    }
    for (const char* role : {"admin", "operator", "viewer"})
      tokens[role] = login(role, kPassword).body["token"];
  }

  ApiAnswer request(const std::string& method, const std::string& path,
                    const std::string& body = "", const httplib::Headers& headers = {}) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(std::chrono::seconds(5));
    client.set_read_timeout(std::chrono::seconds(30));
    httplib::Result res{nullptr, httplib::Error::Unknown};
    if (method == "GET")
      res = client.Get(path.c_str(), headers);
    else if (method == "POST")
      res = client.Post(path.c_str(), headers, body, "application/json");
    else if (method == "PATCH")
      res = client.Patch(path.c_str(), headers, body, "application/json");
    else if (method == "PUT")
      res = client.Put(path.c_str(), headers, body, "application/json");
    else if (method == "DELETE")
      res = client.Delete(path.c_str(), headers, body, "application/json");
    ApiAnswer a;
    if (!res) return a;
    a.status = res->status;
    a.raw = res->body;
    a.headers = res->headers;
    a.body = nlohmann::json::parse(res->body, nullptr, false);
    return a;
  }

  // As a user with a session token ("admin", "operator", "viewer"), or anonymous ("").
  ApiAnswer as(const std::string& who, const std::string& method, const std::string& path,
               const std::string& body = "") {
    httplib::Headers h;
    if (!who.empty()) h.emplace("Authorization", "Bearer " + tokens.at(who));
    return request(method, path, body, h);
  }

  ApiAnswer login(const std::string& user, const std::string& password) {
    return request("POST", "/api/auth/login",
                   nlohmann::json{{"username", user}, {"password", password}}.dump());
  }

  TestDatabase db;
  int port = 0;
  std::unique_ptr<Process> gateway;
  std::map<std::string, std::string> tokens;
};

}  // namespace fleet::test
