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
};

Pipeline::FetchOutcome Pipeline::fetch_snapshot(std::size_t currency, int first_page, int last_page,
                                                SteadyTime deadline) {
  const std::string& vs_currency = m_options.vs_currencies[currency];
  const std::string id = m_queue.new_snapshot_id(m_clock.wall_now(), vs_currency);
  FetchState s{currency,    {first_page, last_page, m_options.per_page},
               id,          ProcessedWriter(m_queue, id, vs_currency),
               {},          false,
               false,       false,
               std::nullopt};

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
  if (s.parsed_any) s.processed.commit();
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
  auto parsed = market::parse_markets(body);
  if (!parsed) {
    s.live.reset();
    m_report.body_rejected(s.id, page, parsed.error(), seconds_since(start));
    // One bad page must not cost the rest of the market: the next pages are still fetched
    // (the bad body stays in raw/, and the snapshot loads as partial with its reason).
    s.bad_page = true;
    return true;
  }
  s.processed.add_page(page, *parsed);
  s.parsed_any = true;
  m_report.page_transformed(s.id, page, *parsed, seconds_since(start));
  if (page == s.plan.first_page) s.live = begin_live_load(s.id, s.plan);
  if (s.live && !add_live_page(*s.live, page, body, *parsed)) s.live.reset();

  if (parsed->received() < static_cast<std::size_t>(m_options.per_page)) {
    // A short page is the end of the market: later pages of this sweep would be empty.
    m_market_end[s.currency] = page;
    s.out.complete = true;
    return false;
  }
  return true;
}

} // namespace etl::pipeline
