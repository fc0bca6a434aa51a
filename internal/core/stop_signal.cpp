#include "core/stop_signal.hpp"

namespace etl {

void StopSignal::request_stop() noexcept {
  {
    std::lock_guard lock(m_mutex);
    m_stopped.store(true, std::memory_order_release);
  }
  m_cv.notify_all();
}

bool StopSignal::wait_for(std::chrono::nanoseconds d) {
  return wait_until(std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(d));
}

bool StopSignal::wait_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(m_mutex);
  m_cv.wait_until(lock, deadline, [this] { return m_stopped.load(std::memory_order_acquire); });
  return m_stopped.load(std::memory_order_acquire);
}

} // namespace etl
