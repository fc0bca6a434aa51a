// The backfill's reporting: the summary callback, the progress line or bar, warnings that do
// not land inside the bar, and the fatal stop.
#include "history/backfill_runner.hpp"

#include "history/progress.hpp"

#include <cstdio>

#include <spdlog/spdlog.h>

namespace etl::history::backfill_detail {

void Runner::report() {
  if (m_o.on_progress) m_o.on_progress(m_sum);
}

BackfillSummary Runner::fatal(std::string message) {
  end_bar_line();
  spdlog::error("backfill: {}", message);
  m_sum.fatal = true;
  m_sum.problems.push_back(std::move(message));
  return m_sum;
}

// On a terminal the bar owns the current line: it is ended before a warning is printed, so
// the warning does not land in its middle (the bar is redrawn below it).
void Runner::log_warning(const std::string& message) {
  end_bar_line();
  spdlog::warn("{}", message);
}

void Runner::end_bar_line() {
  if (m_bar_drawn) {
    std::fputc('\n', stderr);
    std::fflush(stderr);
    m_bar_drawn = false;
  }
}

void Runner::progress(bool last) {
  if (m_o.quiet) return;
  const auto t = SteadyClock::now();
  ProgressState state;
  state.planned = m_sum.planned;
  state.done = m_sum.done;
  state.provisional = m_sum.provisional;
  state.failed = m_sum.failed;
  state.elapsed = t - m_started;
  if (m_o.progress_bar_width > 0) {
    // Redrawn at most a few times a second: a terminal is cheap, but not free.
    if (!last && t - m_last_progress < std::chrono::milliseconds{200}) return;
    m_last_progress = t;
    // Appended, not "\r" + string: GCC 12 -O3 reports a false -Wrestrict on the latter.
    std::string line("\r");
    line.append(progress_bar(state, m_o.progress_bar_width - 1));
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
    m_bar_drawn = true;
    if (last) end_bar_line();
    return;
  }
  if (!last && t - m_last_progress < m_o.progress_interval) return;
  m_last_progress = t;
  spdlog::info("backfill: {}", progress_line(state, last));
}

} // namespace etl::history::backfill_detail
