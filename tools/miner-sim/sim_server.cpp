#include "sim_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "identity.h"

namespace fleet::minersim {
namespace {

constexpr size_t kReservedFds = 64;  // stdio, epoll/eventfds, log files, control connections

Status validate(const SimOptions& o) {
  if (o.count < 1 || o.count > 1'000'000) {
    return Error::invalid("--count must be between 1 and 1000000, got " + std::to_string(o.count));
  }
  if (!is_loopback(o.base_ip)) {
    return Error::invalid("--base-ip " + format_ip(o.base_ip) +
                          " is not a loopback address: the simulator only listens on 127.0.0.0/8");
  }
  const uint64_t last = static_cast<uint64_t>(o.base_ip) + static_cast<uint64_t>(o.count) - 1;
  if (last > 0x7fffffffULL) {
    return Error::invalid("--count " + std::to_string(o.count) + " miners from --base-ip " +
                          format_ip(o.base_ip) + " run past 127.255.255.255");
  }
  if (o.port == 0) return Error::invalid("--port must be between 1 and 65535");
  if (!is_loopback(o.control_ip)) {
    return Error::invalid("--control " + format_ip(o.control_ip) + " is not a loopback address");
  }
  if (o.threads < 0 || o.threads > 64) return Error::invalid("--threads must be between 0 and 64");
  if (!o.preset_api_key.empty() && !valid_api_key_format(o.preset_api_key)) {
    return Error::invalid("--api-key must be 32 hexadecimal characters");
  }
  return {};
}

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the limit now in force.
Result<size_t> raise_fd_limit(size_t needed) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return Error::internal(std::string("getrlimit: ") + std::strerror(errno));
  }
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit want = lim;
    want.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) lim = want;
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed) {
    return Error(ErrorKind::kResourceExhausted,
                 "need at least " + std::to_string(needed) +
                     " file descriptors (one listening socket per miner plus connections), but "
                     "RLIMIT_NOFILE is " +
                     std::to_string(lim.rlim_cur) + " (hard " + std::to_string(lim.rlim_max) +
                     "); raise it (ulimit -n, LimitNOFILE=) or simulate fewer miners");
  }
  return lim.rlim_cur == RLIM_INFINITY ? size_t{1} << 20 : static_cast<size_t>(lim.rlim_cur);
}

std::string_view style_name(FirmwareStyle s) {
  return s == FirmwareStyle::kLegacy ? "legacy" : "current";
}

}  // namespace

