#include "fleet.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <regex>

namespace fleet::hiveossim {
namespace {

using json = nlohmann::json;

const std::set<std::string> kCommands = {"reboot",
                                         "shutdown",
                                         "upgrade",
                                         "miner",
                                         "teleconsole",
                                         "hssh",
                                         "exec",
                                         "amd_download",
                                         "amd_upload",
                                         "nvidia_download",
                                         "nvidia_upload",
                                         "asic_upgrade",
                                         "octofan_recalibrate",
                                         "benchmark_stop",
                                         "donnager_relay_switch",
                                         "pool_test"};

const char* kGpuModels[] = {"GeForce RTX 3070", "GeForce RTX 3060 Ti", "Radeon RX 6800",
                            "GeForce GTX 1660 SUPER"};

Reply json_reply(int status, const json& body) {
  return {status, body.dump(), "", {}};
}

Reply message_reply(int status, const std::string& message) {
  return json_reply(status, json{{"message", message}});
}

Reply invalid(const std::string& field, const std::string& why) {
  return json_reply(422, json{{"message", "The given data was invalid."},
                              {"errors", {{field, json::array({why})}}}});
}

std::optional<std::int64_t> to_id(const std::string& s) {
  if (s.empty() || s.size() > 15 || !std::all_of(s.begin(), s.end(), ::isdigit))
    return std::nullopt;
  return std::stoll(s);
}

}  // namespace

Fleet::Fleet(FleetOptions options) : options_(std::move(options)) {
  build();
}

void Fleet::build() {
  farms_.clear();
  workers_.clear();
  messages_.clear();
  faults_.clear();
  requests_ = json::array();
  commands_ = json::array();
  tokens_ = std::set<std::string>(options_.tokens.begin(), options_.tokens.end());
  next_worker_ = 1001;
  next_message_ = 1;
  next_command_ = 50001;
  std::mt19937_64 rng(options_.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  const std::int64_t boot = now_unix() - 86400;
  for (int f = 0; f < options_.farms; ++f) {
    const std::int64_t farm_id = 101 + f;
    farms_[farm_id] = "farm-" + std::to_string(f + 1);
    for (int i = 0; i < options_.workers_per_farm; ++i) {
      Worker w;
      w.id = next_worker_++;
      w.farm_id = farm_id;
      w.platform = unit(rng) < options_.asic_share ? 2 : 1;
      w.name = (w.platform == 2 ? "asic-" : "rig-") + std::to_string(f + 1) + "-" +
               std::to_string(i + 1);
      w.ip = "10." + std::to_string(f / 250) + "." + std::to_string(f % 250) + "." +
             std::to_string(i % 250 + 1);
      w.boot_time = boot;
      if (w.platform == 1) {
        const char* model = kGpuModels[rng() % 4];
        for (int g = 0; g < options_.gpus_per_rig; ++g) {
          Gpu gpu;
          gpu.bus = g + 1;
          gpu.model = model;
          gpu.brand = std::string(model).find("Radeon") != std::string::npos ? "amd" : "nvidia";
          gpu.temp = 55 + unit(rng) * 15;
          gpu.fan = 40 + unit(rng) * 30;
          gpu.power = 110 + unit(rng) * 60;
          gpu.khs = 28000 + unit(rng) * 8000;  // ~30 MH/s ethash-class
          w.gpus.push_back(gpu);
        }
      } else {
        for (int b = 0; b < 3; ++b)
          w.boards.push_back({b + 5, 65 + unit(rng) * 10, 450 + unit(rng) * 60});
      }
      workers_[w.id] = w;
    }
  }
}

std::int64_t Fleet::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start_)
      .count();
}

std::int64_t Fleet::now_unix() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Fleet::worker_online(const Worker& w) const {
  if (!w.online || w.shut_down) return false;
  if (w.offline_until_ms && now_ms() < *w.offline_until_ms) return false;
  return true;
}

