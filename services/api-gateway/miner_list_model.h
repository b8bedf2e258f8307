// GET /api/miners from memory (issue 15.9; docs/services/api-gateway.md § The miners list in
// memory). Each gateway keeps a copy of miner_list, the narrow table whose rows are the list's
// items (sql/0048), and answers pages from it without a round trip to PostgreSQL: an uncached
// page cost about 360 µs of CPU across the gateway, PostgreSQL and the kernel's loopback (the
// page crossed it twice), which two cores cannot do 5,000 times a second with room to spare.
//
// The copy is kept current the way PostgreSQL tells it, not by expiry:
// - it is loaded in one REPEATABLE READ snapshot, after LISTEN fleet_miner_list is in place;
// - every transaction that changes miner_list notifies at its commit (sql/0052); on that
//   notification the copy fetches the rows written by transactions its last snapshot did not see
//   (miner_list.changed_xid, and miner_list_gone for removals), in a new snapshot;
// - from the moment a notification arrives until that fetch is applied, pages come from the
//   database, and so they do after any change made through this gateway (a client reads its own
//   writes), while the listener is disconnected, while loading, and when the last fetch is older
//   than `max_lag` (a lost notification is caught by a fetch every `refresh` anyway).
// So a page is never older than the last notification this gateway has received. A change
// committed by another process is on the pages once its notification has arrived (well under a
// millisecond on one host); until then, a page shows the list as it was a moment before.
//
// Pages filtered by `q` (a case-insensitive search in PostgreSQL's collation) are always asked of
// the database. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "db/connection_options.h"

namespace fleet::db {
class Listener;
class Session;
}  // namespace fleet::db
namespace fleet::metrics {
class Registry;
class Counter;
class Gauge;
}  // namespace fleet::metrics

namespace fleet::gateway {

class JsonWriter;

// One miner of a page: its stored object (miner_list.doc, without last_poll_error) with
// last_poll_error added, redacted (firmware text may echo secrets). The database path and the copy
// in memory both write items with this, so their pages are the same bytes.
void write_miner_item(JsonWriter& w, std::string_view doc,
                      std::optional<std::string_view> last_poll_error);

// The filters a page can have besides `q`.
struct MinerListFilter {
  std::optional<bool> managed;
  std::optional<bool> online;  // has an IP
  std::optional<std::string> model;
};

// What the copy holds of one miner.
struct MinerListItem {
  std::string json;  // the page's item (write_miner_item)
  bool managed = false;
  bool online = false;
  std::optional<std::string> model_alias;
};

// The copy's rows, ordered by id. Not thread-safe.
class MinerListIndex {
 public:
  void put(std::int64_t id, MinerListItem item) { rows_[id] = std::move(item); }
  void erase(std::int64_t id) { rows_.erase(id); }
  std::size_t size() const { return rows_.size(); }
  // The items after `after` that match `filter`, at most `limit` of them, as
  // {"items":[...],"next":"<last id>"|null,"limit":N} — the page the database path writes.
  std::string page(std::int64_t after, std::int64_t limit, const MinerListFilter& filter) const;

 private:
  std::map<std::int64_t, MinerListItem> rows_;
};

// What a catch-up must fetch after a snapshot: rows written by transactions it did not see, that
// is with a transaction id >= xmax or among the transactions in progress then.
struct SnapshotMark {
  std::string xmax;                      // a decimal xid8
  std::vector<std::string> in_progress;  // decimal xid8s
  // "{1,2}": the in-progress ids as an array literal for ANY($n::xid8[]).
  std::string in_progress_array() const;
};
// pg_current_snapshot()'s text, "xmin:xmax:xip1,xip2,..."; nullopt when it is not that.
std::optional<SnapshotMark> parse_snapshot(std::string_view text);

struct MinerListModelOptions {
  // A catch-up at least this often, notified or not (a notification lost in transit).
  std::chrono::milliseconds refresh{1'000};
  // Pages come from the database when the last successful catch-up is older than this.
  std::chrono::milliseconds max_lag{5'000};
  // Between attempts after a failed load or catch-up.
  std::chrono::milliseconds retry{1'000};
};

class MinerListModel {
 public:
  // Does not connect yet; pages come from the database until start(). `metrics` may be null.
  MinerListModel(db::ConnectionOptions database, MinerListModelOptions options = {},
                 metrics::Registry* metrics = nullptr);
  ~MinerListModel();
  MinerListModel(const MinerListModel&) = delete;
  MinerListModel& operator=(const MinerListModel&) = delete;

  // Listens and loads, on threads of its own. Call once, before pages are asked.
  void start();

  // The page from memory; nullopt when the copy may be behind (see above): ask the database.
  std::optional<std::string> page(std::int64_t after, std::int64_t limit,
                                  const MinerListFilter& filter) const;

  // A change was committed through this gateway: pages come from the database until a catch-up
  // started after this call has been applied.
  void changed_here();

  // Whether a page asked now would come from memory.
  bool current() const;

 private:
  void run();
  // A full load into a new index; throws on failure.
  void load();
  // The rows written since the last snapshot; throws on failure.
  void catch_up();
  void on_notification(std::optional<std::string_view> payload);

  const MinerListModelOptions options_;
  db::ConnectionOptions database_;
  std::unique_ptr<db::Session> session_;  // the sync thread's

  mutable std::shared_mutex data_mu_;  // guards index_
  MinerListIndex index_;
  SnapshotMark mark_;  // the sync thread's

  // Generations: events bump the wanted ones; the sync thread records which it has applied (the
  // value read before its snapshot was taken).
  std::atomic<std::uint64_t> wanted_{0};
  std::atomic<std::uint64_t> applied_{0};
  std::atomic<std::uint64_t> reload_wanted_{0};  // the listener's first connect asks for the first
  std::atomic<std::uint64_t> reloaded_{0};
  // steady_clock ticks of the last successful load or catch-up; meaningful once loads_ > 0.
  std::atomic<std::int64_t> synced_at_{0};
  std::atomic<std::uint64_t> loads_{0};

  std::mutex mu_;  // with cv_: wakes the sync thread
  std::condition_variable cv_;
  bool stop_ = false;

  metrics::Counter* from_memory_ = nullptr;
  metrics::Counter* from_database_ = nullptr;
  metrics::Gauge* rows_gauge_ = nullptr;
  metrics::Counter* loads_counter_ = nullptr;
  metrics::Counter* catch_ups_counter_ = nullptr;

  std::unique_ptr<db::Listener> listener_;
  std::thread thread_;
};

}  // namespace fleet::gateway
