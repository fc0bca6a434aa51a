#pragma once
// The observability server's connection handling, built so that no client can hurt the
// pipeline or keep a probe waiting:
//
// * One thread (epoll) owns every connection. A connection costs a file descriptor and its
//   buffers, never a thread, while it is idle, sending its request or taking its response.
// * A request goes to a worker only once it has arrived in full (request line, headers and a
//   Content-Length body). Workers never touch the network: they turn bytes into bytes. So a
//   slow or silent client cannot hold a worker, whatever it does.
// * Whole-request deadline: a request must arrive in full within `request_deadline` of the
//   connection opening (or of the previous response on a kept-alive connection), and its
//   response must be taken within the same time; otherwise the connection is closed. A client
//   trickling a byte every second is cut at the deadline, not per receive.
// * At most `max_connections` connections at once. One more closes the oldest connection that
//   is still waiting for its request (or taking its response) at once, so a flood of idle
//   connections cannot lock a probe out; when none is waiting, the new one is closed at once.
// * Request line and headers are capped at `max_header_bytes` (414/431), bodies at
//   `max_body_bytes` (the handler answers 413).
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace etl::server {

// One request as a worker sees it: `input` starts with a complete request (more pipelined
// bytes may follow).
struct Exchange {
  std::string_view input;
  bool last = false;        // the connection closes after this response (say Connection: close)
  int fd = -1;              // for the peer's and the local address only: never read or written
  std::size_t consumed = 0; // set by the handler: bytes of `input` the request took
  std::string output;       // set by the handler: the whole response
  bool close = false;       // set by the handler: close the connection after the response
};
using ExchangeHandler = std::function<void(Exchange&)>;

enum class CloseReason {
  limit,     // closed to make room at max_connections, or refused because nothing could be
  deadline,  // the request or its response did not complete within request_deadline
  too_large, // request line and headers over max_header_bytes
};
using CloseObserver = std::function<void(CloseReason)>; // called on the loop's thread

struct LoopOptions {
  std::size_t max_connections = 256;
  std::chrono::milliseconds request_deadline{5'000};
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 8 * 1024;
  std::size_t max_requests_per_connection = 100;
  unsigned workers = 4;
};

class ConnectionLoop {
public:
  // Takes ownership of `listen_fd` (a bound, listening socket). Starts its threads at once.
  ConnectionLoop(int listen_fd, LoopOptions options, ExchangeHandler handler,
                 CloseObserver observer);
  ~ConnectionLoop(); // stops
  ConnectionLoop(const ConnectionLoop&) = delete;
  ConnectionLoop& operator=(const ConnectionLoop&) = delete;

  // Closes the listener and every connection and joins the threads. Never waits for a client:
  // workers never block on the network, so this returns within a handler's run time.
  void stop();
  [[nodiscard]] std::size_t open_connections() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace etl::server