Fleet::Worker* Fleet::find(std::int64_t id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

json Fleet::worker_json(const Worker& w) const {
  const bool online = worker_online(w);
  const std::int64_t now = now_unix();
  const std::int64_t stats_time = w.frozen_stats_time ? *w.frozen_stats_time
                                  : online            ? now - 5
                                                      : now - 600;
  const double wobble = std::sin(static_cast<double>(now_ms()) / 60000.0);
  json j = {{"id", w.id},
            {"farm_id", w.farm_id},
            {"platform", w.platform},
            {"name", w.name},
            {"description", ""},
            {"active", true},
            {"units_count", w.platform == 2 ? w.boards.size() : w.gpus.size()},
            {"ip_addresses", json::array({w.ip})},
            {"remote_address", {{"ip", "203.0.113." + std::to_string(w.id % 250 + 1)}}},
            {"versions", {{"hive", "0.6-226@230512"}, {"kernel", "5.15.0-hiveos"}}},
            {"tag_ids", json::array()}};
  std::vector<std::string> problems = w.problems;
  int overheated = 0;
  json gpu_info = json::array(), gpu_stats = json::array(), hashes = json::array(),
       temps = json::array(), fans = json::array(), buses = json::array();
  double power = 0, max_temp = 0, max_fan = 0, khs_total = 0;
  int gi = 0;
  for (const auto& g : w.gpus) {
    const double t = w.temp_override ? *w.temp_override : std::round(g.temp + 2 * wobble);
    const double khs = online && !w.miner_stopped ? std::round(g.khs * (1 + 0.01 * wobble)) : 0;
    if (t >= 80) ++overheated;
    gpu_info.push_back({{"bus_id", (g.bus < 16 ? "0" : "") + std::to_string(g.bus) + ":00.0"},
                        {"bus_number", g.bus},
                        {"brand", g.brand},
                        {"model", g.model},
                        {"short_name", g.model.substr(g.model.find(' ') + 1)},
                        {"index", gi++},
                        {"details", {{"mem", "8 GB"}, {"vendor", "ASUS"}}}});
    gpu_stats.push_back({{"bus_number", g.bus},
                         {"temp", t},
                         {"fan", std::round(g.fan)},
                         {"power", std::round(g.power)},
                         {"coreclk", 1500},
                         {"memclk", 7000},
                         {"memtemp", t + 16},
                         {"hash", khs}});
    hashes.push_back(khs);
    temps.push_back(t);
    fans.push_back(std::round(g.fan));
    buses.push_back(g.bus);
    power += std::round(g.power);
    max_temp = std::max(max_temp, t);
    max_fan = std::max(max_fan, std::round(g.fan));
    khs_total += khs;
  }
  json boards = json::array();
  for (const auto& b : w.boards) {
    const double t = w.temp_override ? *w.temp_override : std::round(b.temp + 2 * wobble);
    if (t >= 90) ++overheated;
    boards.push_back({{"chain", b.chain},
                      {"acn", 63},
                      {"freq", 650.0},
                      {"status", json::array({1, 1, 1})},
                      {"temp", t},
                      {"board_temp", t - 12},
                      {"hw_errors", 0},
                      {"power", std::round(b.power)}});
    power += std::round(b.power);
    max_temp = std::max(max_temp, t);
    if (online && !w.miner_stopped) khs_total += 4.5e9;  // 4.5 TH/s per board
  }
  if (overheated && std::find(problems.begin(), problems.end(), "overheat") == problems.end()) {
    problems.push_back("overheat");
  }
  if (online && khs_total == 0 &&
      std::find(problems.begin(), problems.end(), "no_hashrate") == problems.end()) {
    problems.push_back("no_hashrate");
  }
  json stats = {{"online", online},
                {"boot_time", w.boot_time},
                {"stats_time", stats_time},
                {"miner_start_time", w.boot_time + 60},
                {"gpus_online", w.platform == 1 && online ? w.gpus.size() : 0},
                {"gpus_offline", w.platform == 1 && !online ? w.gpus.size() : 0},
                {"gpus_overheated", w.platform == 1 ? overheated : 0},
                {"cpus_offline", 0},
                {"boards_online", w.platform == 2 && online ? w.boards.size() : 0},
                {"boards_offline", w.platform == 2 && !online ? w.boards.size() : 0},
                {"boards_overheated", w.platform == 2 ? overheated : 0},
                {"power_draw", online ? power : 0},
                {"overheated", overheated > 0},
                {"overloaded", false},
                {"invalid", false},
                {"low_asr", false},
                {"problems", problems}};
  j["stats"] = std::move(stats);
  const std::string algo = w.platform == 2 ? "sha256" : "etchash";
  const std::string coin = w.platform == 2 ? "BTC" : "ETC";
  if (online) {
    j["miners_summary"] = {
        {"hashrates",
         json::array(
             {{{"miner", w.platform == 2 ? "asicminer" : "lolminer"},
               {"ver", "1.76"},
               {"algo", algo},
               {"coin", coin},
               {"hash", khs_total},
               {"shares",
                {{"accepted", 1200}, {"rejected", 3}, {"invalid", 0}, {"ratio", 99.75}}}}})}};
    if (w.platform == 1) {
      j["miners_stats"] = {{"hashrates", json::array({{{"miner", "lolminer"},
                                                       {"algo", algo},
                                                       {"hashes", hashes},
                                                       {"temps", temps},
                                                       {"fans", fans},
                                                       {"invalid_shares", json::array()},
                                                       {"bus_numbers", buses}}})}};
    }
  }
  if (w.platform == 1) {
    j["gpu_info"] = std::move(gpu_info);
    j["gpu_stats"] = std::move(gpu_stats);
    j["gpu_summary"] = {{"gpus", json::array({{{"name", w.gpus.empty() ? "" : w.gpus[0].model},
                                               {"amount", w.gpus.size()}}})},
                        {"max_temp", max_temp},
                        {"max_fan", max_fan}};
  } else {
    j["asic_info"] = {{"model", "Antminer S19"},
                      {"short_name", "S19"},
                      {"firmware", "hiveon 1.02"},
                      {"hiveon", true},
                      {"install_type", "nand"}};
    j["asic_stats"] = {{"fans", json::array({{{"index", 0}, {"fan", 60}, {"fan_rpm", 4800}},
                                             {{"index", 1}, {"fan", 60}, {"fan_rpm", 4830}}})},
                       {"fans_count", 2},
                       {"boards", boards},
                       {"asicboost", true}};
  }
  j["hardware_stats"] = {{"df", "2.7G"},
                         {"cpuavg", json::array({0.5, 0.4, 0.4})},
                         {"cputemp", json::array({41})},
                         {"cpu_cores", 4},
                         {"memory", {{"total", 8000}, {"free", 6000}}}};
  j["watchdog"] = {{"enabled", true},
                   {"restart_timeout", 5},
                   {"reboot_timeout", 10},
                   {"power_action", "reboot"}};
  return j;
}

json Fleet::farm_json(std::int64_t farm_id) const {
  int rigs = 0, asics = 0;
  for (const auto& [id, w] : workers_) {
    if (w.farm_id != farm_id) continue;
    (w.platform == 2 ? asics : rigs)++;
  }
  return {{"id", farm_id},
          {"name", farms_.at(farm_id)},
          {"timezone", "UTC"},
          {"nonfree", false},
          {"workers_count", rigs + asics},
          {"rigs_count", rigs},
          {"asics_count", asics},
          {"owner", {{"id", 1}, {"login", "sim"}, {"name", "hiveos-sim"}, {"me", true}}},
          {"tag_ids", json::array()}};
}

Reply Fleet::handle(const std::string& method, const std::string& path,
                    const std::map<std::string, std::string>& query,
                    const std::string& authorization, const std::string& body) {
  std::lock_guard lock(mu_);
  json entry = {{"method", method}, {"path", path}, {"t_ms", now_ms()}};
  auto finish = [&](Reply r) {
    entry["status"] = r.status;
    if (requests_.size() < 100000) requests_.push_back(entry);
    return r;
  };
  std::chrono::milliseconds delay{0};
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (path.rfind(it->path_prefix, 0) != 0 || it->count <= 0) continue;
    Fault f = *it;
    if (--it->count <= 0) faults_.erase(it);
    delay = f.delay;
    if (f.status != 0) {
      return finish({f.status, f.body.empty() ? json{{"message", "Injected fault"}}.dump() : f.body,
                     f.retry_after, delay});
    }
    break;
  }
  auto with_delay = [&](Reply r) {
    r.delay = delay;
    return finish(std::move(r));
  };
  const std::string prefix = "Bearer ";
  if (authorization.rfind(prefix, 0) != 0 || !tokens_.count(authorization.substr(prefix.size()))) {
    return with_delay(message_reply(401, "Unauthenticated."));
  }
  static const std::regex farm_re(R"(/farms/(\d+))");
  static const std::regex workers_re(R"(/farms/(\d+)/workers)");
  static const std::regex worker_re(R"(/farms/(\d+)/workers/(\d+))");
  static const std::regex command_re(R"(/farms/(\d+)/workers/(\d+)/command)");
  static const std::regex bulk_re(R"(/farms/(\d+)/workers/command)");
  static const std::regex messages_re(R"(/farms/(\d+)/workers/(\d+)/messages)");
  std::smatch m;
  if (method == "GET" && path == "/auth/check") return with_delay({204, "", "", {}});
  if (method == "GET" && path == "/farms") {
    json data = json::array();
    for (const auto& [id, name] : farms_)
      data.push_back(farm_json(id));
    json answer = json::object();
    answer["data"] = std::move(data);
    answer["tags"] = json::array();
    return with_delay(json_reply(200, answer));
  }
  if (std::regex_match(path, m, farm_re)) {
    auto id = to_id(m[1]);
    if (method != "GET") return with_delay(message_reply(405, "Method not allowed"));
    if (!id || !farms_.count(*id)) return with_delay(message_reply(404, "Farm not found"));
    return with_delay(json_reply(200, farm_json(*id)));
  }
  if (std::regex_match(path, m, workers_re) && method == "GET") {
    auto id = to_id(m[1]);
    if (!id || !farms_.count(*id)) return with_delay(message_reply(404, "Farm not found"));
    json data = json::array();
    auto platform = query.find("platform");
    for (const auto& [wid, w] : workers_) {
      if (w.farm_id != *id) continue;
      if (platform != query.end() && platform->second != std::to_string(w.platform)) continue;
      data.push_back(worker_json(w));
    }
    json answer = json::object();
    answer["data"] = std::move(data);  // moved: an initializer list would copy every worker
    answer["tags"] = json::array();
    return with_delay(json_reply(200, answer));
  }
  if (std::regex_match(path, m, bulk_re) && method == "POST") {
    auto id = to_id(m[1]);
    if (!id || !farms_.count(*id)) return with_delay(message_reply(404, "Farm not found"));
    json req = json::parse(body, nullptr, false);
    if (!req.is_object() || !req.contains("worker_ids") || !req["worker_ids"].is_array()) {
      return with_delay(invalid("worker_ids", "The worker ids field is required."));
    }
    std::vector<std::int64_t> ids;
    for (const auto& x : req["worker_ids"]) {
      if (!x.is_number_integer())
        return with_delay(invalid("worker_ids", "Worker ids must be integers."));
      ids.push_back(x.get<std::int64_t>());
    }
    return with_delay(command(*id, ids, req.value("data", json()), true));
  }
  if (std::regex_match(path, m, command_re) && method == "POST") {
    auto farm = to_id(m[1]);
    auto wid = to_id(m[2]);
    if (!farm || !farms_.count(*farm)) return with_delay(message_reply(404, "Farm not found"));
    json req = json::parse(body, nullptr, false);
    return with_delay(command(*farm, {wid.value_or(0)}, req, false));
  }
  if (std::regex_match(path, m, messages_re) && method == "GET") {
    return with_delay(messages(to_id(m[1]).value_or(0), to_id(m[2]).value_or(0), query));
  }
  if (std::regex_match(path, m, worker_re) && method == "GET") {
    auto farm = to_id(m[1]);
    const Worker* w = find(to_id(m[2]).value_or(0));
    if (!farm || !w || w->farm_id != *farm)
      return with_delay(message_reply(404, "Worker not found"));
    return with_delay(json_reply(200, worker_json(*w)));
  }
  return with_delay(message_reply(404, "Not found"));
}

