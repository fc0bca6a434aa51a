// The tick's fault paths, with the seams' fakes and a fake clock: no network, disk, database or
// sleep. Each case drives ticks by hand and asserts what reached the store and the queue.
#include "fakes/fake_clock.hpp"
#include "fakes/fake_page_source.hpp"
#include "fakes/fake_snapshot_queue.hpp"
#include "fakes/fake_snapshot_store.hpp"
#include "pipeline/pipeline.hpp"

#include <catch2/catch.hpp>

#include <set>

namespace {

using namespace etl;
using etl::pipeline::TickResult;
using Mood = fakes::FakeSnapshotStore::Mood;

struct Harness {
  static constexpr int kPerPage = 5;
  explicit Harness(int pages = 3, std::vector<std::string> currencies = {"usd"},
                   std::int64_t budget = 0) {
    options.vs_currencies = std::move(currencies);
    options.per_page = kPerPage;
    options.pages = pages;
    options.calls_per_tick_budget = budget;
    restart();
  }
  // A new process over the same queue and database (the sweep and the back-off start afresh).
  void restart() {
    pipeline.reset();
    pipeline = std::make_unique<pipeline::Pipeline>(options, source, queue, store, metrics, health,
                                                    *stop, clock);
  }
  TickResult tick() {
    clock.advance(std::chrono::seconds(60)); // one poll interval: a new snapshot id per tick
    return pipeline->tick(clock.steady_now() + std::chrono::seconds(60));
  }
  [[nodiscard]] std::vector<int> committed_pages(const std::string& id) const {
    const auto it = store.committed.find(id);
    return it == store.committed.end() ? std::vector<int>{} : it->second.pages;
  }

  fakes::FakeClock clock;
  fakes::FakePageSource source{kPerPage};
  fakes::FakeSnapshotQueue queue{clock};
  fakes::FakeSnapshotStore store;
  telemetry::Metrics metrics{telemetry::BuildInfo{"test", "test"}};
  telemetry::HealthState health;
  std::unique_ptr<StopSignal> stop = std::make_unique<StopSignal>();
  pipeline::PipelineOptions options;
  std::unique_ptr<pipeline::Pipeline> pipeline;
};

} // namespace

TEST_CASE("tick: every page arrives and the snapshot loads whole", "[pipeline]") {
  Harness h(3);
  REQUIRE(h.tick() == TickResult::success);
  REQUIRE(h.store.commit_order.size() == 1);
  const auto& id = h.store.commit_order.front();
  CHECK(h.store.committed.at(id).status == "loaded");
  CHECK(h.committed_pages(id) == std::vector<int>{1, 2, 3});
  CHECK(h.store.committed.at(id).coins == 3 * Harness::kPerPage);
  CHECK(h.queue.pending().empty());
  CHECK_FALSE(h.queue.snapshots.at(id).processed.empty());
}

TEST_CASE("tick: a failed page ends the snapshot, which loads partial; the next tick is whole",
          "[pipeline]") {
  Harness h(3);
  h.source.fail("usd", 2, coingecko::FetchFailure::server_error, 503);
  REQUIRE(h.tick() == TickResult::partial);
  const auto first = h.store.commit_order.at(0);
  CHECK(h.store.committed.at(first).status == "partial");
  CHECK(h.committed_pages(first) == std::vector<int>{1});
  CHECK(h.store.committed.at(first).error.find('2') !=
        std::string::npos);          // names the missing pages
  CHECK(h.source.calls.size() == 2); // page 3 is not asked for after page 2 failed

  h.source.clear_failures();
  REQUIRE(h.tick() == TickResult::success);
  CHECK(h.committed_pages(h.store.commit_order.at(1)) == std::vector<int>{1, 2, 3});
}

TEST_CASE("tick: a short page is the end of the market", "[pipeline]") {
  Harness h(5);
  h.source.set_coins("usd", 2, 2);
  REQUIRE(h.tick() == TickResult::success);
  CHECK(h.source.calls.size() == 2);
  const auto& id = h.store.commit_order.at(0);
  CHECK(h.store.committed.at(id).status == "loaded");
  CHECK(h.committed_pages(id) == std::vector<int>{1, 2});
}

