#include "telemetry/process_collector.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <system_error>

#include <sys/resource.h>
#include <unistd.h>

namespace etl::telemetry {
namespace {

std::optional<std::string> read_small_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    return std::nullopt;
  }
  return text;
}

template <typename Int> bool parse_int(std::string_view token, Int& out) {
  const auto* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, out);
  return ec == std::errc{} && ptr == end;
}

prometheus::MetricFamily single(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

std::optional<std::int64_t> count_open_fds() {
  std::error_code ec;
  std::int64_t count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++count;
  }
  if (ec) {
    return std::nullopt;
  }
  return count;
}

} // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  // Field 3 (state) is the first after ')'; we need fields 14, 15, 22, 23 and 24.
  std::vector<std::string_view> fields;
  std::size_t pos = close + 1;
  while (pos < text.size() && fields.size() < 22) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n')) {
      ++pos;
    }
    const auto start = pos;
    while (pos < text.size() && text[pos] != ' ' && text[pos] != '\n') {
      ++pos;
    }
    if (pos > start) {
      fields.push_back(text.substr(start, pos - start));
    }
  }
  if (fields.size() < 22) {
    return std::nullopt;
  }
  const auto field = [&](int number) { return fields[static_cast<std::size_t>(number - 3)]; };
  ProcStat stat;
  if (!parse_int(field(14), stat.utime_ticks) || !parse_int(field(15), stat.stime_ticks) ||
      !parse_int(field(22), stat.start_ticks) || !parse_int(field(23), stat.vsize_bytes) ||
      !parse_int(field(24), stat.rss_pages)) {
    return std::nullopt;
  }
  return stat;
}

std::optional<std::int64_t> parse_boot_time(std::string_view proc_stat_text) {
  std::size_t pos = 0;
  while (pos < proc_stat_text.size()) {
    auto end = proc_stat_text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = proc_stat_text.size();
    }
    const auto line = proc_stat_text.substr(pos, end - pos);
    constexpr std::string_view prefix = "btime ";
    if (line.substr(0, prefix.size()) == prefix) {
      std::int64_t value = 0;
      if (parse_int(line.substr(prefix.size()), value)) {
        return value;
      }
      return std::nullopt;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

ProcessCollector::ProcessCollector()
    : m_clock_ticks(::sysconf(_SC_CLK_TCK)), m_page_size(::sysconf(_SC_PAGESIZE)) {
  if (const auto text = read_small_file("/proc/stat")) {
    m_boot_time = parse_boot_time(*text);
  }
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const auto text = read_small_file("/proc/self/stat");
  const auto stat = text ? parse_proc_stat(*text) : std::nullopt;
  if (stat && m_clock_ticks > 0) {
    const auto ticks = static_cast<double>(m_clock_ticks);
    out.push_back(single("process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.", MetricType::Counter,
                         static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks));
    if (m_boot_time) {
      out.push_back(single(
          "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          MetricType::Gauge,
          static_cast<double>(*m_boot_time) + static_cast<double>(stat->start_ticks) / ticks));
    }
  }
  if (stat) {
    out.push_back(single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         MetricType::Gauge, static_cast<double>(stat->vsize_bytes)));
    if (m_page_size > 0) {
      out.push_back(single(
          "process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
          static_cast<double>(stat->rss_pages) * static_cast<double>(m_page_size)));
    }
  }
  if (const auto fds = count_open_fds()) {
    out.push_back(single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                         static_cast<double>(*fds)));
  }
  // getrlimit reads the same soft limit that /proc/self/limits prints, without parsing text.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    out.push_back(single("process_max_fds", "Maximum number of open file descriptors.",
                         MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
  }
  return out;
}

} // namespace etl::telemetry
