// The backfill's progress text: the terminal bar (fixed width, rate, ETA) and the log line.
#include "history/progress.hpp"

#include <catch2/catch.hpp>

using namespace etl::history;

TEST_CASE("progress: bar with rate and ETA, exactly the terminal's width", "[history][progress]") {
  ProgressState s;
  s.planned = 40;
  s.done = 9;
  s.failed = 1;
  s.elapsed = std::chrono::seconds{8};
  CHECK(s.rate() == Approx(1.25));
  REQUIRE(s.eta_seconds());
  CHECK(*s.eta_seconds() == Approx(24.0));
  const std::string bar = progress_bar(s, 80);
  CHECK(bar.size() == 80);
  CHECK(bar.rfind("[#########", 0) == 0); // 10/40 of a 40-column bar
  CHECK(bar.find(" 10/40  25% 1.25/s ETA 0:24 1 failed") != std::string::npos);
  CHECK(progress_bar(s, 30).size() == 30); // too narrow for a bar: the numbers, cut
  CHECK(progress_bar(s, 30).find('[') == std::string::npos);
}

TEST_CASE("progress: before the first chunk and when finished", "[history][progress]") {
  ProgressState s;
  s.planned = 3;
  CHECK_FALSE(s.eta_seconds());
  CHECK(progress_bar(s, 60).find("0/3   0% 0.00/s ETA -") != std::string::npos);
  s.done = 3;
  s.elapsed = std::chrono::seconds{2};
  CHECK_FALSE(s.eta_seconds());
  CHECK(progress_line(s, true) ==
        "3/3 chunk(s) (3 done, 0 provisional, 0 failed), 1.50 chunk(s)/s");
  s.done = 1;
  CHECK(progress_line(s, false) ==
        "1/3 chunk(s) (1 done, 0 provisional, 0 failed), 0.50 chunk(s)/s, ETA 0:04");
}

TEST_CASE("progress: durations", "[history][progress]") {
  CHECK(format_duration(0) == "0:00");
  CHECK(format_duration(59.6) == "1:00");
  CHECK(format_duration(725) == "12:05");
  CHECK(format_duration(10931) == "3:02:11");
  CHECK(format_duration(-5) == "0:00");
}
