#include "server/connection_loop.hpp"

#include "server/connection_loop_impl.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <system_error>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace etl::server {
namespace {

// accept() failing for want of file descriptors: stop accepting this long (the pending
// connections wait in the kernel's backlog) instead of spinning.
constexpr std::chrono::milliseconds kAcceptPause{100};
constexpr int kBacklogAcceptsPerWakeup = 64;

} // namespace

ConnectionLoop::Impl::Impl(int fd, LoopOptions opts, ExchangeHandler h, CloseObserver o)
    : options(opts), handler(std::move(h)), observer(std::move(o)), listen_fd(fd) {
  options.max_connections = std::max<std::size_t>(options.max_connections, 1);
  options.workers = std::max(options.workers, 1u);
  epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd < 0 || wake_fd < 0)
    throw std::system_error(errno, std::generic_category(), "epoll/eventfd");
  add(listen_fd, EPOLLIN, &listen_tag);
  add(wake_fd, EPOLLIN, &wake_tag);
  loop_thread = std::thread([this] { run(); });
  for (unsigned i = 0; i < options.workers; ++i) workers.emplace_back([this] { work(); });
}

void ConnectionLoop::Impl::add(int fd, std::uint32_t events, void* tag) const {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = tag;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

void ConnectionLoop::Impl::wake() const {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd, &one, sizeof one);
}

void ConnectionLoop::Impl::run() {
  std::array<epoll_event, 64> events{};
  while (!stopping.load(std::memory_order_acquire)) {
    const int n =
        ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), timeout_ms());
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

int ConnectionLoop::Impl::timeout_ms() const {
  std::optional<Clock::time_point> next;
  if (!timers.empty()) next = timers.begin()->first;
  if (accept_paused_until && (!next || *accept_paused_until < *next)) next = accept_paused_until;
  if (!next) return -1;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(wait, 0, 60'000));
}

void ConnectionLoop::Impl::accept_some() {
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

void ConnectionLoop::Impl::admit(int fd) {
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

void ConnectionLoop::Impl::watch(Connection& c, std::uint32_t events) {
  if (c.registered && c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &c;
  ::epoll_ctl(epoll_fd, c.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd, &ev);
  c.registered = true;
  c.events = events;
}

void ConnectionLoop::Impl::unwatch(Connection& c) {
  if (!c.registered) return;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
  c.registered = false;
}

void ConnectionLoop::Impl::set_deadline(Connection& c, Clock::time_point at) {
  clear_deadline(c);
  timers.emplace(at, &c);
  c.deadline = at;
}

void ConnectionLoop::Impl::clear_deadline(Connection& c) {
  if (c.deadline) timers.erase({*c.deadline, &c});
  c.deadline.reset();
}

void ConnectionLoop::Impl::close(Connection& c, std::optional<CloseReason> reason) {
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

void ConnectionLoop::Impl::expire(Clock::time_point now) {
  while (!timers.empty() && timers.begin()->first <= now) {
    Connection& c = *timers.begin()->second;
    // An idle kept-alive connection or a lingering close ending is routine; a request or a
    // response that did not complete in time (or a connection that never asked) is not.
    const bool routine =
        c.phase == Phase::draining || (c.phase == Phase::reading && c.served > 0 && c.in.empty());
    close(c, routine ? std::nullopt : std::optional(CloseReason::deadline));
  }
}

void ConnectionLoop::Impl::stop() {
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

ConnectionLoop::ConnectionLoop(int listen_fd, LoopOptions options, ExchangeHandler handler,
                               CloseObserver observer)
    : m_impl(std::make_unique<Impl>(listen_fd, options, std::move(handler), std::move(observer))) {}

ConnectionLoop::~ConnectionLoop() { stop(); }

void ConnectionLoop::stop() { m_impl->stop(); }

std::size_t ConnectionLoop::open_connections() const {
  return m_impl->open.load(std::memory_order_relaxed);
}

} // namespace etl::server
