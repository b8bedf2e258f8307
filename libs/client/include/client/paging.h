// Keyset pages ({"items", "next", "limit"}) and a range that walks all of them lazily:
//
//   for (const Miner& m : client.miners().all({.managed = true})) ...
//
// The first page is fetched by begin(), each further one when the iteration reaches it, by
// passing the previous page's `next` as `after`. Iterators are single-pass input iterators that
// share the range's state: copies advance together, and a range can be walked once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/errors.h"

namespace fleet::client {

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next;  // cursor of the following page; nullopt on the last one
  std::int64_t limit = 0;
};

template <class T>
class PageRange {
 public:
  // Fetches the page after `after` (nullopt = the first page).
  using Fetch = std::function<Page<T>(const std::optional<std::string>& after)>;

  explicit PageRange(Fetch fetch) : state_(std::make_shared<State>()) {
    state_->fetch = std::move(fetch);
  }

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;

    iterator() = default;
    reference operator*() const { return state_->page.items[state_->index]; }
    pointer operator->() const { return &**this; }
    iterator& operator++() {
      state_->advance();
      if (state_->done) state_.reset();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) { return a.state_ == b.state_; }
    friend bool operator!=(const iterator& a, const iterator& b) { return !(a == b); }

   private:
    friend class PageRange;
    explicit iterator(std::shared_ptr<typename PageRange::State> s) : state_(std::move(s)) {}
    std::shared_ptr<typename PageRange::State> state_;  // null = end
  };

  // Fetches the first page (throws what the fetch throws). Call once.
  iterator begin() {
    state_->start();
    return state_->done ? iterator() : iterator(state_);
  }
  iterator end() { return iterator(); }

  // Pages fetched so far (for tests and progress output).
  int pages_fetched() const { return state_->pages; }

 private:
  struct State {
    Fetch fetch;
    Page<T> page;
    std::size_t index = 0;
    int pages = 0;
    bool started = false;
    bool done = false;

    void load(const std::optional<std::string>& after) {
      page = fetch(after);
      ++pages;
      index = 0;
      if (page.next && after && *page.next == *after) {
        throw ProtocolError("the server returned the same page cursor twice");
      }
    }
    // Skips empty pages that still have a cursor.
    void settle() {
      while (index >= page.items.size()) {
        if (!page.next) {
          done = true;
          return;
        }
        load(std::optional<std::string>(*page.next));
      }
    }
    void start() {
      if (started) return;
      started = true;
      load(std::nullopt);
      settle();
    }
    void advance() {
      ++index;
      settle();
    }
  };

  std::shared_ptr<State> state_;
};

}  // namespace fleet::client