TEST_CASE("tick: database down: snapshots stay pending and load oldest first when it returns",
          "[pipeline]") {
  Harness h(2);
  h.store.mood = Mood::down;
  REQUIRE(h.tick() == TickResult::failed);
  REQUIRE(h.tick() == TickResult::failed);
  const auto queued = h.queue.pending();
  REQUIRE(queued.size() == 2);
  CHECK(h.store.committed.empty());

  h.store.mood = Mood::accepting;
  REQUIRE(h.tick() == TickResult::success);
  REQUIRE(h.store.commit_order.size() == 3);
  CHECK(h.store.commit_order.at(0) == queued.at(0));
  CHECK(h.store.commit_order.at(1) == queued.at(1));
  CHECK(h.queue.pending().empty());
  for (const auto& id : h.store.commit_order)
    CHECK(h.committed_pages(id) == std::vector<int>{1, 2});
}

TEST_CASE("tick: a database that refuses loads is backed off, then retried", "[pipeline]") {
  Harness h(1);
  REQUIRE(h.pipeline->ensure_schema());
  h.store.mood = Mood::refusing;
  REQUIRE(h.tick() == TickResult::failed);
  CHECK(h.queue.pending().size() == 1);
  const int begins_after_refusal = h.store.begins;

  // Within the back-off (1 s after the first refusal) no load is attempted.
  h.store.mood = Mood::accepting;
  REQUIRE(h.pipeline->drain_pending(h.clock.steady_now() + std::chrono::seconds(60)).db_refused);
  CHECK(h.store.begins == begins_after_refusal);

  h.clock.advance(std::chrono::seconds(2));
  const auto drained = h.pipeline->drain_pending(h.clock.steady_now() + std::chrono::seconds(60));
  CHECK_FALSE(drained.db_refused);
  CHECK(drained.loaded == 1);
  CHECK(h.queue.pending().empty());
  CHECK(h.store.commit_order.size() == 1);
}

TEST_CASE("tick: data the database refuses is quarantined and does not block the queue",
          "[pipeline]") {
  Harness h(1);
  h.store.mood = Mood::down;
  REQUIRE(h.tick() == TickResult::failed); // the poison snapshot, queued
  REQUIRE(h.tick() == TickResult::failed); // a good one behind it
  const auto queued = h.queue.pending();
  REQUIRE(queued.size() == 2);
  h.store.rejects_data = [poison = queued.at(0)](const std::string& id) { return id == poison; };
  h.store.mood = Mood::accepting;

  h.tick();
  CHECK_FALSE(h.queue.snapshots.at(queued.at(0)).quarantine_reason.empty());
  CHECK_FALSE(h.store.committed.contains(queued.at(0)));
  CHECK(h.store.committed.contains(queued.at(1)));
  CHECK(h.queue.pending().empty());
}

TEST_CASE("tick: a stop between pages spools the interrupted snapshot; the next start loads it",
          "[pipeline]") {
  Harness h(4);
  REQUIRE(h.pipeline->ensure_schema()); // a live load is open when the stop comes
  h.source.after_fetch = [&h](const std::string&, int page) {
    if (page == 2) h.stop->request_stop();
  };
  h.tick();
  CHECK(h.source.calls.size() == 2);
  CHECK(h.store.committed.empty()); // the open transaction rolled back
  const auto queued = h.queue.pending();
  REQUIRE(queued.size() == 1);
  CHECK(h.queue.snapshots.at(queued.at(0)).pages.size() == 2);

  h.source.after_fetch = nullptr;
  h.stop = std::make_unique<StopSignal>();
  h.restart();
  const auto drained = h.pipeline->drain_pending(h.clock.steady_now() + std::chrono::seconds(60));
  CHECK(drained.loaded == 1);
  CHECK(h.committed_pages(queued.at(0)) == std::vector<int>{1, 2});
  CHECK(h.store.committed.at(queued.at(0)).status == "partial");
}

TEST_CASE("tick: a rolling sweep spreads the pages over ticks within the call budget",
          "[pipeline]") {
  Harness h(4, {"usd", "eur"}, /*budget=*/3);
  std::set<std::pair<std::string, int>> seen;
  for (int t = 0; t < 3; ++t) {
    const auto before = h.source.calls.size();
    REQUIRE(h.tick() == TickResult::success);
    const auto made = h.source.calls.size() - before;
    CHECK(made <= 3);
    CHECK(made >= 2);
    for (auto i = before; i < h.source.calls.size(); ++i)
      CHECK(seen.insert(h.source.calls[i]).second);
  }
  CHECK(seen.size() == 8); // every page of both currencies, each once
  const auto before = h.source.calls.size();
  h.tick(); // a new sweep starts at the first page
  CHECK(h.source.calls.at(before) == std::pair<std::string, int>{"usd", 1});
}

