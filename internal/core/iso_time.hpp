#pragma once
// The one ISO 8601 formatter: JSON status, log lines, timestamptz text for PostgreSQL, snapshot
// ids and history file names all spell UTC through it. Times before 1970 floor, so the
// fraction always stays within 0..999(999).
#include <chrono>
#include <string>

namespace etl::core {

enum class Fraction { none, millis, micros };

// Extended form: "2026-11-22T14:00:00.250Z" (millis), "...00.250000Z" (micros), "...00Z" (none).
std::string format_iso8601(std::chrono::system_clock::time_point t,
                           Fraction fraction = Fraction::millis);

// Basic form, for names: "20261122T140000Z" (none) or "20261122T140000.250Z" (millis).
std::string format_iso8601_basic(std::chrono::system_clock::time_point t,
                                 Fraction fraction = Fraction::none);

} // namespace etl::core
