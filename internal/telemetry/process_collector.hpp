#pragma once
// The standard process_* metrics (the names the Prometheus client libraries of Go, Java and
// Python export), read from /proc on every scrape so they are never stale.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace etl::telemetry {

// The fields of /proc/<pid>/stat that the process metrics need, in the kernel's units.
struct ProcStat {
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t start_ticks = 0; // since boot
  std::uint64_t vsize_bytes = 0;
  std::int64_t rss_pages = 0;
};

// Pure: parses one /proc/<pid>/stat line. The command name may hold spaces and ')' so the
// fields are counted from the last ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view text);
// Pure: the "btime" line of /proc/stat (boot time, seconds since the epoch).
std::optional<std::int64_t> parse_boot_time(std::string_view proc_stat_text);

class ProcessCollector final : public prometheus::Collectable {
public:
  ProcessCollector();
  // A metric whose source cannot be read is left out rather than reported as 0.
  std::vector<prometheus::MetricFamily> Collect() const override;

private:
  long m_clock_ticks;
  long m_page_size;
  std::optional<std::int64_t> m_boot_time; // constant while the machine runs
};

} // namespace etl::telemetry
