#include "identity.h"

#include <cstdio>

#include "core/strings.h"
#include "rng.h"

namespace fleet::minersim {
namespace {

std::string hex_byte(unsigned v) {
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02X", v & 0xffu);
  return buf;
}

}  // namespace

MinerIdentity make_identity(int index, const SimOptions& options) {
  const auto& models = options.models.empty() ? std::vector<const ModelSpec*>{} : options.models;
  MinerIdentity id;
  id.index = index;
  id.seed = hash_keys(options.seed, static_cast<uint64_t>(index), 0x313e);
  id.model = models.empty() ? &model_catalog()[index % model_catalog().size()]
                            : models[index % models.size()];

  // MAC: two seed bytes (locally administered, unicast), then the index through a bijection of
  // 32-bit integers (odd multiplier plus offset), so MACs never collide.
  const uint64_t fleet_key = hash_keys(options.seed, 0x3ac);
  const uint32_t low =
      static_cast<uint32_t>(index) * 0x9E3779B1u + static_cast<uint32_t>(fleet_key);
  const unsigned b0 = (static_cast<unsigned>(fleet_key >> 32) & 0xfc) | 0x02;
  const unsigned b1 = static_cast<unsigned>(fleet_key >> 40);
  id.mac = hex_byte(b0) + ":" + hex_byte(b1) + ":" + hex_byte(low >> 24) + ":" +
           hex_byte(low >> 16) + ":" + hex_byte(low >> 8) + ":" + hex_byte(low);

  Rng rng(id.seed);
  static constexpr char kSerialChars[] = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
  id.serial = "YNAH";
  for (int i = 0; i < 13; ++i)
    id.serial += kSerialChars[rng.next() % 34];

  const double style_draw = rng.uniform();
  const bool legacy = options.firmware == FirmwareMix::kLegacy ||
                      (options.firmware == FirmwareMix::kMixed && style_draw < 0.25);
  if (legacy) {
    id.style = FirmwareStyle::kLegacy;
    id.fw_version = "1.2.0-beta10";
    id.build_time = "2023-04-17 08:08:58+00:00";
    id.hostname = "Antminer";
  } else {
    id.style = FirmwareStyle::kCurrent;
    const bool newest = rng.uniform() < 0.5;
    id.fw_version = newest ? "1.2.6" : "1.2.0-rc5";
    id.build_time = newest ? "2025-05-29 19:22:26+00:00" : "2024-02-11 10:41:07+00:00";
    id.hostname = "antminer";
  }
  const double shape_draw = rng.uniform();
  id.presets_shape = options.presets == PresetsMix::kWrapped ||
                             (options.presets == PresetsMix::kMixed && shape_draw < 0.2)
                         ? PresetsShape::kWrapped
                         : PresetsShape::kBare;

  char uuid[40];
  const uint64_t u1 = rng.next(), u2 = rng.next();
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(u1 >> 32),
                static_cast<unsigned>((u1 >> 16) & 0xffff), static_cast<unsigned>(u1 & 0xfff),
                static_cast<unsigned>(0x8000 | ((u2 >> 48) & 0x3fff)),
                static_cast<unsigned long long>(u2 & 0xffffffffffffULL));
  id.build_uuid = uuid;
  return id;
}

}  // namespace fleet::minersim
