#include "relay/channel.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <variant>

#include <spdlog/spdlog.h>

namespace fleet::relay {
namespace {

class MqttTransport final : public Transport {
 public:
  explicit MqttTransport(mqtt::Client& client) : client_(client) {}
  Status publish(const OutMessage& m) override {
    return client_.publish(m.topic, m.payload, m.retain ? mqtt::Retain::kYes : mqtt::Retain::kNo);
  }
  void subscribe(const std::string& filter) override {
    if (auto s = client_.subscribe(filter); !s.ok()) {
      spdlog::warn("relay: cannot subscribe to {}: {}", filter, s.error().message());
    }
  }
  void unsubscribe(const std::string& filter) override { client_.unsubscribe(filter); }

 private:
  mqtt::Client& client_;
};

struct Submit {
  RelayRequest request;
  std::function<void(RelayResult)> done;
};
struct Incoming {
  mqtt::Message message;
};
struct Controllers {
  std::vector<ControllerRef> controllers;
};
using Item = std::variant<Submit, Incoming, Controllers>;

}  // namespace

struct RelayChannel::Impl {
  Options options;

  // Protected by queue_mu: what the worker thread has still to do.
  std::mutex queue_mu;
  std::condition_variable wake;
  std::deque<Item> items;
  bool stopping = false;

  // Constant after start(): the client lives until the destructor has joined the worker.
  std::unique_ptr<mqtt::Client> client;
  std::unique_ptr<MqttTransport> transport;

  // Protected by tracker_mu (the worker holds it while it decides, never while calling `done`).
  mutable std::mutex tracker_mu;
  std::unique_ptr<RequestTracker> tracker;

  std::thread worker;

  void push(Item item) {
    {
      std::lock_guard lock(queue_mu);
      items.push_back(std::move(item));
    }
    wake.notify_one();
  }

  static void run(std::vector<RequestTracker::Completion>& completions) {
    for (auto& c : completions) {
      if (!c.done) continue;
      try {
        c.done(std::move(c.result));
      } catch (const std::exception& e) {
        spdlog::error("relay: a completion callback threw: {}", e.what());
      }
    }
    completions.clear();
  }

  void loop() {
    std::optional<RequestTracker::Time> next;
    std::vector<RequestTracker::Completion> completions;
    while (true) {
      std::deque<Item> batch;
      bool stop = false;
      {
        std::unique_lock lock(queue_mu);
        auto ready = [&] { return stopping || !items.empty(); };
        if (next) {
          wake.wait_until(lock, *next, ready);
        } else {
          wake.wait(lock, ready);
        }
        batch.swap(items);
        stop = stopping;
      }
      {
        std::lock_guard lock(tracker_mu);
        const auto now = std::chrono::steady_clock::now();
        for (auto& item : batch) {
          auto append = [&](std::vector<RequestTracker::Completion> more) {
            for (auto& c : more)
              completions.push_back(std::move(c));
          };
          if (auto* s = std::get_if<Submit>(&item)) {
            if (stop) {
              completions.push_back(
                  {std::move(s->done),
                   RelayResult{RelayResult::Kind::kNotSent,
                               "relay channel shut down before " + s->request.request_id +
                                   " for controller " + s->request.controller.name + " was sent",
                               "{}"}});
            } else {
              append(tracker->submit(std::move(s->request), std::move(s->done), now));
            }
          } else if (auto* m = std::get_if<Incoming>(&item)) {
            append(tracker->on_message(m->message.topic, m->message.payload, m->message.retained,
                                       now));
          } else {
            tracker->set_controllers(std::move(std::get<Controllers>(item).controllers));
          }
        }
        if (stop) {
          auto rest = tracker->abandon_all("the relay channel shut down");
          for (auto& c : rest)
            completions.push_back(std::move(c));
        } else {
          auto due = tracker->on_tick(now);
          for (auto& c : due)
            completions.push_back(std::move(c));
          next = tracker->next_deadline();
        }
      }
      run(completions);
      if (stop) return;
    }
  }
};

RelayChannel::RelayChannel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<RelayChannel>> RelayChannel::start(Options options) {
  if (options.topic_prefix.empty() || options.topic_prefix.front() == '/' ||
      options.topic_prefix.back() == '/' ||
      options.topic_prefix.find_first_of("+#") != std::string::npos) {
    return Error::invalid("relay topic prefix '" + options.topic_prefix +
                          "' must be topic levels without wildcards or outer slashes");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  Impl* raw = impl.get();
  mqtt::Client::Handlers handlers;
  handlers.on_message = [raw](const mqtt::Message& m) { raw->push(Incoming{m}); };
  auto client = mqtt::Client::start(impl->options.broker, std::move(handlers));
  if (!client.ok()) return client.error();
  impl->client = std::move(*client);
  impl->transport = std::make_unique<MqttTransport>(*impl->client);
  impl->tracker = std::make_unique<RequestTracker>(impl->options.topic_prefix, *impl->transport);
  impl->worker = std::thread([raw] { raw->loop(); });
  return std::unique_ptr<RelayChannel>(new RelayChannel(std::move(impl)));
}

RelayChannel::~RelayChannel() {
  {
    std::lock_guard lock(impl_->queue_mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  if (impl_->worker.joinable()) impl_->worker.join();
  impl_->client.reset();  // stops the network thread before the queue it feeds goes away
}

void RelayChannel::set_controllers(std::vector<ControllerRef> controllers) {
  impl_->push(Controllers{std::move(controllers)});
}

void RelayChannel::send(RelayRequest request, std::function<void(RelayResult)> done) {
  impl_->push(Submit{std::move(request), std::move(done)});
}

bool RelayChannel::connected() const {
  return impl_->client->connected();
}

std::optional<bool> RelayChannel::controller_online(std::int64_t controller_id) const {
  std::lock_guard lock(impl_->tracker_mu);
  return impl_->tracker->online(controller_id);
}

std::vector<std::pair<std::int64_t, bool>> RelayChannel::take_availability_changes() {
  std::lock_guard lock(impl_->tracker_mu);
  return impl_->tracker->take_availability_changes();
}

RelayStats RelayChannel::stats() const {
  RelayStats s;
  {
    std::lock_guard lock(impl_->tracker_mu);
    s = impl_->tracker->stats();
  }
  s.oversize_dropped = impl_->client->stats().oversize_dropped;
  return s;
}

}  // namespace fleet::relay
