#include "signals.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <thread>

#include <pthread.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace etl::cmd {
namespace {

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

int run_until_signalled(const std::function<int()>& work, StopSignal& stop, const ShutdownPolicy& policy) {
  std::atomic<bool> done{false};
  std::atomic<int> exit_code{0};
  std::thread worker([&] {
    exit_code = work();
    done = true;
  });

  const sigset_t set = handled_set();
  std::chrono::steady_clock::time_point deadline{};
  bool signalled = false;
  while (!done) {
    timespec poll{0, 50'000'000};
    const int sig = sigtimedwait(&set, nullptr, &poll);
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP ignored: log files rotate by size; SIGTERM or SIGINT stops the daemon");
    } else if (sig > 0) {
      if (signalled) {
        spdlog::warn("second signal ({}): exiting now", strsignal(sig));
        exit_now(130);
      }
      signalled = true;
      deadline = std::chrono::steady_clock::now() + policy.timeout;
      spdlog::info("received {}: shutting down (at most {} ms)", strsignal(sig), policy.timeout.count());
      if (policy.on_first_signal) policy.on_first_signal();
      stop.request_stop();
    }
    if (signalled && !done && std::chrono::steady_clock::now() >= deadline) {
      spdlog::error("shutdown timeout reached: abandoning the work in flight; unloaded snapshots stay pending on disk");
      exit_now(policy.abandoned_status);
    }
  }
  worker.join();
  return signalled && policy.signal_ends_successfully ? 0 : exit_code.load();
}

} // namespace etl::cmd
