#include "discovery_cycle.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/session.h"
#include "discovery_plan.h"
#include "firmware/http.h"
#include "miner_probe.h"
#include "miner_registry.h"
#include "netscan/tcp_sweep.h"

namespace fleet::discovery {

namespace {

using json = nlohmann::json;

// Rescan requests turned into extra addresses and forced refreshes.
struct RescanWork {
  std::vector<netscan::Cidr> targets;
  std::set<std::string> forced_macs;
  bool force_all = false;
  std::vector<std::pair<std::int64_t, std::string>> invalid;  // refused before sweeping
};

RescanWork rescan_work(const std::vector<RescanRequest>& requests) {
  RescanWork w;
  for (const auto& r : requests) {
    if (r.target) {
      auto c = netscan::parse_cidr(*r.target);
      if (!c.ok()) {
        w.invalid.emplace_back(r.id, "invalid target: " + c.error().message());
      } else {
        w.targets.push_back(*c);
      }
    } else if (r.worker_id) {
      if (r.mac) w.forced_macs.insert(*r.mac);
      if (r.worker_ip) {
        if (auto ip = netscan::parse_ipv4(*r.worker_ip); ip.ok()) w.targets.push_back({*ip, 32});
      }
    } else {
      w.force_all = true;
    }
  }
  return w;
}

std::string outcome_of(const RescanRequest& r, const std::map<std::string, std::string>& ip_by_mac,
                       std::size_t found) {
  if (r.target)
    return "swept " + *r.target + " with the networks: " + std::to_string(found) +
           " Vnish miners in this cycle";
  if (r.worker_id) {
    if (r.mac) {
      auto it = ip_by_mac.find(*r.mac);
      if (it != ip_by_mac.end())
        return "found at " + it->second + "; model, key and polls refreshed";
    }
    return "not found in this sweep";
  }
  return "full rescan: " + std::to_string(found) + " miners refreshed";
}

// Durations of the cycle's phases, for the log (where does a slow sweep spend its time).
class PhaseClock {
 public:
  void lap(const char* name) {
    const auto now = std::chrono::steady_clock::now();
    text_ += fmt::format("{}{} {:.3f}s", text_.empty() ? "" : ", ", name,
                         std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }
  const std::string& describe() const { return text_; }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::string text_;
};

bool inside(const std::vector<netscan::Cidr>& nets, const std::optional<std::string>& ip) {
  if (!ip) return false;
  auto a = netscan::parse_ipv4(*ip);
  if (!a.ok()) return false;
  for (const auto& n : nets) {
    if (n.contains(*a)) return true;
  }
  return false;
}

}  // namespace

DiscoveryCycle::DiscoveryCycle(DiscoveryOptions options, secrets::SecretBox box,
                               std::string instance,
                               std::unique_ptr<firmware::HttpTransport> transport)
    : options_(std::move(options)),
      box_(std::move(box)),
      instance_(std::move(instance)),
      transport_(std::move(transport)) {}

DiscoveryCycle::~DiscoveryCycle() = default;

runtime::CycleReport DiscoveryCycle::run(runtime::CycleContext& ctx) {
  const auto& api = options_.firmware.api;
  PhaseClock phases;

  struct Known {
    std::vector<RescanRequest> requests;
    std::map<std::string, KnownMiner> miners;
    std::map<std::string, KnownModel> models;
  };
  Known known = ctx.db().transact([](pqxx::transaction_base& tx) {
    return Known{open_rescan_requests(tx), load_known_miners(tx), load_models(tx)};
  });
  RescanWork rescan = rescan_work(known.requests);
  std::vector<netscan::Cidr> swept = options_.networks;
  swept.insert(swept.end(), rescan.targets.begin(), rescan.targets.end());
  const auto addresses = netscan::host_addresses(swept);

  auto password_of = [&](const std::string& mac) {
    auto it = known.miners.find(mac);
    if (it != known.miners.end() && it->second.unlock_pass_enc) {
      if (auto p = box_.open(*it->second.unlock_pass_enc,
                             secrets::miner_secret_context(mac, "unlock_password"));
          p.ok())
        return *p;
      spdlog::warn("miner {}: its stored unlock password cannot be opened; using the default",
                   it->second.worker_id);
    }
    return options_.firmware.default_password;
  };
  std::map<std::string, std::string> usable_key;  // mac -> plain key, for /autotune/presets
  for (const auto& [mac, k] : known.miners) {
    if (k.api_key_enc && k.api_key_state == "active") {
      if (auto key = box_.open(*k.api_key_enc, secrets::miner_secret_context(mac, "api_key"));
          key.ok())
        usable_key[mac] = *key;
    }
  }

  // 1-3. One pipeline: the light scan runs on its own thread and hands over each open address at
  // once; /info probes and, for miners that need one, key provisioning follow on the transport
  // while the sweep goes on.
  std::mutex mu;
  std::deque<netscan::Ipv4> opened;  // guarded by mu
  bool sweep_done = false;           // guarded by mu
  std::optional<Result<netscan::SweepResult>> sweep;
  std::atomic<bool> abandon{false};
  std::thread sweeper([&] {
    auto r = netscan::tcp_sweep(
        addresses,
        {.port = options_.port,
         .timeout = options_.dial_timeout,
         .max_in_flight = options_.max_dials},
        [&] { return abandon.load() || ctx.stopping(); },
        [&](netscan::Ipv4 a) {
          std::lock_guard lock(mu);
          opened.push_back(a);
        });
    std::lock_guard lock(mu);
    sweep = std::move(r);
    sweep_done = true;
  });
  struct JoinGuard {
    std::thread& t;
    std::atomic<bool>& abandon;
    ~JoinGuard() {
      abandon = true;
      if (t.joinable()) t.join();
    }
  } join_guard{sweeper, abandon};

  std::vector<IdentifiedMiner> found;
  std::set<std::string> seen_macs;
  std::vector<bool> keyed, forced;
  std::int64_t not_vnish = 0, probe_failed = 0, duplicates = 0, deferred = 0;
  std::int64_t keys_created = 0, keys_reused = 0, keys_failed = 0;
  int provisions_left = options_.max_provisions;
  std::vector<KeyUpdate> key_updates;
  std::vector<std::string> unanswered_ips;

  auto on_key = [&](KeyResult r) {
    KeyUpdate u{r.mac, std::nullopt, r.verified, std::nullopt};
    if (r.key) {
      u.key_enc = box_.seal(*r.key, secrets::miner_secret_context(r.mac, "api_key"));
      usable_key[r.mac] = *r.key;
      ++(r.created ? keys_created : keys_reused);
    } else if (r.error) {
      u.error = r.error->describe();
      ++keys_failed;
      spdlog::warn("miner {}: API key provisioning failed: {}", r.mac, *u.error);
    }
    key_updates.push_back(std::move(u));
  };
  auto on_identified = [&](Identification id) {
    switch (id.kind) {
      case Identification::Kind::kNotVnish:
        ++not_vnish;
        return;
      case Identification::Kind::kNoMac:
      case Identification::Kind::kFailed:
        ++probe_failed;
        return;
      case Identification::Kind::kMiner:
        break;
    }
    IdentifiedMiner m = std::move(*id.miner);
    const std::string mac = *m.info.mac;
    if (!seen_macs.insert(mac).second) {
      ++duplicates;
      return;
    }
    const bool is_forced = rescan.force_all || rescan.forced_macs.count(mac) > 0;
    const KeyAction action =
        key_action(mac, known.miners, is_forced, options_.provision, provisions_left);
    keyed.push_back(usable_key.count(mac) > 0 || action == KeyAction::kProvision);
    forced.push_back(is_forced);
    if (action == KeyAction::kDeferred) ++deferred;
    if (action == KeyAction::kProvision || action == KeyAction::kVerify) {
      if (ctx.dry_run()) {
        if (action == KeyAction::kProvision) {
          ctx.emit(json{{"action", "provision_api_key"}, {"mac", mac}, {"ip", m.ip}}.dump());
        }
      } else {
        auto key = usable_key.find(mac);
        KeyTask task{mac,
                     {m.ip, options_.port},
                     password_of(mac),
                     action == KeyAction::kVerify && key != usable_key.end()
                         ? std::optional<std::string>(key->second)
                         : std::nullopt};
        start_key_task(*transport_, std::move(task), api, options_.firmware.key_description,
                       on_key);
      }
    }
    found.push_back(std::move(m));
  };

  firmware::HttpTransport::RunHooks hooks;
  hooks.low_water = options_.firmware.max_concurrency;
  hooks.refill_may_wait = true;
  hooks.stop = [&ctx] { return ctx.stopping(); };
  hooks.refill = [&] {
    std::deque<netscan::Ipv4> batch;
    bool done = false;
    {
      std::lock_guard lock(mu);
      batch.swap(opened);
      done = sweep_done;
    }
    for (auto a : batch) {
      std::string ip = netscan::format_ipv4(a);
      start_identify(*transport_, ip, options_.port, api, [&, ip](Identification id) {
        // The port answered but the API did not (timeout, reset, bad answer): the host is there.
        if (id.kind == Identification::Kind::kFailed) unanswered_ips.push_back(ip);
        on_identified(std::move(id));
      });
    }
    return !(done && batch.empty());
  };
  transport_->run(hooks);
  sweeper.join();
  if (!sweep || !sweep->ok()) {
    throw std::runtime_error("TCP sweep: " +
                             (sweep ? sweep->error().describe() : std::string("did not finish")));
  }
  const netscan::SweepResult& swept_result = **sweep;
  phases.lap("probe");
  ctx.progress();
  if (ctx.stopping() || swept_result.stopped) {
    return {.counts = {{"addresses", static_cast<std::int64_t>(addresses.size())}}};
  }

  // 4. Models and presets, from one miner per model (with a key when there is one).
  const auto now = std::chrono::system_clock::now();
  const auto model_from =
      models_to_refresh(found, keyed, forced, known.models, now, options_.model_refresh);
  std::vector<ModelUpdate> model_updates;
  if (ctx.dry_run()) {
    for (auto i : model_from) {
      ctx.emit(
          json{{"action", "refresh_model"}, {"model", found[i].info.model}, {"ip", found[i].ip}}
              .dump());
    }
  } else if (!model_from.empty()) {
    std::vector<ModelTask> tasks;
    for (auto i : model_from) {
      const auto& m = found[i];
      auto key = usable_key.find(*m.info.mac);
      tasks.push_back(
          {m.info.model,
           {m.ip, options_.port},
           key == usable_key.end() ? std::nullopt : std::optional<std::string>(key->second),
           m.info});
    }
    for (auto& r : fetch_models(*transport_, std::move(tasks), api, hooks.stop)) {
      for (const auto& p : r.problems)
        spdlog::info("model {}: {}", r.model.alias, p);
      model_updates.push_back({std::move(r.model), std::move(r.presets)});
    }
  }
  phases.lap("models");

  // 5. Write.
  std::map<std::string, std::string> ip_by_mac;
  for (const auto& m : found)
    ip_by_mac[*m.info.mac] = m.ip;
  std::vector<std::pair<std::int64_t, std::string>> handled = rescan.invalid;
  for (const auto& r : known.requests) {
    if (std::any_of(rescan.invalid.begin(), rescan.invalid.end(),
                    [&](const auto& x) { return x.first == r.id; })) {
      continue;
    }
    handled.emplace_back(r.id, outcome_of(r, ip_by_mac, found.size()));
  }
  std::set<std::string> reset;
  for (const auto& mac : rescan.forced_macs) {
    if (ip_by_mac.count(mac)) reset.insert(mac);
  }
  if (rescan.force_all) {
    for (const auto& [mac, ip] : ip_by_mac)
      reset.insert(mac);
  }

  RegistryChanges changes;
  std::int64_t moved = 0;
  for (const auto& m : found) {
    auto k = known.miners.find(*m.info.mac);
    if (k != known.miners.end() && k->second.ip && *k->second.ip != m.ip) ++moved;
  }
  if (ctx.dry_run()) {
    for (const auto& m : found) {
      auto k = known.miners.find(*m.info.mac);
      if (k == known.miners.end()) {
        ctx.emit(json{
            {"action", "add_miner"}, {"mac", *m.info.mac}, {"ip", m.ip}, {"model", m.info.model}}
                     .dump());
      } else if (k->second.ip != m.ip) {
        ctx.emit(json{{"action", "move_miner"},
                      {"mac", *m.info.mac},
                      {"ip", m.ip},
                      {"old_ip", k->second.ip.value_or("")}}
                     .dump());
      }
    }
    for (const auto& [mac, k] : known.miners) {
      if (inside(swept, k.ip) && !ip_by_mac.count(mac) &&
          std::find(unanswered_ips.begin(), unanswered_ips.end(), k.ip.value_or("")) ==
              unanswered_ips.end()) {
        ctx.emit(json{{"action", "mark_offline"}, {"mac", mac}, {"ip", *k.ip}}.dump());
        ++changes.went_offline;
      }
    }
  } else {
    DiscoveryWrite write{.seen = found,
                         .port = options_.port,
                         .manage_new = options_.manage_new,
                         .models = std::move(model_updates),
                         .keys = std::move(key_updates),
                         .partition_share = options_.partition_share,
                         .provision_backoff_max = options_.provision_backoff_max,
                         .reset_poll_macs = std::move(reset),
                         .handled_rescans = std::move(handled),
                         .unanswered_ips = std::move(unanswered_ips),
                         .instance = instance_};
    for (const auto& c : swept)
      write.swept_networks.push_back(c.to_string());
    changes =
        ctx.db().transact([&](pqxx::transaction_base& tx) { return apply_discovery(tx, write); });
    if (changes.unreachable > 0) {
      spdlog::error(
          "{} known miners vanished at once; marked unreachable (their IPs kept): "
          "suspect the network of this discovery-worker",
          changes.unreachable);
    }
  }
  phases.lap("write");
  spdlog::info("discovery phases: sweep {:.3f}s; {}",
               std::chrono::duration<double>(swept_result.elapsed).count(), phases.describe());

  return {.items = static_cast<std::int64_t>(found.size()),
          .counts = {{"addresses", static_cast<std::int64_t>(addresses.size())},
                     {"open", static_cast<std::int64_t>(swept_result.open.size())},
                     {"miners", static_cast<std::int64_t>(found.size())},
                     {"not_vnish", not_vnish},
                     {"probe_failed", probe_failed},
                     {"duplicate_mac", duplicates},
                     {"new", changes.inserted},
                     {"moved", moved},
                     {"offline", changes.went_offline},
                     {"unreachable", changes.unreachable},
                     {"keys_created", keys_created},
                     {"keys_reused", keys_reused},
                     {"keys_failed", keys_failed},
                     {"keys_deferred", deferred},
                     {"models", static_cast<std::int64_t>(model_from.size())},
                     {"rescans", static_cast<std::int64_t>(known.requests.size())}}};
}

}  // namespace fleet::discovery