Reply Fleet::command(std::int64_t farm_id, const std::vector<std::int64_t>& worker_ids,
                     const json& request, bool bulk) {
  if (!request.is_object() || !request.contains("command") || !request["command"].is_string()) {
    return invalid("command", "The command field is required.");
  }
  const std::string cmd = request["command"].get<std::string>();
  if (!kCommands.count(cmd)) return invalid("command", "The selected command is invalid.");
  const json data =
      request.contains("data") && request["data"].is_object() ? request["data"] : json::object();
  if (cmd == "miner") {
    const std::string action = data.value("action", "");
    if (action != "start" && action != "stop" && action != "restart" && action != "log" &&
        action != "config" && action != "tuning") {
      return invalid("data.action", "The selected action is invalid.");
    }
  }
  if (cmd == "exec" && (!data.contains("cmd") || !data["cmd"].is_string())) {
    return invalid("data.cmd", "The cmd field is required.");
  }
  if (worker_ids.empty()) return invalid("worker_ids", "At least one worker is required.");
  for (auto id : worker_ids) {
    const Worker* w = find(id);
    if (!w || w->farm_id != farm_id) return message_reply(404, "Worker not found");
  }
  const std::int64_t batch = next_command_++;
  const std::int64_t ready = now_ms() + options_.command_delay.count();
  json list = json::array();
  json cmd_ids = json::array();
  for (auto id : worker_ids) {
    Worker& w = *find(id);
    const std::int64_t cmd_id = bulk ? next_command_++ : batch;
    Message msg{next_message_++,
                id,
                cmd_id,
                cmd,
                "success",
                "",
                "",
                ready,
                now_unix() + options_.command_delay.count() / 1000};
    if (cmd == "reboot") {
      msg.title = "Rebooting";
      w.offline_until_ms = ready + options_.reboot_offline.count();
      w.boot_time =
          now_unix() + (options_.command_delay.count() + options_.reboot_offline.count()) / 1000;
    } else if (cmd == "shutdown") {
      msg.title = "Shutting down";
      w.shut_down = true;
    } else if (cmd == "miner") {
      const std::string action = data.value("action", "");
      msg.title = "Miner " + action;
      if (action == "stop") w.miner_stopped = true;
      if (action == "start" || action == "restart") w.miner_stopped = false;
    } else if (cmd == "exec") {
      msg.title = "Exec: " + data["cmd"].get<std::string>().substr(0, 100);
      msg.type = "info";
      msg.payload = "hiveos-sim ran: " + data["cmd"].get<std::string>().substr(0, 1000) + "\n";
    } else {
      msg.title = cmd;
    }
    if (!worker_online(w) && cmd != "reboot") {
      // A worker pulls its commands when it is up: a rebooting one after its reboot, one that is
      // off never (no message ever arrives).
      msg.ready_ms = w.offline_until_ms && !w.shut_down && w.online
                         ? *w.offline_until_ms + options_.command_delay.count()
                         : INT64_MAX;
    }
    messages_.push_back(msg);
    cmd_ids.push_back(cmd_id);
    json item = {{"id", cmd_id}, {"command", cmd}, {"data", data}};
    if (bulk) item["worker_id"] = id;
    list.push_back(item);
  }
  if (commands_.size() < 100000) {
    commands_.push_back({{"t_ms", now_ms()},
                         {"farm_id", farm_id},
                         {"worker_ids", worker_ids},
                         {"command", cmd},
                         {"data", data},
                         {"bulk", bulk},
                         {"cmd_ids", cmd_ids}});
  }
  return json_reply(bulk ? 200 : 201, json{{"id", batch}, {"commands", list}});
}

