// The rolling-sweep planner and the pacing arithmetic (pure), and the spool's listing of a
// window's pages (which no longer start at page 1).
#include "pipeline/sweep.hpp"
#include "spool/spool.hpp"

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using etl::pacing::compute_pacing;
using etl::pipeline::PageCall;
using etl::pipeline::plan_tick;
using etl::pipeline::TickPlan;

namespace {

std::vector<PageCall> calls(std::initializer_list<std::pair<std::size_t, int>> list) {
  std::vector<PageCall> out;
  for (const auto& [c, p] : list) out.push_back(PageCall{c, p});
  return out;
}

} // namespace

TEST_CASE("sweep: a sweep that fits the budget is fetched whole every tick", "[sweep]") {
  const TickPlan plan = plan_tick(0, 2, 3, 6);
  CHECK(plan.calls == calls({{0, 1}, {0, 2}, {1, 1}, {1, 2}, {2, 1}, {2, 2}}));
  CHECK(plan.next_cursor == 0);
  CHECK(plan.sweep_starts);
  CHECK(plan.sweep_ends);
  // Unlimited budget (no rate limit configured) is the same.
  CHECK(plan_tick(0, 2, 3, std::numeric_limits<std::int64_t>::max()).calls.size() == 6);
}

TEST_CASE("sweep: too many pages are spread over balanced consecutive windows", "[sweep]") {
  // 5 pages x 1 currency, 4 calls per tick: 2 ticks of 3 and 2 (not 4 and 1).
  const TickPlan first = plan_tick(0, 5, 1, 4);
  CHECK(first.calls == calls({{0, 1}, {0, 2}, {0, 3}}));
  CHECK(first.sweep_starts);
  CHECK_FALSE(first.sweep_ends);
  CHECK(first.next_cursor == 3);
  const TickPlan second = plan_tick(first.next_cursor, 5, 1, 4);
  CHECK(second.calls == calls({{0, 4}, {0, 5}}));
  CHECK_FALSE(second.sweep_starts);
  CHECK(second.sweep_ends);
  CHECK(second.next_cursor == 0);
  CHECK(plan_tick(second.next_cursor, 5, 1, 4).calls == first.calls); // the next sweep
}

TEST_CASE("sweep: every (currency, page) is fetched exactly once per sweep, never over budget",
          "[sweep]") {
  for (const int pages : {1, 2, 7, 70}) {
    for (const std::size_t currencies : {std::size_t{1}, std::size_t{3}, std::size_t{5}}) {
      for (const std::int64_t budget : {1, 2, 3, 4, 15, 69, 70, 71, 1000}) {
        INFO("pages=" << pages << " currencies=" << currencies << " budget=" << budget);
        const auto pacing = compute_pacing(pages, currencies, static_cast<double>(budget), 60s);
        REQUIRE(pacing.budget_per_tick == budget);
        std::map<std::pair<std::size_t, int>, int> seen;
        std::size_t cursor = 0;
        std::int64_t ticks = 0;
        bool ended = false;
        while (!ended) {
          const TickPlan plan = plan_tick(cursor, pages, currencies, budget);
          REQUIRE(static_cast<std::int64_t>(plan.calls.size()) <= budget);
          REQUIRE(static_cast<std::int64_t>(plan.calls.size()) <= pacing.calls_per_tick);
          REQUIRE_FALSE(plan.calls.empty());
          CHECK(plan.sweep_starts == (ticks == 0));
          // Within a tick each currency's pages are one ascending, gap-free run.
          for (std::size_t i = 1; i < plan.calls.size(); ++i) {
            const auto& a = plan.calls[i - 1];
            const auto& b = plan.calls[i];
            CHECK(((b.currency == a.currency && b.page == a.page + 1) ||
                   (b.currency == a.currency + 1 && b.page == 1)));
          }
          for (const auto& c : plan.calls) ++seen[{c.currency, c.page}];
          cursor = plan.next_cursor;
          ended = plan.sweep_ends;
          ++ticks;
          REQUIRE(ticks <= pages * static_cast<std::int64_t>(currencies));
        }
        CHECK(cursor == 0);
        CHECK(ticks == pacing.ticks_per_sweep);
        CHECK(seen.size() == static_cast<std::size_t>(pages) * currencies);
        for (const auto& [key, n] : seen) CHECK(n == 1);
      }
    }
  }
}

