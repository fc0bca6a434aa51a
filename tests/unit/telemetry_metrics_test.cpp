#include "telemetry/metrics.hpp"
#include "telemetry/process_collector.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using etl::telemetry::BuildInfo;
using etl::telemetry::Metrics;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

// Runs `promtool check metrics` on `text`; returns its exit status and everything it printed.
std::pair<int, std::string> promtool_check(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("etl_metrics_" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  const std::string command = "promtool check metrics < '" + path.string() + "' 2>&1";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 512> buf{};
  while (const auto n = std::fread(buf.data(), 1, buf.size(), pipe)) {
    output.append(buf.data(), n);
  }
  const int status = ::pclose(pipe);
  std::filesystem::remove(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

} // namespace

TEST_CASE("every family is exposed at zero before the first event", "[telemetry][metrics]") {
  Metrics metrics(BuildInfo{"1.2.3", "abc123"});
  const auto text = metrics.serialize();

  for (const auto* line : {
           "coingecko_etl_ticks_total{result=\"success\"} 0",
           "coingecko_etl_ticks_total{result=\"partial\"} 0",
           "coingecko_etl_ticks_total{result=\"failed\"} 0",
           "coingecko_etl_ticks_total{result=\"skipped\"} 0",
           "coingecko_etl_ticks_skipped_total 0",
           "coingecko_etl_tick_duration_seconds_count 0",
           "coingecko_etl_tick_duration_seconds_bucket{le=\"0.01\"} 0",
           "coingecko_etl_tick_duration_seconds_bucket{le=\"60\"} 0",
           "coingecko_etl_tick_duration_seconds_bucket{le=\"+Inf\"} 0",
           "coingecko_etl_stage_duration_seconds_count{stage=\"fetch\"} 0",
           "coingecko_etl_stage_duration_seconds_count{stage=\"load\"} 0",
           "coingecko_etl_last_success_timestamp_seconds 0",
           "coingecko_etl_last_load_success_timestamp_seconds 0",
           "coingecko_etl_http_requests_total{code=\"2xx\"} 0",
           "coingecko_etl_http_requests_total{code=\"429\"} 0",
           "coingecko_etl_http_requests_total{code=\"none\"} 0",
           "coingecko_etl_http_failures_total{reason=\"rate_limited\"} 0",
           "coingecko_etl_http_failures_total{reason=\"cancelled\"} 0",
           "coingecko_etl_http_failures_total{reason=\"other\"} 0",
           "coingecko_etl_http_retries_total 0",
           "coingecko_etl_wait_seconds_total{cause=\"rate_limit\"} 0",
           "coingecko_etl_wait_seconds_total{cause=\"retry_after\"} 0",
           "coingecko_etl_wait_seconds_total{cause=\"backoff\"} 0",
           "coingecko_etl_coins_received_total 0",
           "coingecko_etl_rows_inserted_total 0",
           "coingecko_etl_rows_unchanged_total 0",
           "coingecko_etl_rows_rejected_total 0",
           "coingecko_etl_bodies_rejected_total{kind=\"html\"} 0",
           "coingecko_etl_bodies_rejected_total{kind=\"not_array\"} 0",
           "coingecko_etl_snapshots_loaded_total 0",
           "coingecko_etl_snapshots_partial_total 0",
           "coingecko_etl_snapshots_quarantined_total 0",
           "coingecko_etl_load_errors_total{kind=\"unavailable\"} 0",
           "coingecko_etl_load_errors_total{kind=\"rejected\"} 0",
           "coingecko_etl_load_errors_total{kind=\"refused\"} 0",
           "coingecko_etl_load_errors_total{kind=\"internal\"} 0",
           "coingecko_etl_snapshots_pending 0",
           "coingecko_etl_spool_pending_bytes 0",
           "coingecko_etl_spool_oldest_pending_age_seconds 0",
           "coingecko_etl_snapshots_dropped_total 0",
           "coingecko_etl_spool_write_errors_total 0",
           "coingecko_etl_db_up 0",
           "coingecko_etl_http_server_connections_closed_total{reason=\"limit\"} 0",
           "coingecko_etl_http_server_connections_closed_total{reason=\"deadline\"} 0",
           "coingecko_etl_http_server_connections_closed_total{reason=\"too_large\"} 0",
           "coingecko_etl_build_info{revision=\"abc123\",version=\"1.2.3\"} 1",
       }) {
    INFO(line);
    CHECK(has_line(text, line));
  }
  // prometheus-cpp must not append its own suffix to counter names.
  CHECK(text.find("_total_total") == std::string::npos);
  CHECK(text.find("# TYPE coingecko_etl_rows_inserted_total counter") != std::string::npos);
  CHECK(text.find("# TYPE coingecko_etl_tick_duration_seconds histogram") != std::string::npos);

  for (const auto* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                           "process_virtual_memory_bytes ", "process_open_fds ", "process_max_fds ",
                           "process_start_time_seconds "}) {
    INFO(name);
    CHECK(text.find(std::string("\n") + name) != std::string::npos);
  }
}

TEST_CASE("the exposition passes promtool's lint", "[telemetry][metrics]") {
  Metrics metrics(BuildInfo{"0.1.0", "unknown"});
  metrics.tick("success").Increment();
  metrics.tick_duration.Observe(1.5);
  metrics.http_request(503).Increment();
  const auto [status, output] = promtool_check(metrics.serialize());
  INFO(output);
  CHECK(status == 0);
  CHECK(output.empty());
}

TEST_CASE("promtool check really rejects a bad exposition", "[telemetry][metrics]") {
  // Guards the test above: a counter without _total must make promtool complain.
  const auto [status, output] =
      promtool_check("# HELP bad_counter x\n# TYPE bad_counter counter\nbad_counter 1\n");
  CHECK(status != 0);
  CHECK_FALSE(output.empty());
}

TEST_CASE("counters and gauges move", "[telemetry][metrics]") {
  Metrics metrics(BuildInfo{"v", "r"});
  metrics.tick("failed").Increment();
  metrics.tick("failed").Increment();
  metrics.rows_inserted.Increment(100);
  metrics.http_request(200).Increment();
  metrics.http_request(204).Increment();
  metrics.http_request(429).Increment();
  metrics.http_request(404).Increment();
  metrics.http_request(0).Increment();
  metrics.wait_seconds("backoff").Increment(2.5);
  metrics.stage_duration("load").Observe(0.2);
  metrics.db_up.Set(1);

  CHECK(metrics.tick("failed").Value() == 2);
  CHECK(metrics.tick("success").Value() == 0);
  CHECK(metrics.http_request(299).Value() == 2);
  CHECK(metrics.http_request(429).Value() == 1);
  CHECK(metrics.http_request(400).Value() == 1);
  CHECK(metrics.http_request(0).Value() == 1);

  const auto text = metrics.serialize();
  CHECK(has_line(text, "coingecko_etl_ticks_total{result=\"failed\"} 2"));
  CHECK(has_line(text, "coingecko_etl_rows_inserted_total 100"));
  CHECK(has_line(text, "coingecko_etl_http_requests_total{code=\"2xx\"} 2"));
  CHECK(has_line(text, "coingecko_etl_http_requests_total{code=\"4xx\"} 1"));
  CHECK(has_line(text, "coingecko_etl_wait_seconds_total{cause=\"backoff\"} 2.5"));
  CHECK(has_line(text, "coingecko_etl_stage_duration_seconds_count{stage=\"load\"} 1"));
  CHECK(
      has_line(text, "coingecko_etl_stage_duration_seconds_bucket{stage=\"load\",le=\"0.25\"} 1"));
  CHECK(has_line(text, "coingecko_etl_stage_duration_seconds_bucket{stage=\"load\",le=\"0.1\"} 0"));
  CHECK(has_line(text, "coingecko_etl_db_up 1"));
}

TEST_CASE("values outside a label set land on the fixed other series", "[telemetry][metrics]") {
  Metrics metrics(BuildInfo{"v", "r"});
  const auto before = metrics.serialize();
  CHECK(has_line(before, "coingecko_etl_load_errors_total{kind=\"other\"} 0"));

  metrics.load_errors("no_such_kind").Increment();
  metrics.bodies_rejected("weird").Increment();
  metrics.http_failure("gremlins").Increment();
  metrics.tick("bogus").Increment();
  metrics.wait_seconds("coffee").Increment(1);
  metrics.stage_duration("nap").Observe(1);
  metrics.http_request(999).Increment();

  CHECK(&metrics.load_errors("no_such_kind") == &metrics.load_errors("other"));
  CHECK(&metrics.load_errors("internal") != &metrics.load_errors("other"));
  const auto text = metrics.serialize();
  CHECK(has_line(text, "coingecko_etl_load_errors_total{kind=\"other\"} 1"));
  CHECK(has_line(text, "coingecko_etl_bodies_rejected_total{kind=\"other\"} 1"));
  CHECK(has_line(text, "coingecko_etl_http_failures_total{reason=\"other\"} 1"));
  CHECK(has_line(text, "coingecko_etl_ticks_total{result=\"other\"} 1"));
  CHECK(has_line(text, "coingecko_etl_wait_seconds_total{cause=\"other\"} 1"));
  CHECK(has_line(text, "coingecko_etl_stage_duration_seconds_count{stage=\"other\"} 1"));
  CHECK(has_line(text, "coingecko_etl_http_requests_total{code=\"other\"} 1"));
  for (const auto* unknown :
       {"no_such_kind", "weird", "gremlins", "bogus", "coffee", "nap", "999"}) {
    INFO(unknown);
    CHECK(text.find("\"" + std::string(unknown) + "\"") == std::string::npos);
  }
  // No new series appeared: the number of lines is unchanged.
  CHECK(std::count(text.begin(), text.end(), '\n') ==
        std::count(before.begin(), before.end(), '\n'));
}

TEST_CASE("http_code_class buckets statuses", "[telemetry][metrics]") {
  using etl::telemetry::http_code_class;
  CHECK(http_code_class(0) == "none");
  CHECK(http_code_class(200) == "2xx");
  CHECK(http_code_class(301) == "3xx");
  CHECK(http_code_class(401) == "4xx");
  CHECK(http_code_class(429) == "429");
  CHECK(http_code_class(500) == "5xx");
  CHECK(http_code_class(599) == "5xx");
  CHECK(http_code_class(100) == "other");
  CHECK(http_code_class(-1) == "other");
}

TEST_CASE("parse_proc_stat reads the fields after the command name", "[telemetry][process]") {
  using etl::telemetry::parse_proc_stat;
  // A command name with spaces and a ')' must not shift the fields.
  const std::string line =
      "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 3 0 "
      "123456 987654321 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 2 0 0 0 0 0\n";
  const auto stat = parse_proc_stat(line);
  REQUIRE(stat);
  CHECK(stat->utime_ticks == 250);
  CHECK(stat->stime_ticks == 75);
  CHECK(stat->start_ticks == 123456);
  CHECK(stat->vsize_bytes == 987654321);
  CHECK(stat->rss_pages == 2048);

  CHECK_FALSE(parse_proc_stat("garbage"));
  CHECK_FALSE(parse_proc_stat("1 (x) S 1 2 3"));
}

TEST_CASE("parse_boot_time finds btime", "[telemetry][process]") {
  using etl::telemetry::parse_boot_time;
  CHECK(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n") == 1700000000);
  CHECK_FALSE(parse_boot_time("cpu 1 2 3\n"));
}

TEST_CASE("process collector reports this process", "[telemetry][process]") {
  const etl::telemetry::ProcessCollector collector;
  const auto families = collector.Collect();
  const auto value = [&](const std::string& name) -> double {
    for (const auto& f : families) {
      if (f.name == name) {
        return f.type == prometheus::MetricType::Counter ? f.metric.at(0).counter.value
                                                         : f.metric.at(0).gauge.value;
      }
    }
    FAIL("missing " << name);
    return -1;
  };
  CHECK(value("process_resident_memory_bytes") > 1024 * 1024);
  CHECK(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
  CHECK(value("process_open_fds") >= 3);
  CHECK(value("process_max_fds") >= value("process_open_fds"));
  CHECK(value("process_cpu_seconds_total") >= 0);
  const auto now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto start = value("process_start_time_seconds");
  CHECK(start <= now + 1);
  CHECK(start > now - 24 * 3600); // this test binary started recently
}
