#pragma once
// A process-wide "please stop" flag that sleeping code can wait on.
// Every wait in the daemon (scheduler ticks, retry back-off, Retry-After) goes through
// StopSignal::wait_for so that shutdown interrupts it at once instead of after the sleep.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace etl {

class StopSignal {
public:
  StopSignal() = default;
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  void request_stop() noexcept;
  [[nodiscard]] bool stop_requested() const noexcept {
    return m_stopped.load(std::memory_order_acquire);
  }

  // Sleeps for `d` or until stop is requested. Returns true when stop was requested.
  bool wait_for(std::chrono::nanoseconds d);
  // Sleeps until `deadline` (steady clock) or until stop is requested. Returns true when stopped.
  bool wait_until(std::chrono::steady_clock::time_point deadline);

private:
  std::atomic<bool> m_stopped{false};
  std::mutex m_mutex;
  std::condition_variable m_cv;
};

} // namespace etl
