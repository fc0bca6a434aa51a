#pragma once
// SIGTERM/SIGINT handling without async-signal hazards: the signals are blocked in every thread
// and a watchdog thread collects them (signalfd) for the whole life of the process.
#include "core/stop_signal.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace etl::app {

// Call first in main, before any thread exists, so every thread inherits the mask. SIGHUP is
// blocked too and logged and ignored by the watchdog.
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

// Collects SIGTERM, SIGINT and SIGHUP on a thread of its own from construction to destruction:
// main() creates it right after block_shutdown_signals() and destroys it last, so the deadline
// and the second-signal exit cover everything the process does, up to its last destructor.
//
// The first SIGTERM/SIGINT requests the stop of the work that run() is running and starts the
// deadline (policy.timeout from the signal): past it the process exits at once with
// policy.abandoned_status, whatever it is doing (anything in flight stays pending on disk). A
// second signal exits at once with status 130. SIGHUP is logged and ignored. A signal that
// arrives before run() (start-up) is applied as soon as run() starts; its deadline counts from
// the signal.
class ShutdownWatchdog {
public:
  ShutdownWatchdog();
  ~ShutdownWatchdog();
  ShutdownWatchdog(const ShutdownWatchdog&) = delete;
  ShutdownWatchdog& operator=(const ShutdownWatchdog&) = delete;

  // Runs `work` on the calling thread and returns its exit code (0 when a signal stopped it and
  // policy.signal_ends_successfully). `stop` and the policy's callback are used only until
  // run() returns; the deadline, once started, stays until the process exits.
  int run(const std::function<int()>& work, StopSignal& stop, const ShutdownPolicy& policy);

private:
  struct State;
  std::unique_ptr<State> m_state;
};

} // namespace etl::app