Result<std::unique_ptr<SimServer>> SimServer::start(const SimOptions& options) {
  if (auto st = validate(options); !st.ok()) return st.error();
  int threads = options.threads;
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min(threads, options.count);

  const size_t count = static_cast<size_t>(options.count);
  // Every miner needs its listener, and a useful simulator a few connections beyond that.
  auto limit = raise_fd_limit(count + kReservedFds + 64);
  if (!limit.ok()) return limit.error();

  std::unique_ptr<SimServer> server(new SimServer(options));
  server->connection_budget_ = *limit - count - kReservedFds;
  if (options.max_connections > 0) {
    server->connection_budget_ = std::min(server->connection_budget_, options.max_connections);
  }

  // Miners.
  const Now now = Now::real();
  const MinerTiming timing{.token_ttl = options.token_ttl, .init_time = options.init_time};
  server->miners_.reserve(count);
  for (int i = 0; i < options.count; ++i) {
    auto m = std::make_unique<Miner>(make_identity(i, options), options.password, timing, now);
    m->set_ip(initial_ip(i, options));
    if (!options.preset_api_key.empty()) {
      (void)m->add_key(options.preset_api_key, options.preset_api_key_description);
    }
    server->ip_owner_[m->ip()] = i;
    server->miners_.push_back(std::move(m));
  }

  // Shards.
  ShardConfig config{.port = options.port,
                     .idle_timeout = options.idle_timeout,
                     .hang_limit = options.hang_limit,
                     .reboot_time = options.reboot_time,
                     .max_connections = std::max<size_t>(1, server->connection_budget_ / threads)};
  config.shard_count = threads;
  config.churn_per_hour = options.churn_per_hour;
  config.seed = options.seed;
  for (int t = 0; t < threads; ++t) {
    auto loop = EventLoop::create();
    if (!loop.ok()) return loop.error();
    config.shard_index = t;
    server->shards_.push_back(
        std::make_unique<Shard>(std::move(*loop), config, &server->miners_, nullptr));
    SimServer* self = server.get();
    Shard* shard = server->shards_.back().get();
    shard->churn_move = [self, shard](int index) { self->churn_move(*shard, index); };
  }
  server->next_spare_ip_ = options.base_ip + static_cast<uint32_t>(options.count);

  // Faults from the command line, before anything listens (an offline miner never does).
  for (const auto& spec : options.faults) {
    auto picked = resolve(spec.selector, options.count, options.seed,
                          static_cast<uint64_t>(spec.fault.kind) + 1);
    if (!picked.ok()) return Error::invalid("--fault: " + picked.error().message());
    for (int i : *picked) {
      if (auto st = server->shard_of(i).apply_fault(i, spec.fault); !st.ok()) {
        return Error::invalid("--fault " + spec.selector.text + ":" + describe(spec.fault) + ": " +
                              st.error().message());
      }
    }
  }

  // Listeners.
  for (int i = 0; i < options.count; ++i) {
    Miner& m = *server->miners_[i];
    if (!m.reachable(now)) continue;
    if (auto st = server->shard_of(i).open_listener(i, m.ip(), options.port); !st.ok()) {
      return st.error();
    }
  }

  // Control API.
  server->control_api_ = std::make_unique<ControlApi>(*server, options.reboot_time.count());
  auto control_loop = EventLoop::create();
  if (!control_loop.ok()) return control_loop.error();
  ShardConfig control_config{.port = options.control_port, .max_connections = 256};
  server->control_shard_ = std::make_unique<Shard>(std::move(*control_loop), control_config,
                                                   &server->miners_, server->control_api_.get());
  if (auto st = server->control_shard_->open_listener(-1, options.control_ip, options.control_port);
      !st.ok()) {
    return Error::unavailable("--control: " + st.error().message());
  }
  server->control_port_ = server->control_shard_->bound_port(-1);

  // Threads.
  server->running_ = true;
  server->threads_.emplace_back([s = server->control_shard_.get()] {
    s->start_housekeeping();
    s->loop().run();
  });
  for (auto& shard : server->shards_) {
    server->threads_.emplace_back([s = shard.get()] {
      s->start_housekeeping();
      s->loop().run();
    });
  }
  return server;
}

SimServer::~SimServer() {
  stop();
}

void SimServer::stop() {
  if (!running_.exchange(false)) return;
  // The control thread may be waiting on a miner shard: stop it first.
  control_shard_->loop().stop();
  if (!threads_.empty()) threads_[0].join();
  for (auto& shard : shards_)
    shard->loop().stop();
  for (size_t i = 1; i < threads_.size(); ++i)
    threads_[i].join();
  threads_.clear();
}

std::string SimServer::control_url() const {
  return "http://" + format_ip(options_.control_ip) + ":" + std::to_string(control_port_);
}

std::string SimServer::ready_line() const {
  return "miner-sim: " + std::to_string(options_.count) + " miners on " +
         format_ip(options_.base_ip) + ".." +
         format_ip(options_.base_ip + static_cast<uint32_t>(options_.count) - 1) + ":" +
         std::to_string(options_.port) + ", control " + control_url();
}

Status SimServer::check_index(int index) const {
  if (index < 0 || index >= count()) {
    return Error::not_found("no miner " + std::to_string(index) + " (there are " +
                            std::to_string(count()) + ")");
  }
  return {};
}

Status SimServer::on_owner(int index, const std::function<Status(Shard&)>& fn) {
  if (auto st = check_index(index); !st.ok()) return st;
  if (!running_) return Error::unavailable("the simulator is stopping");
  Shard& shard = shard_of(index);
  Status result;
  shard.loop().run_sync([&] { result = fn(shard); });
  return result;
}

