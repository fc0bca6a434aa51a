#include "spool/snapshot_plan.hpp"

#include <algorithm>
#include <charconv>

namespace etl::spool {
namespace {

std::optional<int> to_int(std::string_view s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

} // namespace

std::string format_plan(const SnapshotPlan& plan) {
  return "first=" + std::to_string(plan.first_page) + " last=" + std::to_string(plan.last_page) +
         " per_page=" + std::to_string(plan.per_page);
}

std::optional<SnapshotPlan> parse_plan(std::string_view marker) {
  while (!marker.empty() && (marker.back() == '\n' || marker.back() == ' '))
    marker.remove_suffix(1);
  SnapshotPlan plan;
  if (marker.empty()) return plan;
  if (marker.find('=') == std::string_view::npos) { // an old marker: the first page only
    const auto first = to_int(marker);
    if (!first || *first < 1) return std::nullopt;
    plan.first_page = *first;
    return plan;
  }
  bool seen_first = false;
  while (!marker.empty()) {
    const auto space = marker.find(' ');
    const std::string_view word = marker.substr(0, space);
    marker = space == std::string_view::npos ? std::string_view() : marker.substr(space + 1);
    const auto eq = word.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const auto key = word.substr(0, eq);
    const auto value = to_int(word.substr(eq + 1));
    if (!value) return std::nullopt;
    if (key == "first") {
      plan.first_page = *value;
      seen_first = true;
    } else if (key == "last") {
      plan.last_page = *value;
    } else if (key == "per_page") {
      plan.per_page = *value;
    } // unknown keys: written by a newer version, ignored
  }
  if (!seen_first || plan.first_page < 1 ||
      (plan.last_page != 0 && plan.last_page < plan.first_page))
    return std::nullopt;
  return plan;
}

std::vector<int> missing_pages(const SnapshotPlan& plan, std::span<const int> present,
                               std::optional<std::size_t> highest_page_coins) {
  std::vector<int> missing;
  if (plan.last_page == 0) return missing;
  int last = plan.last_page;
  if (!present.empty()) {
    const int highest = *std::max_element(present.begin(), present.end());
    const bool market_ended = highest_page_coins && plan.per_page > 0 &&
                              *highest_page_coins < static_cast<std::size_t>(plan.per_page);
    if (market_ended) last = std::min(last, highest);
  }
  for (int page = plan.first_page; page <= last; ++page) {
    if (std::find(present.begin(), present.end(), page) == present.end()) missing.push_back(page);
  }
  return missing;
}

std::string describe_pages(std::span<const int> pages) {
  std::string out;
  for (std::size_t i = 0; i < pages.size();) {
    std::size_t j = i;
    while (j + 1 < pages.size() && pages[j + 1] == pages[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(pages[i]);
    if (j > i) out += '-' + std::to_string(pages[j]);
    i = j + 1;
  }
  return out;
}

std::string missing_pages_error(const SnapshotPlan& plan, std::span<const int> missing) {
  if (missing.empty()) return {};
  return "missing pages " + describe_pages(missing) + " of " + std::to_string(plan.first_page) +
         "-" + std::to_string(plan.last_page) + " (the sweep stopped early)";
}

} // namespace etl::spool
