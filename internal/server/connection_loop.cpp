#include "server/connection_loop.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace etl::server {
namespace {

using Clock = std::chrono::steady_clock;

// After a response that ends the connection: how long the peer may take to close its side
// while unread bytes (e.g. a refused body) are drained, so it gets the response, not a reset.
constexpr std::chrono::milliseconds kLinger{2'000};
constexpr std::size_t kMaxLingerBytes = 1 << 20;
// accept() failing for want of file descriptors: stop accepting this long (the pending
// connections wait in the kernel's backlog) instead of spinning.
constexpr std::chrono::milliseconds kAcceptPause{100};
constexpr int kBacklogAcceptsPerWakeup = 64;
constexpr std::size_t kMaxRequestLine = 8192; // CPPHTTPLIB_REQUEST_URI_MAX_LENGTH

enum class Phase { reading, processing, writing, draining };

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// End of the header block (index just past the blank line), or npos. httplib ends headers at
// the first line that is exactly CRLF; a bare-LF blank line is taken as an end too, so such a
// request gets its 400 at once instead of at the deadline.
std::size_t header_end(std::string_view in, std::size_t from) {
  for (auto i = in.find('\n', from); i != std::string_view::npos; i = in.find('\n', i + 1)) {
    if (i + 1 < in.size() && in[i + 1] == '\n') return i + 2;
    if (i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

// The body length the header block announces: 0 without Content-Length, nullopt when the
// handler must see the request now (chunked, unparseable or over-long length: it answers).
std::optional<std::size_t> body_length(std::string_view head, std::size_t max_body) {
  std::size_t length = 0;
  while (!head.empty()) {
    const auto eol = head.find('\n');
    const auto line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 1);
    if (starts_with_ci(line, "transfer-encoding:")) return std::nullopt;
    if (starts_with_ci(line, "content-length:")) {
      const auto value = trim(line.substr(15));
      std::size_t parsed = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
      if (ec != std::errc() || end != value.data() + value.size() || parsed > max_body) return std::nullopt;
      length = parsed;
    }
  }
  return length;
}

std::string error_response(int status, std::string_view reason) {
  const std::string body = std::string(reason) + "\n";
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

} // namespace

struct Connection {
  int fd = -1;
  Phase phase = Phase::reading;
  std::string in;          // received and not yet consumed by a request
  std::size_t scanned = 0; // bytes of `in` already searched for the end of the headers
  std::string out;         // the response being sent
  std::size_t sent = 0;
  std::size_t served = 0;  // requests answered on this connection
  std::size_t drained = 0; // bytes discarded while lingering
  bool close_after_write = false;
  bool peer_closed = false;
  bool registered = false; // in the epoll set
  std::uint32_t events = 0;
  std::optional<Clock::time_point> deadline; // its entry in the timer set
};

struct ConnectionLoop::Impl {
  LoopOptions options;
  ExchangeHandler handler;
  CloseObserver observer;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  char listen_tag = 0; // addresses told apart in epoll_event.data.ptr
  char wake_tag = 0;

  // Loop thread only.
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections;
  std::set<std::pair<Clock::time_point, Connection*>> timers; // earliest deadline first
  std::vector<std::unique_ptr<Connection>> closed;            // freed after each batch of events
  std::optional<Clock::time_point> accept_paused_until;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> stopping{false};

  // Shared with the workers.
  std::mutex mutex;
  std::condition_variable work_ready;
  std::deque<Connection*> ready; // complete requests for the workers
  std::deque<Connection*> done;  // answered, back to the loop
  bool quit = false;

  std::thread loop_thread;
  std::vector<std::thread> workers;

  Impl(int fd, LoopOptions opts, ExchangeHandler h, CloseObserver o)
      : options(opts), handler(std::move(h)), observer(std::move(o)), listen_fd(fd) {
    options.max_connections = std::max<std::size_t>(options.max_connections, 1);
    options.workers = std::max(options.workers, 1u);
    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd < 0 || wake_fd < 0) throw std::system_error(errno, std::generic_category(), "epoll/eventfd");
    add(listen_fd, EPOLLIN, &listen_tag);
    add(wake_fd, EPOLLIN, &wake_tag);
    loop_thread = std::thread([this] { run(); });
    for (unsigned i = 0; i < options.workers; ++i) workers.emplace_back([this] { work(); });
  }

  void add(int fd, std::uint32_t events, void* tag) const {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = tag;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  }

  void wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd, &one, sizeof one);
  }

  // ---- the loop thread ----

  void run() {
    std::array<epoll_event, 64> events{};
    while (!stopping.load(std::memory_order_acquire)) {
      const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), timeout_ms());
      if (n < 0 && errno != EINTR) break;
      for (int i = 0; i < n; ++i) {
        void* tag = events[static_cast<std::size_t>(i)].data.ptr;
        if (tag == &wake_tag) {
          std::uint64_t count = 0;
          [[maybe_unused]] const auto r = ::read(wake_fd, &count, sizeof count);
        } else if (tag == &listen_tag) {
          accept_some();
        } else {
          auto* c = static_cast<Connection*>(tag);
          if (c->fd >= 0) on_event(*c, events[static_cast<std::size_t>(i)].events);
        }
      }
      take_answered();
      const auto now = Clock::now();
      expire(now);
      if (accept_paused_until && now >= *accept_paused_until) {
        accept_paused_until.reset();
        add(listen_fd, EPOLLIN, &listen_tag);
      }
      closed.clear();
    }
  }

  int timeout_ms() const {
    std::optional<Clock::time_point> next;
    if (!timers.empty()) next = timers.begin()->first;
    if (accept_paused_until && (!next || *accept_paused_until < *next)) next = accept_paused_until;
    if (!next) return -1;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(wait, 0, 60'000));
  }

  void accept_some() {
    for (int i = 0; i < kBacklogAcceptsPerWakeup; ++i) {
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        admit(fd);
        continue;
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors (the process limit is shared with the pipeline): make room by
        // closing the oldest waiting connection, and stop accepting for a moment.
        if (!timers.empty()) close(*timers.begin()->second, CloseReason::limit);
        ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
        accept_paused_until = Clock::now() + kAcceptPause;
      }
      return; // EAGAIN, or an error the next wakeup meets again
    }
  }

  void admit(int fd) {
    if (connections.size() >= options.max_connections) {
      if (timers.empty()) { // every connection is with a worker: nothing to make room with
        ::close(fd);
        if (observer) observer(CloseReason::limit);
        return;
      }
      close(*timers.begin()->second, CloseReason::limit);
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto owned = std::make_unique<Connection>();
    Connection& c = *owned;
    c.fd = fd;
    connections.emplace(&c, std::move(owned));
    open.store(connections.size(), std::memory_order_relaxed);
    start_reading(c);
  }

  void watch(Connection& c, std::uint32_t events) {
    if (c.registered && c.events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &c;
    ::epoll_ctl(epoll_fd, c.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd, &ev);
    c.registered = true;
    c.events = events;
  }

  void unwatch(Connection& c) {
    if (!c.registered) return;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
    c.registered = false;
  }

  void set_deadline(Connection& c, Clock::time_point at) {
    clear_deadline(c);
    timers.emplace(at, &c);
    c.deadline = at;
  }

  void clear_deadline(Connection& c) {
    if (c.deadline) timers.erase({*c.deadline, &c});
    c.deadline.reset();
  }

  void close(Connection& c, std::optional<CloseReason> reason) {
    if (c.fd < 0) return;
    clear_deadline(c);
    unwatch(c);
    ::close(c.fd);
    c.fd = -1;
    const auto it = connections.find(&c);
    if (it != connections.end()) {
      closed.push_back(std::move(it->second)); // freed after this batch of events
      connections.erase(it);
    }
    open.store(connections.size(), std::memory_order_relaxed);
    if (reason && observer) observer(*reason);
  }

  void start_reading(Connection& c) {
    c.phase = Phase::reading;
    c.scanned = 0;
    set_deadline(c, Clock::now() + options.request_deadline);
    watch(c, EPOLLIN | EPOLLRDHUP);
    if (!c.in.empty() || c.peer_closed) examine(c);
  }

  void on_event(Connection& c, std::uint32_t events) {
    switch (c.phase) {
    case Phase::reading:
      receive(c);
      break;
    case Phase::writing:
      if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
        close(c, std::nullopt);
      } else {
        send_some(c);
      }
      break;
    case Phase::draining:
      drain(c);
      break;
    case Phase::processing:
      break; // not watched while a worker has it
    }
  }

  void receive(Connection& c) {
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
  void examine(Connection& c) {
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
  void refuse_too_large(Connection& c) {
    const auto eol = std::string_view(c.in).find('\n');
    const bool uri = eol == std::string_view::npos || eol > kMaxRequestLine;
    respond_and_close(c, uri ? error_response(414, "URI Too Long")
                             : error_response(431, "Request Header Fields Too Large"));
    if (observer) observer(CloseReason::too_large);
  }

  void dispatch(Connection& c) {
    clear_deadline(c);
    unwatch(c);
    c.phase = Phase::processing;
    {
      const std::lock_guard lock(mutex);
      ready.push_back(&c);
    }
    work_ready.notify_one();
  }

  void take_answered() {
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

  void respond_and_close(Connection& c, std::string response) {
    c.out = std::move(response);
    c.sent = 0;
    c.close_after_write = true;
    c.phase = Phase::writing;
    set_deadline(c, Clock::now() + options.request_deadline);
    send_some(c);
  }

  void send_some(Connection& c) {
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
  void linger(Connection& c) {
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

  void drain(Connection& c) {
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

  void expire(Clock::time_point now) {
    while (!timers.empty() && timers.begin()->first <= now) {
      Connection& c = *timers.begin()->second;
      // An idle kept-alive connection or a lingering close ending is routine; a request or a
      // response that did not complete in time (or a connection that never asked) is not.
      const bool routine = c.phase == Phase::draining || (c.phase == Phase::reading && c.served > 0 && c.in.empty());
      close(c, routine ? std::nullopt : std::optional(CloseReason::deadline));
    }
  }

  // ---- workers ----

  void work() {
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

  // ---- stop ----

  void stop() {
    if (!loop_thread.joinable()) return;
    stopping.store(true, std::memory_order_release);
    wake();
    loop_thread.join();
    {
      const std::lock_guard lock(mutex);
      quit = true;
    }
    work_ready.notify_all();
    for (auto& w : workers) w.join();
    workers.clear();
    for (auto& [ptr, c] : connections) {
      if (c->fd >= 0) ::close(c->fd);
    }
    connections.clear();
    timers.clear();
    closed.clear();
    ready.clear();
    done.clear();
    open.store(0);
    ::close(listen_fd);
    ::close(epoll_fd);
    ::close(wake_fd);
  }
};

ConnectionLoop::ConnectionLoop(int listen_fd, LoopOptions options, ExchangeHandler handler, CloseObserver observer)
    : m_impl(std::make_unique<Impl>(listen_fd, options, std::move(handler), std::move(observer))) {}

ConnectionLoop::~ConnectionLoop() {
  stop();
}

void ConnectionLoop::stop() {
  m_impl->stop();
}

std::size_t ConnectionLoop::open_connections() const {
  return m_impl->open.load(std::memory_order_relaxed);
}

} // namespace etl::server
