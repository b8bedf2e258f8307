#include "relay_fixture.h"

#include <httplib.h>
#include <catch2/catch.hpp>

namespace fleet::test {

std::function<void(relay::RelayResult)> ResultWaiter::callback() {
  return [p = promise_, n = calls_](relay::RelayResult r) {
    if (++*n == 1) p->set_value(std::move(r));
  };
}

relay::RelayResult ResultWaiter::wait(std::chrono::milliseconds timeout) {
  auto f = promise_->get_future();
  if (f.wait_for(timeout) != std::future_status::ready) {
    FAIL("the relay channel did not complete the request within the test's limit");
  }
  return f.get();
}

mqtt::BrokerOptions broker_options(const MosquittoBroker& broker) {
  mqtt::BrokerOptions o;
  o.host = "127.0.0.1";
  o.port = broker.port();
  o.reconnect_min = std::chrono::seconds(1);
  o.reconnect_max = std::chrono::seconds(2);
  return o;
}

RelayRig::RelayRig() {
  broker = MosquittoBroker::start();
  sim = std::make_unique<RelaySimProcess>(
      broker->address(),
      std::vector<std::string>{"--controller", "rack-a:fleetward:rack-a:4", "--controller",
                               "plug:tasmota:plug-1:4", "--min-cycle-interval", "1h"});
  REQUIRE(sim->ready());
  relay::RelayChannel::Options o;
  o.broker = broker_options(*broker);
  auto c = relay::RelayChannel::start(o);
  REQUIRE(c.ok());
  channel = std::move(*c);
  channel->set_controllers({rack_a(), plug()});
  REQUIRE(both_online());
}

bool RelayRig::both_online(std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        return channel->controller_online(kRackA) == true &&
               channel->controller_online(kPlug) == true;
      },
      timeout);
}

relay::RelayRequest RelayRig::request(const relay::ControllerRef& c, int channel_number,
                                      relay::Op op, std::chrono::milliseconds duration,
                                      std::string id) const {
  relay::RelayRequest r;
  r.controller = c;
  r.channel = channel_number;
  r.op = op;
  r.duration = duration;
  r.request_id = std::move(id);
  r.ack_timeout = std::chrono::seconds(3);
  return r;
}

relay::RelayResult RelayRig::send(relay::RelayRequest r) {
  ResultWaiter w;
  channel->send(std::move(r), w.callback());
  return w.wait();
}

}  // namespace fleet::test
