#include "app/signals.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace etl::app {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void exit_now(int status) {
  spdlog::default_logger()->flush();
  std::_Exit(status);
}

// SIGTERM and SIGINT stop the work. SIGHUP (a closed terminal, or a habit from daemons that
// reopen their logs) must not kill a daemon whose log files rotate by themselves: it is
// collected and logged, nothing more.
sigset_t handled_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

} // namespace

void block_shutdown_signals() {
  const sigset_t set = handled_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN); // a closed scrape connection must not kill the daemon
}

struct ShutdownWatchdog::State {
  int signal_fd = -1;
  int wake_fd = -1;
  std::thread thread;

  std::mutex mutex; // guards everything below
  bool quit = false;
  // Set by run() while its work runs.
  StopSignal* stop = nullptr;
  std::function<void()> on_first_signal;
  // The last policy's (a signal before any run() uses the defaults).
  std::chrono::milliseconds timeout = ShutdownPolicy{}.timeout;
  int abandoned_status = 1;
  std::optional<Clock::time_point> signalled_at;
  std::optional<Clock::time_point> deadline;

  State() {
    const sigset_t set = handled_set();
    signal_fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (signal_fd < 0 || wake_fd < 0)
      throw std::system_error(errno, std::generic_category(), "signalfd/eventfd");
    thread = std::thread([this] { watch(); });
  }

  ~State() {
    {
      const std::lock_guard lock(mutex);
      quit = true;
    }
    wake();
    thread.join();
    ::close(signal_fd);
    ::close(wake_fd);
  }

  void wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd, &one, sizeof one);
  }

  // Under the lock: the callbacks may only run while run() is inside its work.
  void apply_first_signal() {
    if (on_first_signal) on_first_signal();
    if (stop != nullptr) stop->request_stop();
  }

  void on_signal(int sig) {
    const std::lock_guard lock(mutex);
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP ignored: log files rotate by size; SIGTERM or SIGINT stops the daemon");
      return;
    }
    if (signalled_at) {
      spdlog::warn("second signal ({}): exiting now", strsignal(sig));
      exit_now(130);
    }
    signalled_at = Clock::now();
    deadline = *signalled_at + timeout;
    if (stop != nullptr) {
      spdlog::info("received {}: shutting down (at most {} ms)", strsignal(sig), timeout.count());
    } else {
      spdlog::info("received {} during start-up: stopping as soon as it is done", strsignal(sig));
    }
    apply_first_signal();
  }

  void watch() {
    for (;;) {
      int wait_ms = -1;
      {
        const std::lock_guard lock(mutex);
        if (quit) return;
        if (deadline) {
          const auto now = Clock::now();
          if (now >= *deadline) {
            spdlog::error(
                "shutdown timeout reached: abandoning the work in flight; unloaded snapshots stay pending on disk");
            exit_now(abandoned_status);
          }
          wait_ms = static_cast<int>(std::min<long long>(
              std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count(), 60'000));
        }
      }
      pollfd fds[2] = {{signal_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
      if (::poll(fds, 2, wait_ms) < 0 && errno != EINTR) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50)); // never spin
        continue;
      }
      if ((fds[1].revents & POLLIN) != 0) {
        std::uint64_t count = 0;
        [[maybe_unused]] const auto r = ::read(wake_fd, &count, sizeof count);
      }
      if ((fds[0].revents & POLLIN) != 0) {
        signalfd_siginfo info{};
        while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          on_signal(static_cast<int>(info.ssi_signo));
        }
      }
    }
  }
};

ShutdownWatchdog::ShutdownWatchdog() : m_state(std::make_unique<State>()) {}

ShutdownWatchdog::~ShutdownWatchdog() = default;

int ShutdownWatchdog::run(const std::function<int()>& work, StopSignal& stop,
                          const ShutdownPolicy& policy) {
  auto& s = *m_state;
  {
    const std::lock_guard lock(s.mutex);
    s.stop = &stop;
    s.on_first_signal = policy.on_first_signal;
    s.timeout = policy.timeout;
    s.abandoned_status = policy.abandoned_status;
    if (s.signalled_at) { // arrived during start-up: stop at once, deadline from the signal
      s.deadline = *s.signalled_at + policy.timeout;
      spdlog::info("shutting down (at most {} ms from the signal)", policy.timeout.count());
      s.apply_first_signal();
    }
  }
  s.wake(); // the deadline may have changed
  // Disarmed however work() ends (an exception too): `stop` and the callback's captures die
  // with the caller's frame.
  struct Disarm {
    State& s;
    ~Disarm() {
      const std::lock_guard lock(s.mutex);
      s.stop = nullptr;
      s.on_first_signal = nullptr;
    }
  };
  int code = 0;
  {
    const Disarm disarm{s};
    code = work();
  }
  const std::lock_guard lock(s.mutex);
  return s.signalled_at && policy.signal_ends_successfully ? 0 : code;
}

} // namespace etl::app