TEST_CASE("tick: a live load and a load from the queue store the same snapshot", "[pipeline]") {
  auto run = [](bool live) {
    Harness h(3);
    h.source.set_coins("usd", 3, 2);
    if (live) REQUIRE(h.pipeline->ensure_schema()); // connected before the fetch: the live route
    REQUIRE(h.tick() == TickResult::success);
    CHECK((h.queue.raw_reads == 0) == live);
    REQUIRE(h.store.commit_order.size() == 1);
    return h.store.committed.at(h.store.commit_order.front());
  };
  const auto from_memory = run(true);
  const auto from_queue = run(false);
  CHECK(from_memory == from_queue);
  CHECK(from_memory.pages == std::vector<int>{1, 2, 3});
}

TEST_CASE("tick: a standby replica does not fetch; it fetches once it leads", "[pipeline]") {
  Harness h(2);
  h.store.leader = false;
  REQUIRE(h.tick() == TickResult::standby);
  REQUIRE(h.tick() == TickResult::standby);
  CHECK(h.source.calls.empty());
  CHECK(h.store.committed.empty());

  h.store.leader = true;
  REQUIRE(h.tick() == TickResult::success);
  CHECK(h.source.calls.size() == 2);
  CHECK(h.store.commit_order.size() == 1);
}

namespace {
// The records of a processed file (what follows its header, which names the snapshot).
std::string records_of(const std::string& processed) {
  const auto at = processed.find("\"coins\":[");
  return at == std::string::npos ? "<no coins>" : processed.substr(at);
}
} // namespace

TEST_CASE("tick: a page with the bytes of one loaded before is not parsed; its records are copied",
          "[pipeline]") {
  Harness h(3);
  REQUIRE(h.tick() == TickResult::success);
  CHECK(h.store.repeated_pages == 0);
  const std::string first = h.store.commit_order.at(0);

  // CoinGecko's cache: the same three bodies. The store vouches for them, the records are copied.
  REQUIRE(h.tick() == TickResult::success);
  const std::string second = h.store.commit_order.at(1);
  CHECK(h.store.repeated_pages == 3);
  CHECK(h.queue.processed_reads == 3);
  CHECK(h.committed_pages(second) == std::vector<int>{1, 2, 3});
  CHECK(h.store.committed.at(second).coins == 3 * Harness::kPerPage);
  CHECK(h.store.committed.at(second).status == "loaded");
  CHECK(records_of(h.queue.snapshots.at(second).processed) ==
        records_of(h.queue.snapshots.at(first).processed));
  CHECK(h.metrics.coins_received.Value() == 6 * Harness::kPerPage);

  // Page 2 changes: parsed and loaded; pages 1 and 3 still copied.
  h.source.set_body("usd", 2, fakes::markets_body(Harness::kPerPage, "changed"));
  REQUIRE(h.tick() == TickResult::success);
  const std::string third = h.store.commit_order.at(2);
  CHECK(h.store.repeated_pages == 5);
  const std::string records = records_of(h.queue.snapshots.at(third).processed);
  CHECK(records.find("changed-0") != std::string::npos);
  CHECK(records.find("changed-0") < records.rfind("usd-0")); // page order kept: 1, 2, 3

  // The store cannot vouch (it forgot, another replica led): every page is parsed again, and
  // the file holds the same records as parsing gives.
  h.store.vouches = false;
  REQUIRE(h.tick() == TickResult::success);
  const std::string fourth = h.store.commit_order.at(3);
  CHECK(h.store.repeated_pages == 5);
  CHECK(records_of(h.queue.snapshots.at(fourth).processed) == records);
  CHECK(h.store.committed.at(fourth).coins == 3 * Harness::kPerPage);

  // The earlier processed file is gone (spool retention): parsed, not copied.
  h.store.vouches = true;
  h.queue.snapshots.at(fourth).processed.clear();
  const int reads = h.queue.processed_reads;
  REQUIRE(h.tick() == TickResult::success);
  CHECK(h.queue.processed_reads == reads);
  CHECK(h.store.repeated_pages == 5);
  CHECK(records_of(h.queue.snapshots.at(h.store.commit_order.at(4)).processed) == records);
}