TEST_CASE("sweep: a stale or out-of-range cursor restarts the sweep", "[sweep]") {
  // The configuration shrank (or a new leader took over): cursor 99 is past a 10-call sweep.
  const TickPlan plan = plan_tick(99, 5, 2, 4);
  CHECK(plan.sweep_starts);
  CHECK(plan.calls.front() == PageCall{0, 1});
  CHECK(plan_tick(0, 0, 2, 4).calls.empty());
  CHECK(plan_tick(0, 5, 0, 4).calls.empty());
  CHECK(plan_tick(0, 3, 1, 0).calls.size() == 1); // a budget below 1 still makes progress
}

TEST_CASE("pacing: the README's arithmetic", "[sweep][pacing]") {
  SECTION("keyless: 1 page, 1 currency, 5/min, every 30 s") {
    const auto p = compute_pacing(1, 1, 5, 30s);
    CHECK(p.sweep_calls == 1);
    CHECK(p.budget_per_tick == 2); // floor(5 x 30 / 60) = 2
    CHECK(p.ticks_per_sweep == 1);
    CHECK_FALSE(p.rolling());
    CHECK(p.calls_per_tick == 1);
    CHECK(p.calls_per_minute == Approx(2.0));
    CHECK(p.calls_per_month == Approx(86'400.0)); // 2/min x 43,200 min
  }
  SECTION("demo: the whole market (70 pages of 250) in usd, eur and btc, 30/min, every 60 s") {
    const auto p = compute_pacing(70, 3, 30, 60s);
    CHECK(p.sweep_calls == 210);
    CHECK(p.budget_per_tick == 30);
    CHECK(p.ticks_per_sweep == 7); // each page refreshed every 7 minutes
    CHECK(p.rolling());
    CHECK(p.calls_per_tick == 30);
    CHECK(p.calls_per_minute == Approx(30.0));
    CHECK(p.calls_per_month == Approx(1'296'000.0)); // far above the demo plan's 10,000 credits
  }
  SECTION("windows are balanced: 5 calls at 4 per tick is 2 ticks of at most 3") {
    const auto p = compute_pacing(5, 1, 4, 60s);
    CHECK(p.ticks_per_sweep == 2);
    CHECK(p.calls_per_tick == 3);
  }
  SECTION("sub-minute intervals and fractional rates") {
    const auto p = compute_pacing(1, 1, 5, 12s); // 5/min x 12 s = exactly one call
    CHECK(p.budget_per_tick == 1);
    CHECK(p.calls_per_minute == Approx(5.0));
    const auto slow = compute_pacing(3, 1, 0.5, 30s); // a quarter call per tick: still 1
    CHECK(slow.budget_per_tick == 1);
    CHECK(slow.ticks_per_sweep == 3);
  }
}

TEST_CASE("spool: a rolling window's pages are found from their first page", "[sweep][spool]") {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("etl-sweep-test-" + std::to_string(std::random_device{}()));
  struct Cleanup {
    fs::path p;
    ~Cleanup() { fs::remove_all(p); }
  } cleanup{dir};
  auto spool = etl::spool::Spool::open(dir);
  REQUIRE(spool);
  const auto t = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + std::chrono::hours{14};
  const std::string id = spool->new_snapshot_id(t, "usd");
  REQUIRE(spool->mark_pending(id, etl::spool::SnapshotPlan{12, 14, 100}));
  for (int page = 12; page <= 14; ++page)
    REQUIRE(spool->write_raw_page(id, page, "[" + std::to_string(page) + "]"));
  CHECK(fs::exists(dir / "raw" / (id + "_p012.json"))); // the real API page number
  auto pages = spool->raw_pages(id);
  REQUIRE(pages.size() == 3);
  CHECK(pages[0].page == 12);
  CHECK(pages[2].page == 14);
  CHECK(spool->backlog().bytes == 12);

  // Once acknowledged (no marker any more), listing by prefix still finds them.
  REQUIRE(spool->acknowledge(id));
  pages = spool->raw_pages(id);
  REQUIRE(pages.size() == 3);
  CHECK(pages[0].page == 12);
  // ...and no other snapshot's pages, even one whose id shares a prefix.
  const std::string other = spool->new_snapshot_id(t, "usdt");
  REQUIRE(spool->write_raw_page(other, 1, "[]"));
  CHECK(spool->raw_pages(id).size() == 3);
}
