#include "fake_gateway.h"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace fleet::test {

struct FakeGateway::State {
  mutable std::mutex mu;
  std::vector<std::string> heartbeats, authorizations, results;
  std::string registration;
  std::vector<nlohmann::json> queued;
  int polls = 0;
  bool reject = false;
  std::string rotated = "fwn_1_rotatedrotatedrotatedrotatedrotatedrotat";
  httplib::Server server;
};

FakeGateway::FakeGateway(int port) : port_(port), state_(std::make_shared<State>()) {
  auto s = state_;
  auto& svr = s->server;
  auto json_reply = [](httplib::Response& res, int status, const nlohmann::json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
  };
  auto rejected = [s, json_reply](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(s->mu);
    s->authorizations.push_back(req.get_header_value("Authorization"));
    if (s->reject) {
      json_reply(res, 401, {{"error", "credential revoked"}});
      return true;
    }
    return false;
  };
  svr.Post("/api/nodes/register",
           [s, json_reply](const httplib::Request& req, httplib::Response& res) {
             std::lock_guard lock(s->mu);
             s->registration = req.body;
             auto body = nlohmann::json::parse(req.body, nullptr, false);
             if (body.is_discarded() || body.value("token", "") != "fwr_goodtoken123_secret") {
               json_reply(res, 401, {{"error", "invalid registration token"}});
               return;
             }
             json_reply(res, 201,
                        {{"node_id", 1},
                         {"name", body.value("hostname", "")},
                         {"credential", "fwn_1_firstfirstfirstfirstfirstfirstfirstfirs"},
                         {"heartbeat_interval_s", 1},
                         {"command_poll_s", 1}});
           });
  svr.Post(R"(/api/nodes/(\d+)/heartbeat)",
           [s, rejected, json_reply](const httplib::Request& req, httplib::Response& res) {
             if (rejected(req, res)) return;
             std::lock_guard lock(s->mu);
             s->heartbeats.push_back(req.body);
             json_reply(res, 200,
                        {{"received_at", "2026-01-01T00:00:00Z"},
                         {"heartbeat_interval_s", 1},
                         {"commands_pending", s->queued.size()}});
           });
  svr.Get(R"(/api/nodes/(\d+)/commands)",
          [s, rejected, json_reply](const httplib::Request& req, httplib::Response& res) {
            if (rejected(req, res)) return;
            std::lock_guard lock(s->mu);
            ++s->polls;
            nlohmann::json list = s->queued;
            s->queued.clear();
            json_reply(res, 200, {{"commands", list}});
          });
  svr.Post(R"(/api/nodes/(\d+)/commands/(\d+)/result)",
           [s, rejected, json_reply](const httplib::Request& req, httplib::Response& res) {
             if (rejected(req, res)) return;
             std::lock_guard lock(s->mu);
             s->results.push_back(std::string(req.matches[2]) + " " + req.body);
             json_reply(res, 200, {{"ok", true}});
           });
  svr.Post(R"(/api/nodes/(\d+)/credential/rotate)",
           [s, rejected, json_reply](const httplib::Request& req, httplib::Response& res) {
             if (rejected(req, res)) return;
             std::lock_guard lock(s->mu);
             json_reply(res, 200, {{"credential", s->rotated}});
           });
  if (!svr.bind_to_port("127.0.0.1", port)) throw std::runtime_error("fake gateway: bind failed");
  thread_ = std::thread([s] { s->server.listen_after_bind(); });
  while (!svr.is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

FakeGateway::~FakeGateway() {
  state_->server.stop();
  thread_.join();
}

std::vector<std::string> FakeGateway::heartbeats() const {
  std::lock_guard lock(state_->mu);
  return state_->heartbeats;
}
std::vector<std::string> FakeGateway::authorizations() const {
  std::lock_guard lock(state_->mu);
  return state_->authorizations;
}
std::vector<std::string> FakeGateway::results() const {
  std::lock_guard lock(state_->mu);
  return state_->results;
}
std::string FakeGateway::last_registration() const {
  std::lock_guard lock(state_->mu);
  return state_->registration;
}
int FakeGateway::command_polls() const {
  std::lock_guard lock(state_->mu);
  return state_->polls;
}
void FakeGateway::set_reject_all(bool reject) {
  std::lock_guard lock(state_->mu);
  state_->reject = reject;
}
void FakeGateway::add_command(std::int64_t id, const std::string& action,
                              const std::string& params_json) {
  std::lock_guard lock(state_->mu);
  state_->queued.push_back({{"id", id},
                            {"action", action},
                            {"params", nlohmann::json::parse(params_json)},
                            {"attempts", 1}});
}
void FakeGateway::set_rotated_credential(const std::string& c) {
  std::lock_guard lock(state_->mu);
  state_->rotated = c;
}

}  // namespace fleet::test