Reply Fleet::messages(std::int64_t farm_id, std::int64_t worker_id,
                      const std::map<std::string, std::string>& query) {
  const Worker* w = find(worker_id);
  if (!w || w->farm_id != farm_id) return message_reply(404, "Worker not found");
  std::int64_t start_time = 0;
  if (auto it = query.find("start_time"); it != query.end())
    start_time = to_id(it->second).value_or(0);
  const bool with_payload = query.count("with_payload") && query.at("with_payload") == "1";
  const std::int64_t now = now_ms();
  json data = json::array();
  for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
    if (it->worker_id != worker_id || it->ready_ms > now || it->time < start_time) continue;
    json m = {{"id", it->id},         {"title", it->title},
              {"type", it->type},     {"time", it->time},
              {"cmd_id", it->cmd_id}, {"command", it->command},
              {"command_result", 0},  {"has_payload", !it->payload.empty()}};
    if (with_payload && !it->payload.empty()) m["payload"] = it->payload;
    data.push_back(m);
    if (data.size() >= 50) break;
  }
  const auto n = static_cast<std::int64_t>(data.size());
  return json_reply(200, json{{"data", data},
                              {"pagination",
                               {{"total", n},
                                {"count", n},
                                {"per_page", 50},
                                {"current_page", 1},
                                {"total_pages", 1}}}});
}

