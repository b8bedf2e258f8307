#include "runtime/listen_socket.h"

#include <sys/socket.h>

namespace fleet::runtime {

void exclusive_port_options(int socket) {
  int yes = 1;
  ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

}  // namespace fleet::runtime
