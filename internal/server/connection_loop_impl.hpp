#pragma once
// Inside the connection loop (connection_loop.hpp), shared by its two halves:
// connection_loop.cpp runs the loop thread (epoll, accepting, deadlines, stop) and
// connection_io.cpp moves one connection through its phases (read, hand to a worker, write,
// linger) and runs the workers.
#include "server/connection_loop.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace etl::server {

using LoopClock = std::chrono::steady_clock;

enum class Phase { reading, processing, writing, draining };

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
  std::optional<LoopClock::time_point> deadline; // its entry in the timer set
};

struct ConnectionLoop::Impl {
  using Clock = LoopClock;

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

  Impl(int fd, LoopOptions opts, ExchangeHandler h, CloseObserver o);

  // ---- the loop thread (connection_loop.cpp) ----
  void add(int fd, std::uint32_t events, void* tag) const;
  void wake() const;
  void run();
  [[nodiscard]] int timeout_ms() const;
  void accept_some();
  void admit(int fd);
  void watch(Connection& c, std::uint32_t events);
  void unwatch(Connection& c);
  void set_deadline(Connection& c, Clock::time_point at);
  void clear_deadline(Connection& c);
  void close(Connection& c, std::optional<CloseReason> reason);
  void expire(Clock::time_point now);
  void stop();

  // ---- one connection's phases, and the workers (connection_io.cpp) ----
  void start_reading(Connection& c);
  void on_event(Connection& c, std::uint32_t events);
  void receive(Connection& c);
  void examine(Connection& c);
  void refuse_too_large(Connection& c);
  void dispatch(Connection& c);
  void take_answered();
  void respond_and_close(Connection& c, std::string response);
  void send_some(Connection& c);
  void linger(Connection& c);
  void drain(Connection& c);
  void work();
};

} // namespace etl::server