Reply Fleet::control(const std::string& method, const std::string& path, const std::string& body) {
  std::lock_guard lock(mu_);
  json req = body.empty() ? json::object() : json::parse(body, nullptr, false);
  if (req.is_discarded() || !req.is_object())
    return message_reply(400, "body must be a JSON object");
  static const std::regex worker_re(R"(/control/workers/(\d+))");
  std::smatch m;
  try {
    if (path == "/control/requests") {
      if (method == "DELETE") {
        requests_ = json::array();
        return {204, "", "", {}};
      }
      return json_reply(200, json{{"requests", requests_}});
    }
    if (path == "/control/commands") return json_reply(200, json{{"commands", commands_}});
    if (path == "/control/reset" && method == "POST") {
      build();
      return {204, "", "", {}};
    }
    if (path == "/control/state") {
      return json_reply(
          200,
          json{{"farms", farms_.size()}, {"workers", workers_.size()}, {"faults", faults_.size()}});
    }
    if (path == "/control/faults") {
      if (method == "DELETE") {
        faults_.clear();
        return {204, "", "", {}};
      }
      Fault f;
      f.path_prefix = req.value("path_prefix", std::string("/"));
      f.count = req.value("count", 1);
      f.status = req.value("status", 0);
      f.retry_after = req.value("retry_after", std::string());
      f.body = req.value("body", std::string());
      f.delay = std::chrono::milliseconds(req.value("delay_ms", 0));
      faults_.push_back(f);
      return {204, "", "", {}};
    }
    if (path == "/control/tokens" && method == "POST") {
      if (req.contains("add")) tokens_.insert(req["add"].get<std::string>());
      if (req.contains("revoke")) tokens_.erase(req["revoke"].get<std::string>());
      return {204, "", "", {}};
    }
    if (path == "/control/farms" && method == "POST") {
      const std::int64_t id = farms_.empty() ? 101 : farms_.rbegin()->first + 1;
      farms_[id] = req.value("name", "farm-" + std::to_string(id));
      return json_reply(201, json{{"id", id}});
    }
    if (path == "/control/workers" && method == "POST") {
      Worker w;
      w.id = next_worker_++;
      w.farm_id = req.at("farm_id").get<std::int64_t>();
      if (!farms_.count(w.farm_id)) return message_reply(404, "no such farm");
      w.platform = req.value("platform", 1);
      w.name = req.value("name", "rig-new-" + std::to_string(w.id));
      w.ip = req.value("ip", std::string("10.250.0.1"));
      w.boot_time = now_unix() - 3600;
      if (w.platform == 1) {
        for (int g = 0; g < req.value("gpus", 4); ++g)
          w.gpus.push_back({g + 1, kGpuModels[0], "nvidia", 60, 50, 120, 30000});
      } else {
        for (int b = 0; b < 3; ++b)
          w.boards.push_back({b + 5, 70, 470});
      }
      workers_[w.id] = w;
      return json_reply(201, json{{"id", w.id}});
    }
    if (std::regex_match(path, m, worker_re)) {
      Worker* w = find(std::stoll(m[1]));
      if (!w) return message_reply(404, "no such worker");
      if (method == "DELETE") {
        workers_.erase(w->id);
        return {204, "", "", {}};
      }
      if (method == "GET") return json_reply(200, worker_json(*w));
      if (req.contains("name")) w->name = req["name"].get<std::string>();
      if (req.contains("farm_id")) {
        const auto farm = req["farm_id"].get<std::int64_t>();
        if (!farms_.count(farm)) return message_reply(404, "no such farm");
        w->farm_id = farm;
      }
      if (req.contains("online")) w->online = req["online"].get<bool>();
      if (req.contains("temp")) {
        if (req["temp"].is_null())
          w->temp_override.reset();
        else
          w->temp_override = req["temp"].get<double>();
      }
      if (req.contains("stale")) {
        if (req["stale"].get<bool>())
          w->frozen_stats_time = now_unix() - req.value("stale_s", 3600);
        else
          w->frozen_stats_time.reset();
      }
      if (req.contains("problems")) w->problems = req["problems"].get<std::vector<std::string>>();
      if (req.contains("shut_down")) w->shut_down = req["shut_down"].get<bool>();
      return json_reply(200, worker_json(*w));
    }
  } catch (const std::exception& e) {
    return message_reply(400, std::string("bad control request: ") + e.what());
  }
  return message_reply(404, "unknown control path");
}

}  // namespace fleet::hiveossim