MinerView SimServer::make_view(int index, bool detail) {
  Miner& m = *miners_[index];
  const Now now = Now::real();
  MinerView v;
  v.index = index;
  v.ip = format_ip(m.ip());
  v.mac = m.id().mac;
  v.model = m.model().alias;
  v.fw_version = m.id().fw_version;
  v.online = shard_of(index).listening(index);
  for (const auto& f : m.faults())
    v.faults.push_back(describe(f));
  if (detail) {
    v.hostname = m.id().hostname;
    v.serial = m.id().serial;
    v.firmware_style = std::string(style_name(m.id().style));
    v.presets_shape = m.id().presets_shape == PresetsShape::kWrapped ? "wrapped" : "bare";
    v.miner_state = std::string(to_string(m.state(now)));
    v.preset = m.preset().name;
    v.api_keys = m.keys().size();
    for (const auto& k : m.keys())
      v.api_key_descriptions.push_back(k.description);
    v.tokens = m.live_tokens(now);
    v.uptime_s = m.uptime_seconds(now);
    v.find_miner = m.find_miner();
    v.rebooting = m.reboot_start().has_value();
  }
  return v;
}

std::vector<MinerView> SimServer::list() {
  std::vector<MinerView> out;
  if (!running_) return out;
  out.reserve(miners_.size());
  std::mutex mu;
  for (size_t s = 0; s < shards_.size(); ++s) {
    std::vector<MinerView> part;
    shards_[s]->loop().run_sync([&] {
      for (size_t i = s; i < miners_.size(); i += shards_.size()) {
        part.push_back(make_view(static_cast<int>(i), false));
      }
    });
    std::lock_guard lock(mu);
    for (auto& v : part)
      out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(),
            [](const MinerView& a, const MinerView& b) { return a.index < b.index; });
  return out;
}

Result<MinerView> SimServer::get(int index) {
  MinerView v;
  auto st = on_owner(index, [&](Shard&) {
    v = make_view(index, true);
    return Status{};
  });
  if (!st.ok()) return st.error();
  return v;
}

Status SimServer::add_fault(int index, const Fault& fault) {
  return on_owner(index, [&](Shard& s) { return s.apply_fault(index, fault); });
}

Status SimServer::clear_faults(int index, std::optional<FaultKind> kind) {
  return on_owner(index, [&](Shard& s) {
    Miner& m = s.miner(index);
    if (kind) {
      m.remove_faults(*kind);
    } else {
      m.clear_faults();
    }
    s.sync_listener(index);
    return Status{};
  });
}

Status SimServer::set_online(int index, bool online) {
  return on_owner(index, [&](Shard& s) {
    Miner& m = s.miner(index);
    m.set_offline(!online);
    if (online) m.cancel_reboot(Now::real());
    s.sync_listener(index);
    return Status{};
  });
}

Status SimServer::reboot(int index, std::optional<std::chrono::seconds> down) {
  return on_owner(index, [&](Shard& s) {
    s.schedule_reboot(index, std::chrono::milliseconds(0), down.value_or(options_.reboot_time));
    return Status{};
  });
}

bool SimServer::reserve_ip(int index, uint32_t ip, std::string& taken_by) {
  std::lock_guard lock(ip_mu_);
  if (auto it = ip_owner_.find(ip); it != ip_owner_.end() && it->second != index) {
    taken_by = std::to_string(it->second);
    return false;
  }
  ip_owner_[ip] = index;
  return true;
}

void SimServer::settle_ip(int index, uint32_t old_ip, uint32_t new_ip, bool moved) {
  if (old_ip == new_ip) return;
  const uint32_t unused = moved ? old_ip : new_ip;  // the address the miner does not listen on
  std::lock_guard lock(ip_mu_);
  if (auto it = ip_owner_.find(unused); it != ip_owner_.end() && it->second == index) {
    ip_owner_.erase(it);
  }
}

