// The fetch stage: one currency's pages -> the queue (raw) -> processed -> a live load.
#include "pipeline/pipeline.hpp"
#include "pipeline/processed_writer.hpp"

namespace etl::pipeline {

struct Pipeline::FetchState {
  std::size_t currency = 0;
  spool::SnapshotPlan plan;
  std::string id;
  ProcessedWriter processed;
  FetchOutcome out;
  bool marked = false;
  bool parsed_any = false;
  bool bad_page = false;
  std::optional<LiveLoad> live; // see begin_live_load(); dropped at the first irregularity
  // Pages of this snapshot that become m_seen_pages once its processed file is committed.
  std::vector<std::pair<int, SeenPage>> seen;
};

Pipeline::FetchOutcome Pipeline::fetch_snapshot(std::size_t currency, int first_page, int last_page,
                                                SteadyTime deadline) {
  const std::string& vs_currency = m_options.vs_currencies[currency];
  const std::string id = m_queue.new_snapshot_id(m_clock.wall_now(), vs_currency);
  FetchState s{currency,     {first_page, last_page, m_options.per_page},
               id,           ProcessedWriter(m_queue, id, vs_currency),
               {},           false,
               false,        false,
               std::nullopt, {}};

  for (int page = first_page; page <= last_page && !m_stop.stop_requested(); ++page) {
    const auto fetch_start = m_clock.steady_now();
    auto fetched = m_source.fetch_page(vs_currency, page, deadline);
    const double fetch_took = seconds_since(fetch_start);
    if (!fetched) {
      m_report.page_failed(vs_currency, page, fetched.error(), fetch_took, m_stop.stop_requested());
      break;
    }
    m_report.page_fetched(fetch_took);
    if (!spool_page(s, page, fetched->body)) break;
    if (!transform_page(s, page, fetched->body)) break;
    if (page == last_page) s.out.complete = true;
  }
  if (s.bad_page) s.out.complete = false; // every page was asked for, but not every page was data
  if (s.parsed_any && s.processed.commit())
    for (auto& [page, seen] : s.seen) m_seen_pages[{currency, page}] = std::move(seen);
  // Stopping: the transaction rolls back and the snapshot stays pending, loaded at the next start.
  if (s.live && !m_stop.stop_requested()) commit_live_load(*s.live);
  return s.out;
}

bool Pipeline::spool_page(FetchState& s, int page, std::string_view body) {
  const auto start = m_clock.steady_now();
  if (!s.marked) {
    if (auto ok = m_queue.mark_pending(s.id, s.plan); !ok) {
      m_report.spool_failed(s.id, page, "cannot spool snapshot (page dropped)", ok.error().message,
                            seconds_since(start));
      return false;
    }
    s.marked = true;
    s.out.snapshot_id = s.id;
  }
  if (auto ok = m_queue.write_raw_page(s.id, page, body); !ok) {
    s.live.reset();
    m_report.spool_failed(s.id, page, "cannot spool page (page dropped)", ok.error().message,
                          seconds_since(start));
    return false;
  }
  m_report.page_spooled(seconds_since(start));
  ++s.out.pages_saved;
  return true;
}

bool Pipeline::transform_page(FetchState& s, int page, std::string_view body) {
  const auto start = m_clock.steady_now();
  if (page == s.plan.first_page) s.live = begin_live_load(s.id, s.plan);
  const core::Sha256 digest = core::sha256(body);
  if (const auto coins = reuse_page(s, page, body, digest, start))
    return end_of_page(s, page, *coins);
  auto parsed = market::parse_markets(body);
  if (!parsed) {
    s.live.reset();
    m_report.body_rejected(s.id, page, parsed.error(), seconds_since(start));
    // One bad page must not cost the rest of the market: the next pages are still fetched
    // (the bad body stays in raw/, and the snapshot loads as partial with its reason).
    s.bad_page = true;
    return true;
  }
  const auto records = s.processed.add_page(page, *parsed);
  s.parsed_any = true;
  if (records && parsed->rejected_count == 0)
    s.seen.emplace_back(page, SeenPage{digest, s.id, *records, parsed->received()});
  m_report.page_transformed(s.id, page, *parsed, seconds_since(start));
  if (s.live && !add_live_page(*s.live, page, body, digest, *parsed)) s.live.reset();
  return end_of_page(s, page, parsed->received());
}

std::optional<std::size_t> Pipeline::reuse_page(FetchState& s, int page, std::string_view body,
                                                const core::Sha256& digest, SteadyTime start) {
  // Only into a live load: the queue's route parses every page from disk, as the reference.
  if (!s.live) return std::nullopt;
  const auto it = m_seen_pages.find({s.currency, page});
  if (it == m_seen_pages.end() || it->second.digest != digest) return std::nullopt;
  const SeenPage seen = it->second;
  auto records = m_queue.read_processed(seen.snapshot_id, seen.records.offset, seen.records.length);
  if (!records) return std::nullopt; // the earlier file is gone (retention, quarantine): parse
  const auto db_start = m_clock.steady_now();
  auto added = s.live->load->add_repeated_page(page, body, digest);
  s.live->db_seconds += seconds_since(db_start);
  if (!added) {
    load_failed(s.live->snapshot_id, added.error(), s.live->db_seconds, Route::live);
    s.live.reset();
    return std::nullopt; // parsed for the processed file; the queue loads the snapshot later
  }
  if (!*added) return std::nullopt; // the database cannot vouch for it: parse and load it
  if (const auto copied = s.processed.add_records(*records))
    s.seen.emplace_back(page, SeenPage{digest, s.id, *copied, seen.coins});
  s.parsed_any = true;
  s.live->pages.push_back(page);
  s.live->last_page_coins = seen.coins;
  m_report.page_reused(seen.coins, seconds_since(start));
  return seen.coins;
}

bool Pipeline::end_of_page(FetchState& s, int page, std::size_t received) {
  if (received < static_cast<std::size_t>(m_options.per_page)) {
    // A short page is the end of the market: later pages of this sweep would be empty.
    m_market_end[s.currency] = page;
    s.out.complete = true;
    return false;
  }
  return true;
}

} // namespace etl::pipeline
