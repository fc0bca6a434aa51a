#pragma once
// SIGTERM/SIGINT handling without async-signal hazards: the signals are blocked in every thread
// and the main thread collects them with sigtimedwait while the work runs on a worker thread.
#include "common/stop_signal.hpp"

#include <chrono>
#include <functional>

namespace etl::cmd {

// Call first in main, before any thread exists, so every thread inherits the mask.
void block_shutdown_signals();

struct ShutdownPolicy {
  std::chrono::milliseconds timeout{10'000};
  std::function<void()> on_first_signal; // e.g. mark not-ready, log
};

// Runs `work` on a worker thread and returns its exit code. The first signal requests stop; the
// work then has `timeout` to finish, after which the process exits 0 at once (anything in
// flight stays pending on disk). A second signal exits at once with status 130.
int run_until_signalled(const std::function<int()>& work, StopSignal& stop, const ShutdownPolicy& policy);

} // namespace etl::cmd
