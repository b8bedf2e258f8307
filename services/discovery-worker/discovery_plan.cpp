#include "discovery_plan.h"

namespace fleet::discovery {

KeyAction key_action(const std::string& mac, const std::map<std::string, KnownMiner>& known,
                     bool forced, bool provision, int& provisions_left) {
  if (!provision) return KeyAction::kNone;
  auto k = known.find(mac);
  const bool is_new = k == known.end();
  const bool has_key = !is_new && k->second.api_key_enc && k->second.api_key_state == "active";
  if (has_key) return forced ? KeyAction::kVerify : KeyAction::kNone;
  const bool allowed = is_new || k->second.may_provision || forced;
  if (!allowed || provisions_left <= 0) return KeyAction::kDeferred;
  --provisions_left;
  return KeyAction::kProvision;
}

std::vector<std::size_t> models_to_refresh(const std::vector<IdentifiedMiner>& found,
                                           const std::vector<bool>& keyed,
                                           const std::vector<bool>& forced,
                                           const std::map<std::string, KnownModel>& models,
                                           std::chrono::system_clock::time_point now,
                                           std::chrono::milliseconds refresh) {
  struct Pick {
    std::size_t index = 0;
    bool keyed = false;
    bool forced = false;
  };
  std::map<std::string, Pick> picks;
  for (std::size_t i = 0; i < found.size(); ++i) {
    const std::string& alias = found[i].info.model;
    if (alias.empty()) continue;
    auto [it, inserted] = picks.try_emplace(alias, Pick{i, keyed[i], forced[i]});
    if (!inserted) {
      if (!it->second.keyed && keyed[i]) {
        it->second.index = i;
        it->second.keyed = true;
      }
      it->second.forced = it->second.forced || forced[i];
    }
  }
  std::vector<std::size_t> out;
  for (const auto& [alias, pick] : picks) {
    auto model = models.find(alias);
    const bool stale = model == models.end() || !model->second.has_presets ||
                       !model->second.presets_updated_at ||
                       now - *model->second.presets_updated_at > refresh;
    if (stale || pick.forced) out.push_back(pick.index);
  }
  return out;
}

Plan plan_enrichment(const PlanInput& in) {
  Plan plan;
  int left = in.max_provisions;
  std::vector<bool> keyed(in.found.size()), forced(in.found.size());
  for (std::size_t i = 0; i < in.found.size(); ++i) {
    const std::string& mac = *in.found[i].info.mac;
    forced[i] = in.force_all || in.forced_macs.count(mac) > 0;
    auto k = in.known.find(mac);
    keyed[i] = k != in.known.end() && k->second.api_key_enc && k->second.api_key_state == "active";
    switch (key_action(mac, in.known, forced[i], in.provision, left)) {
      case KeyAction::kProvision:
        plan.provision.push_back(i);
        keyed[i] = true;
        break;
      case KeyAction::kVerify:
        plan.verify.push_back(i);
        break;
      case KeyAction::kDeferred:
        ++plan.provision_deferred;
        break;
      case KeyAction::kNone:
        break;
    }
  }
  plan.model_from = models_to_refresh(in.found, keyed, forced, in.models, in.now, in.model_refresh);
  return plan;
}

std::string worker_name(const firmware::InfoPayload& info) {
  std::string tail;
  if (info.mac && info.mac->size() == 17) {
    for (char c : info.mac->substr(9)) {
      if (c != ':') tail += c;
    }
  }
  const std::string model = info.model.empty() ? "miner" : info.model;
  return tail.empty() ? model : model + "-" + tail;
}

}  // namespace fleet::discovery
