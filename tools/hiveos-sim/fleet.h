// hiveos-sim's state: HiveOS farms and workers (GPU rigs and ASICs) whose stats move with time,
// commands that turn into worker messages after a delay, bearer tokens, injected faults and a log
// of every request (docs/tools/hiveos-sim.md). Thread-safe: every method takes the lock.
//
// Payloads are shaped as hiveos-api-v2.yaml defines them (Farm, WorkerListItem with stats,
// miners_summary, miners_stats, gpu_info, gpu_stats, gpu_summary, hardware_stats, asic_info,
// asic_stats, watchdog; CommandResponse, CommandsResponse, WorkerMessage), hashrates in kH/s.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fleet::hiveossim {

struct FleetOptions {
  int farms = 3;
  int workers_per_farm = 4;
  double asic_share = 0.0;  // share of workers that are ASICs (platform 2)
  int gpus_per_rig = 6;
  std::uint64_t seed = 1;
  std::vector<std::string> tokens = {"sim-token"};
  std::chrono::milliseconds command_delay{1000};   // command -> result message
  std::chrono::milliseconds reboot_offline{5000};  // a reboot's time offline
};

// An injected fault: the next `count` requests whose path starts with `path_prefix` answer
// `status` (with Retry-After when set, and `body`) after `delay`; status 0 = only the delay.
struct Fault {
  std::string path_prefix = "/";
  int count = 1;
  int status = 0;
  std::string retry_after;
  std::string body;
  std::chrono::milliseconds delay{0};
};

struct Reply {
  int status = 200;
  std::string body;
  std::string retry_after;
  std::chrono::milliseconds delay{0};
};

class Fleet {
 public:
  explicit Fleet(FleetOptions options);

  // Handles one API request (path below /api/v2, query string apart). `authorization` is the
  // Authorization header. Logs it; applies faults and auth first.
  Reply handle(const std::string& method, const std::string& path,
               const std::map<std::string, std::string>& query, const std::string& authorization,
               const std::string& body);

  // Control API (no auth): the answers are JSON.
  Reply control(const std::string& method, const std::string& path, const std::string& body);

 private:
  struct Gpu {
    int bus = 1;
    std::string model;
    std::string brand;
    double temp = 60, fan = 50, power = 120, khs = 30000;
  };
  struct Board {
    int chain = 5;
    double temp = 70, power = 470;
  };
  struct Worker {
    std::int64_t id = 0;
    std::int64_t farm_id = 0;
    int platform = 1;
    std::string name;
    std::string ip;
    std::vector<Gpu> gpus;
    std::vector<Board> boards;
    bool online = true;
    std::optional<std::int64_t> frozen_stats_time;  // stale: stats_time stops here
    std::vector<std::string> problems;
    std::optional<double> temp_override;
    std::optional<std::int64_t> offline_until_ms;  // rebooting
    bool shut_down = false;
    bool miner_stopped = false;
    std::int64_t boot_time = 0;
  };
  struct Message {
    std::int64_t id = 0;
    std::int64_t worker_id = 0;
    std::int64_t cmd_id = 0;
    std::string command;
    std::string type;
    std::string title;
    std::string payload;
    std::int64_t ready_ms = 0;
    std::int64_t time = 0;
  };

  void build();
  std::int64_t now_ms() const;
  std::int64_t now_unix() const;
  bool worker_online(const Worker& w) const;
  nlohmann::json worker_json(const Worker& w) const;
  nlohmann::json farm_json(std::int64_t farm_id) const;
  Reply command(std::int64_t farm_id, const std::vector<std::int64_t>& worker_ids,
                const nlohmann::json& request, bool bulk);
  Reply messages(std::int64_t farm_id, std::int64_t worker_id,
                 const std::map<std::string, std::string>& query);
  Worker* find(std::int64_t id);

  FleetOptions options_;
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::map<std::int64_t, std::string> farms_;  // id -> name
  std::map<std::int64_t, Worker> workers_;     // id -> worker
  std::set<std::string> tokens_;
  std::vector<Fault> faults_;
  std::vector<Message> messages_;
  nlohmann::json requests_ = nlohmann::json::array();
  nlohmann::json commands_ = nlohmann::json::array();
  std::int64_t next_worker_ = 1, next_message_ = 1, next_command_ = 1000;
};

}  // namespace fleet::hiveossim
