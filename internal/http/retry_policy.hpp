#pragma once
// Pure retry math: which outcomes are retried, how long to wait, how to read Retry-After.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace etl::http {

// Exponential back-off with full jitter: uniform in [0, min(cap, base * 2^attempt)].
// `attempt` counts from 0 (the wait after the first failure). `unit_random` is in [0, 1).
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds cap, double unit_random) noexcept;

// Parses a Retry-After value: delta-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT", relative to `now`). nullopt when unparseable.
// A date in the past gives 0 s. Values are clamped to 24 h.
std::optional<std::chrono::seconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) noexcept;

// True for statuses worth another attempt: 408, 425, 429, 500, 502, 503, 504 (and other 5xx).
bool is_retryable_status(long status) noexcept;

} // namespace etl::http
