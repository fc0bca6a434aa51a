#pragma once
// What a sweep planned for one snapshot, kept in its pending marker, and the pure judgement of
// whether the pages that arrived are all of it. Pure.
//
// Marker text: "first=13 last=24 per_page=250". Markers written before plans were recorded
// hold "" (first page 1) or just the first page ("13"); their last page is unknown, so no page
// can be called missing.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace etl::spool {

struct SnapshotPlan {
  int first_page = 1;
  int last_page = 0; // 0: unknown (an old marker)
  int per_page = 0;  // 0: unknown; a page with fewer coins ends the market early
};

std::string format_plan(const SnapshotPlan& plan);
// nullopt for a damaged marker.
std::optional<SnapshotPlan> parse_plan(std::string_view marker);

// The planned page numbers that did not arrive, ascending. `present` are the page numbers that
// did (any order). Pages after the highest present one are not missing when that page held
// fewer than per_page coins (`highest_page_coins`; nullopt when unknown, e.g. a bad body):
// the market ended there, so the sweep had nothing more to fetch.
std::vector<int> missing_pages(const SnapshotPlan& plan, std::span<const int> present,
                               std::optional<std::size_t> highest_page_coins);

// "3-5,9" for {3,4,5,9}.
std::string describe_pages(std::span<const int> pages);

// The etl_runs.error text of a snapshot with missing pages, e.g.
// "missing pages 5-12 of 1-12 (the sweep stopped early)". Empty when none are missing.
std::string missing_pages_error(const SnapshotPlan& plan, std::span<const int> missing);

} // namespace etl::spool
