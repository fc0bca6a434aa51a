#pragma once
// The observability server's socket plumbing: the listening socket, and the addresses of an
// accepted one (for httplib's REMOTE_ADDR and the like).
#include <cstdint>
#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace etl::server {

// A bound, listening, non-blocking socket on host:port (port 0: any free port) and the port it
// got. Error: the resolver's or the socket call's message.
tl::expected<std::pair<int, std::uint16_t>, std::string> listen_on(const std::string& host,
                                                                   std::uint16_t port);

// The peer's (`peer`) or the local address of the connected socket `fd`; `ip` and `port` are
// left as they are when it has none.
void socket_address(int fd, bool peer, std::string& ip, int& port);

} // namespace etl::server
