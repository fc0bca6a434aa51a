#pragma once
// SIGTERM/SIGINT handling without async-signal hazards: the signals are blocked in every thread
// and the main thread collects them with sigtimedwait while the work runs on a worker thread.
#include "common/stop_signal.hpp"

#include <chrono>
#include <functional>

namespace etl::cmd {

// Call first in main, before any thread exists, so every thread inherits the mask. SIGHUP is
// blocked too and, while run_until_signalled runs, logged and ignored.
void block_shutdown_signals();

struct ShutdownPolicy {
  std::chrono::milliseconds timeout{10'000};
  std::function<void()> on_first_signal; // e.g. mark not-ready, log
  // The daemon (`run`): a signal is how it is meant to end, so a graceful stop exits 0.
  // `once`/`replay` (false): the exit status says whether the work was done, so a signal that
  // cut it short keeps the work's own status, and a timeout exits with `abandoned_status`.
  bool signal_ends_successfully = true;
  int abandoned_status = 0;
};

// Runs `work` on a worker thread and returns its exit code. The first signal requests stop; the
// work then has `timeout` to finish, after which the process exits at once with
// policy.abandoned_status (anything in flight stays pending on disk). A second signal exits at
// once with status 130.
int run_until_signalled(const std::function<int()>& work, StopSignal& stop, const ShutdownPolicy& policy);

} // namespace etl::cmd
