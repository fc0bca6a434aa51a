#include "spool/naming.hpp"

#include "core/iso_time.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace etl::spool {
namespace {

bool parse_digits(std::string_view s, int& out) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

bool valid_currency(std::string_view c) {
  if (c.empty() || c.size() > 10) return false;
  for (char ch : c)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) return false;
  return true;
}

} // namespace

std::string make_snapshot_id(SysTime t, std::string_view vs_currency, bool with_millis) {
  std::string id =
      core::format_iso8601_basic(t, with_millis ? core::Fraction::millis : core::Fraction::none);
  id += '_';
  id += vs_currency;
  return id;
}

std::string raw_page_filename(std::string_view snapshot_id, int page) {
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "_p%03d.json", page);
  return std::string(snapshot_id) + suffix;
}

std::string processed_filename(std::string_view snapshot_id) {
  return std::string(snapshot_id) + ".json";
}

std::optional<SnapshotName> parse_snapshot_id(std::string_view id) {
  // YYYYMMDDTHHMMSS[.mmm]Z_<currency>
  const auto underscore = id.find('_');
  if (underscore == std::string_view::npos) return std::nullopt;
  const std::string_view stamp = id.substr(0, underscore);
  const std::string_view currency = id.substr(underscore + 1);
  if (!valid_currency(currency)) return std::nullopt;
  if (stamp.size() != 16 && stamp.size() != 20) return std::nullopt;
  if (stamp[8] != 'T' || stamp.back() != 'Z') return std::nullopt;
  int y, mo, d, h, mi, s, ms = 0;
  if (!parse_digits(stamp.substr(0, 4), y) || !parse_digits(stamp.substr(4, 2), mo) ||
      !parse_digits(stamp.substr(6, 2), d) || !parse_digits(stamp.substr(9, 2), h) ||
      !parse_digits(stamp.substr(11, 2), mi) || !parse_digits(stamp.substr(13, 2), s))
    return std::nullopt;
  if (stamp.size() == 20) {
    if (stamp[15] != '.' || !parse_digits(stamp.substr(16, 3), ms)) return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  const SysTime t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms};
  return SnapshotName{t, std::string(currency)};
}

std::optional<std::pair<std::string, int>> parse_raw_page_filename(std::string_view name) {
  constexpr std::string_view ext = ".json";
  if (name.size() <= ext.size() + 5 || name.substr(name.size() - ext.size()) != ext)
    return std::nullopt;
  const std::string_view stem = name.substr(0, name.size() - ext.size());
  const auto marker = stem.rfind("_p");
  if (marker == std::string_view::npos) return std::nullopt;
  int page = 0;
  if (!parse_digits(stem.substr(marker + 2), page) || page < 1) return std::nullopt;
  std::string id(stem.substr(0, marker));
  if (!parse_snapshot_id(id)) return std::nullopt;
  return std::make_pair(std::move(id), page);
}

bool snapshot_older(std::string_view a, std::string_view b) {
  const auto pa = parse_snapshot_id(a);
  const auto pb = parse_snapshot_id(b);
  if (pa && pb && pa->time != pb->time) return pa->time < pb->time;
  return a < b;
}

} // namespace etl::spool
