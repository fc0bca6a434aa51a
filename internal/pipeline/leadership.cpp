// Leader election: with a leader lock only the replica holding it fetches.
#include "pipeline/pipeline.hpp"

namespace etl::pipeline {

bool Pipeline::refresh_leadership() {
  if (!m_store.elects_leader()) return true; // the only poller
  auto status = m_store.refresh_leader();
  bool leader = status && status->leader;
  // A leader that cannot reach PostgreSQL at all keeps polling into the spool (the delivery
  // rule for outages): no replica can take the lock from a database nobody reaches, and when
  // it returns, refresh() either re-takes the lock or finds the new leader and stands by. A
  // session that was merely terminated reconnects within refresh() and is decided there.
  const bool provisional = !status && status.error().kind == db::DbError::Kind::unavailable &&
                           m_was_leader.value_or(false);
  if (provisional) leader = true;
  m_report.leader_refreshed(leader, status ? nullptr : &status.error(), provisional);
  if (!m_was_leader || *m_was_leader != leader) {
    m_report.leadership_changed(leader, m_was_leader, status ? status->backend_pid : 0);
    if (leader) {
      // Nothing says where the previous leader's sweep stood: start a fresh one, and check
      // the partitions at once.
      m_sweep_cursor = 0;
      m_partitions_next.reset();
    }
  }
  m_was_leader = leader;
  return leader;
}

} // namespace etl::pipeline