Status SimServer::move(int index, uint32_t ip) {
  if (auto st = check_index(index); !st.ok()) return st;
  if (!is_loopback(ip)) {
    return Error::invalid("field 'ip': " + format_ip(ip) +
                          " is not a loopback address (127.0.0.0/8)");
  }
  // The registry lock is never held while waiting for a shard (a churning shard takes it too).
  std::string taken_by;
  if (!reserve_ip(index, ip, taken_by)) {
    return Error(ErrorKind::kAlreadyExists, format_ip(ip) + " is taken by miner " + taken_by);
  }
  uint32_t old_ip = ip;
  auto st = on_owner(index, [&](Shard& s) {
    old_ip = s.miner(index).ip();
    return s.move(index, ip);
  });
  settle_ip(index, old_ip, ip, st.ok());
  return st;
}

void SimServer::churn_move(Shard& shard, int index) {
  const uint32_t old_ip = shard.miner(index).ip();
  uint32_t ip = 0;
  {
    std::lock_guard lock(ip_mu_);
    // Spare addresses follow the fleet's range; 4096 of them are plenty for churn.
    for (int tries = 0; tries < 4096 && ip == 0; ++tries) {
      const uint32_t candidate = next_spare_ip_++;
      if (!is_loopback(candidate) || (candidate & 0xffu) == 0 || (candidate & 0xffu) == 255) {
        next_spare_ip_ = options_.base_ip + static_cast<uint32_t>(options_.count);
        continue;
      }
      if (ip_owner_.count(candidate) == 0) {
        ip = candidate;
        ip_owner_[ip] = index;
      }
    }
  }
  if (ip == 0) return;
  const Status st = shard.move(index, ip);
  spdlog::debug("churn: miner {} moves {} -> {}: {}", index, format_ip(old_ip), format_ip(ip),
                st.ok() ? "ok" : st.error().message());
  settle_ip(index, old_ip, ip, st.ok());
}

Result<std::vector<int>> SimServer::add_fault_bulk(const Selector& selector, const Fault& fault) {
  auto picked = resolve(selector, count(), options_.seed, static_cast<uint64_t>(fault.kind) + 1);
  if (!picked.ok()) return picked.error();
  for (size_t s = 0; s < shards_.size(); ++s) {
    Status result;
    shards_[s]->loop().run_sync([&] {
      for (int i : *picked) {
        if (static_cast<size_t>(i) % shards_.size() != s) continue;
        if (auto st = shards_[s]->apply_fault(i, fault); !st.ok() && result.ok()) result = st;
      }
    });
    if (!result.ok()) return result.error();
  }
  return picked;
}

void SimServer::clear_all_faults() {
  if (!running_) return;
  for (size_t s = 0; s < shards_.size(); ++s) {
    shards_[s]->loop().run_sync([&] {
      for (size_t i = s; i < miners_.size(); i += shards_.size()) {
        miners_[i]->clear_faults();
        shards_[s]->sync_listener(static_cast<int>(i));
      }
    });
  }
}

StatsView SimServer::stats() {
  StatsView out;
  if (!running_) return out;
  for (size_t s = 0; s < shards_.size(); ++s) {
    shards_[s]->loop().run_sync([&] {
      for (size_t i = s; i < miners_.size(); i += shards_.size()) {
        const auto& counts = miners_[i]->requests;
        for (int e = 0; e < kEndpointCount; ++e) {
          if (counts[e] == 0) continue;
          const std::string path(endpoint_path(static_cast<Endpoint>(e)));
          out.requests[path] += counts[e];
          out.per_miner[static_cast<int>(i)][path] = counts[e];
        }
      }
    });
  }
  return out;
}

void SimServer::reset_stats() {
  if (!running_) return;
  for (size_t s = 0; s < shards_.size(); ++s) {
    shards_[s]->loop().run_sync([&] {
      for (size_t i = s; i < miners_.size(); i += shards_.size())
        miners_[i]->requests.fill(0);
    });
  }
}

}  // namespace fleet::minersim
