// What fleetward reads from and sends to the HiveOS API v2 (external-apis.md §3,
// hiveos-api-v2.yaml), mapped to plain structs. Units are converted once, here: hashrates in
// TH/s (HiveOS sends kH/s; the metric catalogue's `hashrate` is TH/s), temperatures in °C, fans in
// percent, power in W, times as Unix seconds. A field HiveOS leaves out or sends as null is
// nullopt / empty, never zero.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fleet::hiveos {

struct Farm {
  std::int64_t id = 0;
  std::string name;
  std::optional<std::int64_t> workers_count;
};

// One GPU: gpu_info and gpu_stats merged by bus_number.
struct Gpu {
  std::optional<int> bus_number;
  std::string bus_id;  // "01:00.0"
  std::optional<int> index;
  std::string brand;  // nvidia | amd | ...
  std::string model;  // "GeForce GTX 1050 Ti"
  std::optional<double> temp_c;
  std::optional<double> mem_temp_c;
  std::optional<double> fan_percent;
  std::optional<double> power_w;
  std::optional<double> core_clock_mhz;
  std::optional<double> mem_clock_mhz;
  std::optional<double> hashrate_ths;  // from miners_stats.hashrates[].hashes by bus number
};

// One ASIC hash board (asic_stats.boards[]).
struct Board {
  std::optional<int> chain;
  std::optional<int> chips;  // acn
  std::optional<double> freq_mhz;
  std::optional<double> temp_c;
  std::optional<double> board_temp_c;
  std::optional<double> power_w;
  std::optional<std::int64_t> hw_errors;
};

// One miner's summary (miners_summary.hashrates[]).
struct Hashrate {
  std::string miner;
  std::string algo;
  std::string coin;
  double ths = 0;  // converted from kH/s
  std::optional<std::int64_t> accepted;
  std::optional<std::int64_t> rejected;
  std::optional<std::int64_t> invalid;
  // The second algorithm of a dual miner (dalgo / dcoin / dhash of the same miner, no shares).
  bool secondary = false;
};

struct Stats {
  std::optional<bool> online;
  std::optional<std::int64_t> stats_time;  // Unix seconds
  std::optional<std::int64_t> boot_time;
  std::optional<std::int64_t> miner_start_time;
  std::optional<int> gpus_online, gpus_offline, gpus_overheated;
  std::optional<int> boards_online, boards_offline, boards_overheated;
  std::optional<double> power_draw_w;
  std::vector<std::string> problems;  // overheat, overload, low_asr, ...
};

struct Watchdog {
  std::optional<bool> enabled;
  std::optional<double> restart_timeout_min;
  std::optional<double> reboot_timeout_min;
  std::string power_action;
};

struct Worker {
  std::int64_t id = 0;
  std::int64_t farm_id = 0;
  int platform = 1;  // 1 GPU rig, 2 ASIC, 3 device
  std::string name;
  std::string description;
  std::optional<bool> active;
  std::optional<int> units_count;
  std::vector<std::string> ip_addresses;
  std::string remote_ip;
  // versions as given ({"hive": "0.6-210", "kernel": ..., "nvidia_driver": ...}), a JSON object
  // text with string values only ("{}" when absent).
  std::string versions_json = "{}";
  Stats stats;
  std::vector<Hashrate> hashrates;
  std::vector<Gpu> gpus;
  std::vector<Board> boards;
  std::string asic_model;  // asic_info.model
  std::string asic_firmware;
  std::optional<double> max_temp_c;  // gpu_summary.max_temp, or the hottest board / GPU
  std::optional<double> max_fan_percent;
  std::optional<double> min_fan_rpm;  // asic_stats.fans[].fan_rpm
  std::optional<double> cpu_temp_c;   // hardware_stats.cputemp max
  std::optional<double> cpu_load_1m;  // hardware_stats.cpuavg[0]
  Watchdog watchdog;
};

// A command as HiveOS takes it: CommandRequest {"command": ..., "data": {...}}.
struct Command {
  std::string command;           // reboot | shutdown | miner | exec
  std::string data_json = "{}";  // a JSON object
};

// What POST .../command answers: the HiveOS command id per worker.
struct SentCommand {
  std::int64_t worker_id = 0;
  std::int64_t command_id = 0;  // matched against WorkerMessage::cmd_id
};

// A worker message (GET .../messages): command results arrive as these.
struct Message {
  std::int64_t id = 0;
  std::optional<std::int64_t> cmd_id;
  std::string type;  // success | info | file | warning | danger
  std::string title;
  std::string command;
  std::optional<int> command_result;
  std::optional<std::int64_t> time;  // Unix seconds
  std::string payload;               // with_payload=1; capped
};

}  // namespace fleet::hiveos
