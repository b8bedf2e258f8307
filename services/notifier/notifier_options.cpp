#include "notifier_options.h"

#include "config/config.h"
#include "secrets/secret_box.h"

namespace fleet::notifier {

void declare_config(config::Schema& s) {
  using config::Type;
  secrets::declare_config(s);
  s.add({.name = "notifier.batch",
         .type = Type::kInt,
         .help = "notifications routed, groups flushed and messages claimed per step",
         .default_value = std::int64_t{500},
         .min = 1,
         .max = 10'000});
  s.add({.name = "notifier.senders",
         .type = Type::kInt,
         .help = "messages sent at once per channel (threads of the channel's lane, started "
                 "when needed): a slow channel never holds another's",
         .default_value = std::int64_t{16},
         .min = 1,
         .max = 256});
  s.add({.name = "notifier.lease",
         .type = Type::kDuration,
         .help = "a message being sent is leased this long; after a crash it is sent again once "
                 "the lease expires (keep it above the longest channel timeout, 60 s)",
         .default_value = milliseconds(90'000),
         .min = 1,
         .max = 3600});
  s.add({.name = "notifier.ca_file",
         .type = Type::kString,
         .help = "PEM file of CA certificates https webhooks are verified against instead of "
                 "the system's (a private CA); unset = the system's"});
  s.add({.name = "notifier.failing_after",
         .type = Type::kInt,
         .help = "consecutive failed attempts after which a channel is failing (one "
                 "notifier.channel_failing notification until it recovers)",
         .default_value = std::int64_t{3},
         .min = 1,
         .max = 1000});
  s.add({.name = "notifier.retry_initial",
         .type = Type::kDuration,
         .help = "the delay before the first retry of a message (doubling, jittered)",
         .default_value = milliseconds(10'000),
         .min = 0.01,
         .max = 3600});
  s.add({.name = "notifier.retry_max",
         .type = Type::kDuration,
         .help = "retry delays never exceed this",
         .default_value = milliseconds(3'600'000),
         .min = 0.01,
         .max = 86'400});
}

NotifierOptions options_from(const config::Config& c) {
  NotifierOptions o;
  o.batch = static_cast<int>(c.integer("notifier.batch"));
  o.senders = static_cast<int>(c.integer("notifier.senders"));
  o.lease = c.duration("notifier.lease");
  o.ca_file = c.optional_str("notifier.ca_file").value_or("");
  o.failing_after = static_cast<int>(c.integer("notifier.failing_after"));
  o.retry_initial = c.duration("notifier.retry_initial");
  o.retry_max = c.duration("notifier.retry_max");
  return o;
}

}  // namespace fleet::notifier
