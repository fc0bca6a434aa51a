#include "server/connection_loop_impl.hpp"
#include "server/request_framing.hpp"

#include <algorithm>
#include <array>
#include <cerrno>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace etl::server {
namespace {

// After a response that ends the connection: how long the peer may take to close its side
// while unread bytes (e.g. a refused body) are drained, so it gets the response, not a reset.
constexpr std::chrono::milliseconds kLinger{2'000};
constexpr std::size_t kMaxLingerBytes = 1 << 20;
constexpr std::size_t kMaxRequestLine = 8192; // CPPHTTPLIB_REQUEST_URI_MAX_LENGTH

} // namespace

void ConnectionLoop::Impl::start_reading(Connection& c) {
  c.phase = Phase::reading;
  c.scanned = 0;
  set_deadline(c, Clock::now() + options.request_deadline);
  watch(c, EPOLLIN | EPOLLRDHUP);
  if (!c.in.empty() || c.peer_closed) examine(c);
}

void ConnectionLoop::Impl::on_event(Connection& c, std::uint32_t events) {
  switch (c.phase) {
  case Phase::reading: receive(c); break;
  case Phase::writing:
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
      close(c, std::nullopt);
    } else {
      send_some(c);
    }
    break;
  case Phase::draining: drain(c); break;
  case Phase::processing: break; // not watched while a worker has it
  }
}

void ConnectionLoop::Impl::receive(Connection& c) {
  std::array<char, 16 * 1024> buf{};
  // Past this examine() always decides (dispatch or refuse), so reading can stop there.
  const std::size_t limit = options.max_header_bytes + 3 + options.max_body_bytes + 1;
  while (c.in.size() < limit) {
    const auto n = ::recv(c.fd, buf.data(), buf.size(), 0);
    if (n > 0) {
      c.in.append(buf.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      c.peer_closed = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    close(c, std::nullopt); // reset by the peer
    return;
  }
  examine(c);
}

// Dispatches a complete request, refuses an oversized one, or keeps waiting.
void ConnectionLoop::Impl::examine(Connection& c) {
  const std::string_view in = c.in;
  const auto end = header_end(in, c.scanned);
  if (end == std::string_view::npos) {
    c.scanned = in.size() >= 2 ? in.size() - 2 : 0;
    if (in.size() > options.max_header_bytes) {
      refuse_too_large(c);
    } else if (c.peer_closed) {
      close(c, std::nullopt);
    }
    return;
  }
  if (end > options.max_header_bytes + 3) {
    refuse_too_large(c);
    return;
  }
  const auto body = body_length(in.substr(0, end), options.max_body_bytes);
  if (body && in.size() < end + *body) {
    if (c.peer_closed) close(c, std::nullopt); // the body will never come
    return;
  }
  dispatch(c);
}

// 414 when the request line alone is too long (as httplib answers up to its own limit),
// else 431.
void ConnectionLoop::Impl::refuse_too_large(Connection& c) {
  const auto eol = std::string_view(c.in).find('\n');
  const bool uri = eol == std::string_view::npos || eol > kMaxRequestLine;
  respond_and_close(c, uri ? error_response(414, "URI Too Long")
                           : error_response(431, "Request Header Fields Too Large"));
  if (observer) observer(CloseReason::too_large);
}

void ConnectionLoop::Impl::dispatch(Connection& c) {
  clear_deadline(c);
  unwatch(c);
  c.phase = Phase::processing;
  {
    const std::lock_guard lock(mutex);
    ready.push_back(&c);
  }
  work_ready.notify_one();
}

void ConnectionLoop::Impl::take_answered() {
  std::deque<Connection*> answered;
  {
    const std::lock_guard lock(mutex);
    answered.swap(done);
  }
  for (Connection* c : answered) {
    c->phase = Phase::writing;
    c->sent = 0;
    set_deadline(*c, Clock::now() + options.request_deadline);
    send_some(*c);
  }
}

void ConnectionLoop::Impl::respond_and_close(Connection& c, std::string response) {
  c.out = std::move(response);
  c.sent = 0;
  c.close_after_write = true;
  c.phase = Phase::writing;
  set_deadline(c, Clock::now() + options.request_deadline);
  send_some(c);
}

void ConnectionLoop::Impl::send_some(Connection& c) {
  while (c.sent < c.out.size()) {
    const auto n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      watch(c, EPOLLOUT);
      return;
    }
    close(c, std::nullopt);
    return;
  }
  std::string().swap(c.out);
  c.sent = 0;
  if (c.close_after_write || c.peer_closed) {
    linger(c);
  } else {
    start_reading(c);
  }
}

// Half-closes and discards what the peer still sends until it closes too, so it reads the
// response instead of a reset caused by unread bytes (a refused body, say).
void ConnectionLoop::Impl::linger(Connection& c) {
  if (c.peer_closed) {
    close(c, std::nullopt);
    return;
  }
  ::shutdown(c.fd, SHUT_WR);
  c.phase = Phase::draining;
  c.drained = 0;
  std::string().swap(c.in);
  set_deadline(c, Clock::now() + std::min(kLinger, options.request_deadline));
  watch(c, EPOLLIN | EPOLLRDHUP);
  drain(c);
}

void ConnectionLoop::Impl::drain(Connection& c) {
  std::array<char, 16 * 1024> buf{};
  for (;;) {
    const auto n = ::recv(c.fd, buf.data(), buf.size(), 0);
    if (n > 0) {
      c.drained += static_cast<std::size_t>(n);
      if (c.drained > kMaxLingerBytes) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    break; // the peer closed (or reset)
  }
  close(c, std::nullopt);
}

void ConnectionLoop::Impl::work() {
  for (;;) {
    Connection* c = nullptr;
    {
      std::unique_lock lock(mutex);
      work_ready.wait(lock, [this] { return quit || !ready.empty(); });
      if (quit) return;
      c = ready.front();
      ready.pop_front();
    }
    Exchange exchange;
    exchange.input = c->in;
    exchange.fd = c->fd;
    exchange.last = c->peer_closed || c->served + 1 >= options.max_requests_per_connection;
    try {
      handler(exchange);
    } catch (...) {
      exchange.output = error_response(500, "Internal Server Error");
      exchange.close = true;
    }
    // Nothing consumed would answer the same bytes forever.
    if (exchange.consumed == 0 || exchange.consumed > c->in.size()) exchange.close = true;
    c->in.erase(0, std::min(exchange.consumed, c->in.size()));
    c->out = std::move(exchange.output);
    c->close_after_write = exchange.close || exchange.last;
    ++c->served;
    {
      const std::lock_guard lock(mutex);
      done.push_back(c);
    }
    wake();
  }
}

} // namespace etl::server
