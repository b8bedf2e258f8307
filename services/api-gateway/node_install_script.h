// The node installer the gateway hands out for a registration token (issue 13): a bash script
// that downloads the node-agent from the gateway, registers the host with the token and
// installs the agent as a systemd service. Pure text generation: no I/O, no database.
#pragma once

#include <string>
#include <string_view>

namespace fleet::gateway {

// `text` as one POSIX shell word in single quotes ("it's" -> 'it'\''s'): nothing inside is
// expanded, whatever it holds.
std::string shell_quote(std::string_view text);

// True for an http(s) base URL the installer may embed: "http://" or "https://", then printable
// ASCII without spaces, quotes, backslashes or shell metacharacters, no trailing '/', at most
// 500 characters.
bool is_installer_base_url(std::string_view url);

// The one-liner an admin pastes on a new host:
//   curl -fsSL '<base_url>/api/nodes/install-script?token=<token>' | sudo bash
std::string node_install_command(std::string_view base_url, std::string_view token);

// The installer for `token` talking to the gateway at `base_url` (both embedded shell-quoted).
// It needs root unless FLEET_PREFIX is set; FLEET_PREFIX puts every file under that directory,
// FLEET_SYSTEMD_DIR overrides where the unit goes, FLEET_NO_SYSTEMD=1 writes the unit without
// calling systemctl (tests, containers without systemd).
std::string node_install_script(std::string_view base_url, std::string_view token);

}  // namespace fleet::gateway
