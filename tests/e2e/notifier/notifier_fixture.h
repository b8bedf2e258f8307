// Helpers for the notifier's end-to-end tests: channels with sealed secrets, routes,
// notifications written as the producers write them, and a running notifier.
#pragma once

#include <memory>
#include <string>

#include "e2e.h"
#include "secrets/secret_box.h"
#include "webhook_receiver.h"

namespace fleet::test {

struct NotifierEnv {
  TestDatabase db;
  std::string key = secrets::generate_key_text();
  secrets::SecretBox box = *secrets::SecretBox::from_key_text(key);

  // A webhook channel to `url` signed with `secret`; `extra` is SQL "col = value, ..." set after.
  std::string webhook(const std::string& name, const std::string& url, const std::string& secret,
                      const std::string& extra = "", int timeout_ms = 5000) {
    const std::string id =
        db.scalar("INSERT INTO notification_channels (name, kind, config, created_by) VALUES ('" +
                  name + "', 'webhook', jsonb_build_object('url', '" + url + "', 'timeout_ms', " +
                  std::to_string(timeout_ms) + "), 'test') RETURNING id");
    db.exec("UPDATE notification_channels SET secret_enc = '" +
            box.seal(secret, "notification_channel:" + id + ":secret") + "' WHERE id = " + id);
    if (!extra.empty()) db.exec("UPDATE notification_channels SET " + extra + " WHERE id = " + id);
    return id;
  }

  void route(const std::string& name, const std::string& channel_id,
             const std::string& events = "{}") {
    db.exec("INSERT INTO notification_routes (name, channel_id, events, created_by) VALUES ('" +
            name + "', " + channel_id + ", '" + events + "', 'test')");
  }

  // A notification as a producer writes it; returns its id.
  std::string notify(const std::string& event, const std::string& severity,
                     const std::string& title, const std::string& dedupe,
                     const std::string& worker_id = "NULL") {
    return db.scalar(
        "INSERT INTO notifications (source, event, severity, title, worker_id, dedupe_key) "
        "VALUES ('test', '" +
        event + "', '" + severity + "', '" + title + "', " + worker_id + ", '" + dedupe +
        "') RETURNING id");
  }

  Process::Options env(std::map<std::string, std::string> extra = {}) {
    extra["FLEET_SECRET_KEY"] = key;
    if (!extra.contains("FLEET_NOTIFIER_RETRY_INITIAL")) {
      extra["FLEET_NOTIFIER_RETRY_INITIAL"] = "100ms";
    }
    if (!extra.contains("FLEET_NOTIFIER_RETRY_MAX")) extra["FLEET_NOTIFIER_RETRY_MAX"] = "200ms";
    return worker_env(db, std::move(extra));
  }

  std::unique_ptr<Process> start(std::map<std::string, std::string> extra = {}) {
    return std::make_unique<Process>(
        binary("notifier"),
        std::vector<std::string>{"--interval", "0.2", "--health-port", std::to_string(free_port())},
        env(std::move(extra)));
  }
};

}  // namespace fleet::test
