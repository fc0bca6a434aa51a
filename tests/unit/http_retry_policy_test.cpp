#include "http/retry_policy.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using etl::http::backoff_delay;
using etl::http::is_retryable_status;
using etl::http::parse_retry_after;

namespace {
// 1994-11-06T08:49:37Z, the RFC 9110 example date.
const auto kRfcDate = std::chrono::system_clock::time_point{} + 784111777s;
} // namespace

TEST_CASE(
    "backoff_delay: zero randomness waits nothing, near-one reaches the exponential ceiling") {
  for (int attempt = 0; attempt < 5; ++attempt)
    CHECK(backoff_delay(attempt, 100ms, 60s, 0.0) == 0ms);
  CHECK(backoff_delay(0, 100ms, 60s, 0.999) == 99ms);
  CHECK(backoff_delay(1, 100ms, 60s, 0.999) == 199ms);
  CHECK(backoff_delay(2, 100ms, 60s, 0.999) == 399ms);
  CHECK(backoff_delay(3, 100ms, 60s, 0.999) == 799ms);
}

TEST_CASE("backoff_delay: grows with the attempt until the cap") {
  auto previous = 0ms;
  for (int attempt = 0; attempt < 6; ++attempt) {
    const auto d = backoff_delay(attempt, 1s, 30s, 0.999);
    CHECK(d > previous);
    previous = d;
  }
  CHECK(backoff_delay(5, 1s, 30s, 0.999) == 29970ms); // 32 s ceiling capped to 30 s
  CHECK(backoff_delay(10, 1s, 30s, 0.5) == 15s);
}

TEST_CASE("backoff_delay: huge attempts and bad inputs stay within [0, cap]") {
  CHECK(backoff_delay(1'000'000, 1s, 30s, 0.999) <= 30s);
  CHECK(backoff_delay(std::numeric_limits<int>::max(), 1s, 30s, 0.999) == 29970ms);
  CHECK(backoff_delay(-3, 1s, 30s, 0.999) == 999ms);
  CHECK(backoff_delay(2, 1s, 30s, 1.5) == 4s);
  CHECK(backoff_delay(2, 1s, 30s, -1.0) == 0ms);
  CHECK(backoff_delay(2, 1s, 30s, std::numeric_limits<double>::quiet_NaN()) == 0ms);
  CHECK(backoff_delay(2, 0ms, 30s, 0.9) == 0ms);
  CHECK(backoff_delay(2, 1s, 0ms, 0.9) == 0ms);
  CHECK(backoff_delay(62, std::chrono::milliseconds::max(), std::chrono::milliseconds::max(),
                      0.999) >= 0ms);
  CHECK(backoff_delay(62, std::chrono::milliseconds::max(), std::chrono::milliseconds::max(),
                      1.0) == std::chrono::milliseconds::max());
}

TEST_CASE("parse_retry_after: delta-seconds") {
  const auto now = std::chrono::system_clock::now();
  CHECK(parse_retry_after("120", now) == 120s);
  CHECK(parse_retry_after("0", now) == 0s);
  CHECK(parse_retry_after("119", now) == 119s);
  CHECK(parse_retry_after(" 5 ", now) == 5s); // surrounding whitespace is not part of the value
  CHECK(parse_retry_after("\t7", now) == 7s);
  CHECK(parse_retry_after("86400", now) == 86400s);
  CHECK(parse_retry_after("86401", now) == 86400s);                      // clamped to 24 h
  CHECK(parse_retry_after("99999999999999999999999999", now) == 86400s); // no overflow
}

TEST_CASE("parse_retry_after: rejects what is not delta-seconds or an IMF-fixdate") {
  const auto now = std::chrono::system_clock::now();
  for (const char* bad :
       {"", " ", "-1", "+1", "1.5", "1e3", "12a", "soon", "5 5", "0x10", "Throttled",
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 29 Feb 2023 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT junk"}) {
    INFO(bad);
    CHECK_FALSE(parse_retry_after(bad, now).has_value());
  }
}

TEST_CASE("parse_retry_after: HTTP-date is relative to the injected now") {
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kRfcDate) == 0s);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", kRfcDate) == 120s);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:48:37 GMT", kRfcDate) == 0s); // past: go now
  CHECK(parse_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", kRfcDate) == 86400s);
  CHECK(parse_retry_after("Tue, 08 Nov 1994 08:49:37 GMT", kRfcDate) == 86400s); // clamped
  // A fractional second before the date still waits the whole second.
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:38 GMT", kRfcDate + 1ms) == 1s);
  // Leap day and a far date check the calendar arithmetic, not just same-day offsets.
  const auto leap = std::chrono::system_clock::time_point{} + 1709164800s; // 2024-02-29T00:00:00Z
  CHECK(parse_retry_after("Thu, 29 Feb 2024 00:00:30 GMT", leap) == 30s);
  const auto y2038 = std::chrono::system_clock::time_point{} + 2147483647s; // 2038-01-19T03:14:07Z
  CHECK(parse_retry_after("Tue, 19 Jan 2038 03:15:07 GMT", y2038) == 60s);
}

TEST_CASE("is_retryable_status") {
  for (long s : {408L, 425L, 429L, 500L, 502L, 503L, 504L, 520L, 599L}) {
    INFO(s);
    CHECK(is_retryable_status(s));
  }
  for (long s : {0L, 200L, 204L, 301L, 400L, 401L, 403L, 404L, 422L, 600L}) {
    INFO(s);
    CHECK_FALSE(is_retryable_status(s));
  }
}
