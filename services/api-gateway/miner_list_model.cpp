#include "miner_list_model.h"

#include <malloc.h>

#include <algorithm>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "core/strings.h"
#include "db/listener.h"
#include "db/session.h"
#include "json_writer.h"
#include "metrics/registry.h"

namespace fleet::gateway {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::int64_t steady_ticks() {
  return SteadyClock::now().time_since_epoch().count();
}

// The columns a row of the copy is made of, and the condition that finds what a snapshot did not
// see ($1: its xmax, $2: its in-progress transactions).
constexpr const char* kColumns =
    "SELECT worker_id, doc, last_poll_error, managed, ip IS NOT NULL, model_alias FROM miner_list";
constexpr const char* kUnseen = " WHERE changed_xid >= $1::xid8 OR changed_xid = ANY ($2::xid8[])";

std::pair<std::int64_t, MinerListItem> item_of(const pqxx::row& r) {
  MinerListItem item;
  JsonWriter w(r[1].size() + 64);
  std::optional<std::string_view> error;
  if (!r[2].is_null()) error = std::string_view(r[2].c_str(), r[2].size());
  write_miner_item(w, std::string_view(r[1].c_str(), r[1].size()), error);
  item.json = w.take();
  item.json.shrink_to_fit();  // held for as long as the miner is unchanged
  item.managed = r[3].as<bool>();
  item.online = r[4].as<bool>();
  if (!r[5].is_null()) item.model_alias = r[5].as<std::string>();
  return {r[0].as<std::int64_t>(), std::move(item)};
}

// Starts a transaction that reads one snapshot and returns that snapshot.
SnapshotMark begin_snapshot(pqxx::transaction_base& tx) {
  tx.exec0("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  const std::string text = tx.exec1("SELECT pg_current_snapshot()::text")[0].as<std::string>();
  auto mark = parse_snapshot(text);
  if (!mark) throw std::runtime_error("unexpected snapshot text: " + text.substr(0, 100));
  return *mark;
}

}  // namespace

void write_miner_item(JsonWriter& w, std::string_view doc,
                      std::optional<std::string_view> last_poll_error) {
  if (!doc.empty() && doc.back() == '}') doc.remove_suffix(1);  // its closing brace
  w.raw(doc);
  w.key("last_poll_error");  // firmware text: secrets it may echo are redacted
  if (last_poll_error) {
    w.string(redact_secrets(*last_poll_error));
  } else {
    w.null();
  }
  w.end_object();
}

std::string MinerListIndex::page(std::int64_t after, std::int64_t limit,
                                 const MinerListFilter& filter) const {
  std::vector<const MinerListItem*> items;
  items.reserve(static_cast<std::size_t>(std::clamp<std::int64_t>(limit, 0, 1000)));
  std::size_t bytes = 64;
  std::int64_t last = 0;
  bool more = false;
  for (auto it = rows_.upper_bound(after); it != rows_.end(); ++it) {
    const MinerListItem& item = it->second;
    if (filter.managed && item.managed != *filter.managed) continue;
    if (filter.online && item.online != *filter.online) continue;
    if (filter.model && item.model_alias != filter.model) continue;
    if (static_cast<std::int64_t>(items.size()) == limit) {
      more = true;
      break;
    }
    items.push_back(&item);
    bytes += item.json.size() + 1;
    last = it->first;
  }
  JsonWriter w(bytes);
  w.begin_object().key("items").begin_array();
  for (const MinerListItem* item : items)
    w.raw(item->json);
  w.end_array().key("next");
  if (more) {
    w.string(std::to_string(last));
  } else {
    w.null();
  }
  w.key("limit").integer(limit).end_object();
  return w.take();
}

std::string SnapshotMark::in_progress_array() const {
  std::string out = "{";
  for (std::size_t i = 0; i < in_progress.size(); ++i) {
    if (i > 0) out += ',';
    out += in_progress[i];
  }
  return out + "}";
}

std::optional<SnapshotMark> parse_snapshot(std::string_view text) {
  auto digits = [](std::string_view s) {
    return !s.empty() && s.size() <= 20 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const auto first = text.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = text.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const std::string_view xmin = text.substr(0, first);
  SnapshotMark mark;
  const std::string_view xmax = text.substr(first + 1, second - first - 1);
  if (!digits(xmin) || !digits(xmax)) return std::nullopt;
  mark.xmax = std::string(xmax);
  for (std::string_view rest = text.substr(second + 1); !rest.empty();) {
    const auto comma = rest.find(',');
    const std::string_view id = rest.substr(0, comma);
    if (!digits(id)) return std::nullopt;
    mark.in_progress.emplace_back(id);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
    if (rest.empty()) return std::nullopt;  // a trailing comma
  }
  return mark;
}

MinerListModel::MinerListModel(db::ConnectionOptions database, MinerListModelOptions options,
                               metrics::Registry* metrics)
    : options_(options), database_(std::move(database)) {
  database_.application_name += " (miners list)";
  session_ = std::make_unique<db::Session>(database_);
  if (metrics != nullptr) {
    const std::string help = "GET /api/miners pages without q, by where they were answered from";
    from_memory_ = &metrics->counter("fleet_gateway_miner_pages_total", help, {{"from", "memory"}});
    from_database_ =
        &metrics->counter("fleet_gateway_miner_pages_total", help, {{"from", "database"}});
    rows_gauge_ = &metrics->gauge("fleet_gateway_miner_list_rows", "Miners held in memory");
    loads_counter_ = &metrics->counter("fleet_gateway_miner_list_loads_total",
                                       "Full loads of the miners list into memory");
    catch_ups_counter_ =
        &metrics->counter("fleet_gateway_miner_list_catch_ups_total",
                          "Fetches of the miners list's rows changed since the last snapshot");
  }
}

void MinerListModel::start() {
  // The listener first: a load must start after the LISTEN is in place (its callback asks for
  // a load), or a change committed in between would be missed.
  listener_ = std::make_unique<db::Listener>(
      database_, "fleet_miner_list",
      [this](std::optional<std::string_view> payload) { on_notification(payload); });
  thread_ = std::thread([this] { run(); });
}

MinerListModel::~MinerListModel() {
  listener_.reset();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  session_->cancel();
  if (thread_.joinable()) thread_.join();
}

void MinerListModel::on_notification(std::optional<std::string_view> payload) {
  // (Re)connected: whatever happened meanwhile is unknown. "reload": a TRUNCATE.
  if (!payload || *payload == "reload") reload_wanted_.fetch_add(1);
  wanted_.fetch_add(1);
  { std::lock_guard lock(mu_); }
  cv_.notify_one();
}

void MinerListModel::changed_here() {
  wanted_.fetch_add(1);
  { std::lock_guard lock(mu_); }
  cv_.notify_one();
}

bool MinerListModel::current() const {
  if (!listener_ || !listener_->listening() || loads_.load() == 0) return false;
  if (reloaded_.load() != reload_wanted_.load() || applied_.load() != wanted_.load()) return false;
  const auto age = SteadyClock::duration(steady_ticks() - synced_at_.load());
  return age <= options_.max_lag;
}

std::optional<std::string> MinerListModel::page(std::int64_t after, std::int64_t limit,
                                                const MinerListFilter& filter) const {
  std::string text;
  {
    // Checked under the lock: a load empties the copy first, and it is wanted (so current() is
    // false) before it begins.
    std::shared_lock lock(data_mu_);
    if (current()) text = index_.page(after, limit, filter);
  }
  if (text.empty()) {
    if (from_database_ != nullptr) from_database_->inc();
    return std::nullopt;
  }
  if (from_memory_ != nullptr) from_memory_->inc();
  return text;
}

void MinerListModel::load() {
  const auto started = SteadyClock::now();
  // Pages do not come from the copy while it loads (a load is wanted, so current() is false):
  // the old one goes first, so that memory never holds two.
  {
    MinerListIndex old;
    {
      std::unique_lock lock(data_mu_);
      std::swap(index_, old);
    }
  }
  MinerListIndex fresh;
  SnapshotMark mark;
  session_->transact([&](pqxx::transaction_base& tx) {
    mark = begin_snapshot(tx);
    // In batches through a cursor: the whole table as one result would be as large as the copy.
    tx.exec0(std::string("DECLARE fleet_miner_list_load NO SCROLL CURSOR FOR ") + kColumns);
    for (;;) {
      const auto rows = tx.exec("FETCH 5000 FROM fleet_miner_list_load");
      for (const auto& row : rows) {
        auto [id, item] = item_of(row);
        fresh.put(id, std::move(item));
      }
      if (rows.size() < 5000) break;
    }
  });
  const std::size_t rows = fresh.size();
  {
    std::unique_lock lock(data_mu_);
    std::swap(index_, fresh);
  }
  mark_ = std::move(mark);
  if (rows_gauge_ != nullptr) rows_gauge_->set(static_cast<double>(rows));
  loads_.fetch_add(1);
  if (loads_counter_ != nullptr) loads_counter_->inc();
  // Give the freed copy and batches back to the system.
  ::malloc_trim(0);
  spdlog::info(
      "miners list in memory: {} miners loaded in {} ms", rows,
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started).count());
}

void MinerListModel::catch_up() {
  SnapshotMark next;
  std::vector<std::int64_t> gone;
  std::vector<std::pair<std::int64_t, MinerListItem>> changed;
  session_->transact([&](pqxx::transaction_base& tx) {
    next = begin_snapshot(tx);
    const std::string in_progress = mark_.in_progress_array();
    for (const auto& row :
         tx.exec_params(std::string("SELECT worker_id FROM miner_list_gone") + kUnseen, mark_.xmax,
                        in_progress)) {
      gone.push_back(row[0].as<std::int64_t>());
    }
    const auto rows = tx.exec_params(std::string(kColumns) + kUnseen, mark_.xmax, in_progress);
    changed.reserve(rows.size());
    for (const auto& row : rows)
      changed.push_back(item_of(row));
  });
  std::size_t size = 0;
  if (!gone.empty() || !changed.empty()) {
    std::unique_lock lock(data_mu_);
    // Removals first: a row removed and added again since is in `changed` as it is now.
    for (const std::int64_t id : gone)
      index_.erase(id);
    for (auto& [id, item] : changed)
      index_.put(id, std::move(item));
    size = index_.size();
    if (rows_gauge_ != nullptr) rows_gauge_->set(static_cast<double>(size));
  }
  mark_ = std::move(next);
  if (catch_ups_counter_ != nullptr) catch_ups_counter_->inc();
  if (!gone.empty() || !changed.empty()) {
    spdlog::debug("miners list in memory: {} changed, {} removed", changed.size(), gone.size());
  }
}

void MinerListModel::run() {
  bool failing = false;
  std::unique_lock lock(mu_);
  while (!stop_) {
    const auto due = [&] {
      return stop_ || reload_wanted_.load() != reloaded_.load() ||
             applied_.load() != wanted_.load();
    };
    // Notified, asked, or a periodic catch-up (a notification can be lost in transit).
    if (!due()) cv_.wait_for(lock, options_.refresh, due);
    if (stop_) break;
    // Nothing to catch up with before the first load, which waits for the listener (and will
    // see whatever was asked for meanwhile).
    if (loads_.load() == 0 && reload_wanted_.load() == reloaded_.load()) {
      applied_.store(wanted_.load());
      continue;
    }
    lock.unlock();
    // Read before the snapshot is taken: what the snapshot is known to include.
    const std::uint64_t reload = reload_wanted_.load();
    const std::uint64_t wanted = wanted_.load();
    bool ok = true;
    try {
      if (reload != reloaded_.load()) {
        load();
        reloaded_.store(reload);
      } else {
        catch_up();
      }
      synced_at_.store(steady_ticks());
      applied_.store(wanted);
      if (failing) spdlog::info("miners list in memory: current again");
      failing = false;
    } catch (const std::exception& e) {
      // Whatever was applied is suspect: the next attempt loads everything.
      reload_wanted_.fetch_add(1);
      ok = false;
      if (!failing) {
        spdlog::warn("miners list in memory: {}; pages come from the database until it is loaded",
                     redact_secrets(e.what()));
      }
      failing = true;
    }
    lock.lock();
    if (!ok) cv_.wait_for(lock, options_.retry, [&] { return stop_; });
  }
}

}  // namespace fleet::gateway
