#include "miner_probe.h"

#include <algorithm>
#include <memory>
#include <set>

#include "firmware/parse.h"
#include "firmware/provisioning.h"

namespace fleet::discovery {

using firmware::HttpResponse;
using firmware::HttpTransport;

namespace {

HttpTransport::RunHooks stop_hooks(const std::function<bool()>& stop) {
  HttpTransport::RunHooks hooks;
  hooks.stop = stop;
  return hooks;
}

}  // namespace

void start_identify(HttpTransport& transport, const std::string& ip, int port,
                    const firmware::ApiOptions& options, std::function<void(Identification)> done) {
  transport.submit(firmware::get_request({ip, port}, firmware::paths::kInfo, options),
                   [ip, limits = options.limits, done = std::move(done)](HttpResponse r) {
                     Identification out;
                     if (!firmware::classify(r, "/info").ok()) return done(std::move(out));
                     firmware::FieldIssues issues;
                     auto info = firmware::parse_info(r.body, limits, &issues);
                     out.field_issues = static_cast<std::int64_t>(issues.size());
                     if (!info.ok()) {
                       out.kind = Identification::Kind::kFailed;
                     } else if (!info->is_vnish()) {
                       out.kind = Identification::Kind::kNotVnish;
                     } else if (!info->mac) {
                       out.kind = Identification::Kind::kNoMac;
                     } else {
                       out.kind = Identification::Kind::kMiner;
                       out.miner = IdentifiedMiner{ip, std::move(*info)};
                     }
                     done(std::move(out));
                   });
}

IdentifyReport identify(HttpTransport& transport, const std::vector<netscan::Ipv4>& hosts, int port,
                        const firmware::ApiOptions& options, const std::function<bool()>& stop) {
  IdentifyReport report;
  std::vector<std::optional<IdentifiedMiner>> found(hosts.size());
  for (size_t i = 0; i < hosts.size(); ++i) {
    start_identify(transport, netscan::format_ipv4(hosts[i]), port, options,
                   [&report, &found, i](Identification id) {
                     report.field_issues += id.field_issues;
                     switch (id.kind) {
                       case Identification::Kind::kMiner:
                         found[i] = std::move(id.miner);
                         break;
                       case Identification::Kind::kNotVnish:
                         ++report.not_vnish;
                         break;
                       case Identification::Kind::kNoMac:
                         ++report.no_mac;
                         break;
                       case Identification::Kind::kFailed:
                         ++report.failed;
                         break;
                     }
                   });
  }
  transport.run(stop_hooks(stop));
  std::set<std::string> macs;
  for (auto& f : found) {
    if (!f) continue;
    if (!macs.insert(*f->info.mac).second) {
      ++report.duplicate_mac;
      continue;
    }
    report.miners.push_back(std::move(*f));
  }
  return report;
}

void start_key_task(HttpTransport& transport, KeyTask task, const firmware::ApiOptions& options,
                    const std::string& description, std::function<void(KeyResult)> done) {
  auto provision = [&transport, options, description](KeyTask t,
                                                      std::function<void(KeyResult)> finish) {
    firmware::start_provisioning(
        transport, {.miner = t.miner, .password = t.password, .description = description}, options,
        [mac = t.mac, finish = std::move(finish)](Result<firmware::ProvisionedKey> key) {
          KeyResult r;
          r.mac = mac;
          if (key.ok()) {
            r.key = key->key;
            r.created = key->created;
          } else {
            r.error = key.error();
          }
          finish(std::move(r));
        });
  };
  if (!task.stored_key) {
    provision(std::move(task), std::move(done));
    return;
  }
  auto request = firmware::get_request(task.miner, firmware::paths::kAuthCheck, options,
                                       {.api_key = *task.stored_key});
  transport.submit(std::move(request), [task = std::move(task), done = std::move(done),
                                        provision](HttpResponse r) mutable {
    Status s = firmware::classify(r, "/auth-check");
    if (s.ok() || s.error().kind() != ErrorKind::kUnauthenticated) {
      KeyResult result;
      result.mac = task.mac;
      result.verified = s.ok();
      if (!s.ok()) result.error = s.error();
      done(std::move(result));
      return;
    }
    provision(std::move(task), std::move(done));  // gone from the miner: find or make ours again
  });
}

std::vector<KeyResult> secure_keys(HttpTransport& transport, std::vector<KeyTask> tasks,
                                   const firmware::ApiOptions& options,
                                   const std::string& description,
                                   const std::function<bool()>& stop) {
  std::vector<KeyResult> results(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    results[i].mac = tasks[i].mac;
    start_key_task(transport, std::move(tasks[i]), options, description,
                   [&results, i](KeyResult r) { results[i] = std::move(r); });
  }
  transport.run(stop_hooks(stop));
  return results;
}

std::vector<ModelResult> fetch_models(HttpTransport& transport, std::vector<ModelTask> tasks,
                                      const firmware::ApiOptions& options,
                                      const std::function<bool()>& stop) {
  std::vector<ModelResult> results(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    // Fallback first (PowerHive's): /info names the model when /model is absent.
    results[i].model.alias = tasks[i].alias;
    results[i].model.full_name = tasks[i].info.miner.empty() ? tasks[i].alias : tasks[i].info.miner;
    results[i].model.hr_measure = tasks[i].info.hr_measure;
    transport.submit(firmware::get_request(tasks[i].miner, firmware::paths::kModel, options),
                     [&results, &options, &tasks, i](HttpResponse r) {
                       if (Status s = firmware::classify(r, "/model"); !s.ok()) {
                         results[i].problems.push_back(s.error().message());
                         return;
                       }
                       auto model = firmware::parse_model(r.body, options.limits);
                       if (!model.ok()) {
                         results[i].problems.push_back(model.error().message());
                       } else if (model->alias != tasks[i].alias) {
                         results[i].problems.push_back("/model names " + model->alias + ", /info " +
                                                       tasks[i].alias + ": /info kept");
                       } else {
                         if (model->full_name.empty())
                           model->full_name = results[i].model.full_name;
                         if (model->hr_measure.empty())
                           model->hr_measure = results[i].model.hr_measure;
                         results[i].model = std::move(*model);
                       }
                     });
    if (!tasks[i].api_key) continue;
    transport.submit(firmware::get_request(tasks[i].miner, firmware::paths::kPresets, options,
                                           {.api_key = *tasks[i].api_key}),
                     [&results, &options, i](HttpResponse r) {
                       if (Status s = firmware::classify(r, "/autotune/presets"); !s.ok()) {
                         results[i].problems.push_back(s.error().message());
                         return;
                       }
                       auto presets = firmware::parse_presets(r.body, options.limits);
                       if (!presets.ok()) {
                         results[i].problems.push_back(presets.error().message());
                       } else {
                         results[i].presets = std::move(*presets);
                       }
                     });
  }
  transport.run(stop_hooks(stop));
  return results;
}

}  // namespace fleet::discovery
