#include "send_lanes.h"

#include <algorithm>

namespace fleet::notifier {

SendLanes::SendLanes(int per_channel) : per_channel_(std::max(1, per_channel)) {}

SendLanes::~SendLanes() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    for (auto& [id, lane] : lanes_)
      lane->cv.notify_all();
  }
  for (auto& [id, lane] : lanes_) {
    for (auto& t : lane->threads)
      t.join();
  }
}

void SendLanes::submit(std::int64_t channel, Job job) {
  std::lock_guard lock(mu_);
  auto& lane = lanes_[channel];
  if (!lane) lane = std::make_unique<Lane>();
  lane->queue.push_back(std::move(job));
  // A thread more while the lane has more work than threads, up to per_channel.
  if (lane->threads.size() < static_cast<std::size_t>(per_channel_) &&
      lane->queue.size() + lane->running > lane->threads.size()) {
    Lane* l = lane.get();
    lane->threads.emplace_back([this, l] { loop(*l); });
  }
  lane->cv.notify_one();
}

std::size_t SendLanes::load(std::int64_t channel) const {
  std::lock_guard lock(mu_);
  const auto it = lanes_.find(channel);
  return it == lanes_.end() ? 0 : it->second->queue.size() + it->second->running;
}

void SendLanes::loop(Lane& lane) {
  std::unique_lock lock(mu_);
  while (true) {
    lane.cv.wait(lock, [&] { return stop_ || !lane.queue.empty(); });
    if (stop_) return;
    Job job = std::move(lane.queue.front());
    lane.queue.pop_front();
    ++lane.running;
    lock.unlock();
    job();
    lock.lock();
    --lane.running;
  }
}

}  // namespace fleet::notifier
