// Options for the listening socket of every HTTP server in the project (the api-gateway and each
// worker's probe server).
#pragma once

namespace fleet::runtime {

// SO_REUSEADDR (a restart binds at once despite connections in TIME_WAIT) and never SO_REUSEPORT:
// with it, a second process binds a port already in use "successfully" and the kernel splits the
// connections between the two (cpp-httplib 0.11's default options set it). Without it a port in
// use is a clear start-up error. Signature of httplib::SocketOptions.
void exclusive_port_options(int socket);

}  // namespace fleet::runtime
