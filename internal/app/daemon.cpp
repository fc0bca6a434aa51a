// run (the daemon), once and replay: one set of objects, built in dependency order.
#include "app/commands.hpp"

#include "app/history_fill.hpp"
#include "app/policies.hpp"
#include "app/wiring.hpp"
#include "core/url_secrets.hpp"
#include "db/database.hpp"
#include "db/leader_lock.hpp"
#include "db/partitions.hpp"
#include "pipeline/adapters.hpp"
#include "scheduler/scheduler.hpp"
#include "spool/spool.hpp"
#include "telemetry/health.hpp"

#include <iostream>
#include <optional>

#include <spdlog/spdlog.h>

namespace etl::app {
namespace {

pacing::Pacing daemon_pacing(const config::Config& cfg) {
  return pacing::compute_pacing(cfg.pages, cfg.vs_currencies.size(), cfg.rate_limit_per_minute,
                                cfg.poll_interval);
}

class Daemon {
public:
  Daemon(const config::CommandLine& cli, const config::Config& cfg, spool::Spool& spool,
         const BuildStamp& build)
      : m_cfg(cfg), m_build(build), m_metrics({build.version, build.revision}),
        m_transport(curl_options(cfg, build)),
        // HISTORY_COINS: history in the calls each tick's sweep leaves free (only `run` fills).
        m_history_fill(
            cli.command == config::Command::run
                ? HistoryFill::create(cfg, daemon_pacing(cfg), curl_options(cfg, build), m_metrics)
                : nullptr),
        m_client(client_options(cfg), m_transport, m_stop,
                 client_observer(
                     m_metrics, m_history_fill ? std::function<void()>([f = m_history_fill.get()] {
                       f->count_sweep_attempt(); // the sweep's share of the tick's budget
                     })
                                               : std::function<void()>())),
        m_database(cfg.conninfo()), m_partitions(cfg.conninfo()), m_source(m_client),
        m_queue(spool) {
    const pacing::Pacing pacing = daemon_pacing(cfg);
    // Only the daemon elects: once/replay are explicit operator commands.
    if (cli.command == config::Command::run && cfg.leader_election) {
      const std::string lock_name = config::leader_lock_name(cfg);
      m_leader_lock.emplace(cfg.conninfo(), lock_application_name(),
                            db::leader_lock_key(lock_name));
      spdlog::info("leader election among replicas named '{}' (advisory lock key {})", lock_name,
                   db::leader_lock_key(lock_name));
    } else {
      m_metrics.leader.Set(1);
    }
    report_pacing(pacing, cfg, m_metrics);
    m_store.emplace(m_database, m_leader_lock ? &*m_leader_lock : nullptr, &m_partitions);
    m_pipeline.emplace(pipeline_options(cfg, pacing), m_source, m_queue, *m_store, m_metrics,
                       m_health, m_stop);
    m_policy = {cfg.shutdown_timeout, [this] { m_health.set_shutting_down(); }};
    // once/replay: an interrupted run did not do what was asked, and its exit status says so.
    m_command_policy = m_policy;
    m_command_policy.signal_ends_successfully = false;
    m_command_policy.abandoned_status = kExitFailure;
  }

  int replay(ShutdownWatchdog& watchdog) {
    const auto far_future = std::chrono::steady_clock::now() + std::chrono::hours(24 * 365);
    return watchdog.run(
        [&] {
          const auto summary = m_pipeline->drain_pending(far_future);
          m_pipeline->maintain_spool();
          spdlog::info("replay: {} loaded, {} quarantined, {} still pending{}", summary.loaded,
                       summary.quarantined, summary.remaining,
                       summary.db_unavailable ? " (database unavailable)"
                       : summary.db_refused   ? " (the database refuses loads)"
                                              : "");
          return summary.remaining == 0 && !summary.db_unavailable && !summary.db_refused
                     ? kExitOk
                     : kExitFailure;
        },
        m_stop, m_command_policy);
  }

  int once(ShutdownWatchdog& watchdog) {
    return watchdog.run(
        [&] {
          const auto deadline = std::chrono::steady_clock::now() + once_budget(m_cfg);
          m_pipeline->ensure_schema(); // as `run` does: the tick then loads pages as they arrive
          return m_pipeline->tick(deadline) == pipeline::TickResult::success ? kExitOk
                                                                             : kExitFailure;
        },
        m_stop, m_command_policy);
  }

  int serve(ShutdownWatchdog& watchdog);

private:
  int loop(server::HttpServer& http);

  const config::Config& m_cfg;
  BuildStamp m_build;
  http::CurlGlobal m_curl_global;
  telemetry::Metrics m_metrics;
  telemetry::HealthState m_health;
  StopSignal m_stop;
  http::CurlTransport m_transport;
  std::unique_ptr<HistoryFill> m_history_fill; // before m_client: its observer counts the sweep
  coingecko::MarketsClient m_client;
  db::Database m_database;
  db::PartitionMaintainer m_partitions;
  std::optional<db::LeaderLock> m_leader_lock;
  pipeline::MarketsPageSource m_source;
  pipeline::SpoolQueue m_queue;
  std::optional<pipeline::DatabaseStore> m_store;
  std::optional<pipeline::Pipeline> m_pipeline;
  ShutdownPolicy m_policy;
  ShutdownPolicy m_command_policy;
};

int Daemon::serve(ShutdownWatchdog& watchdog) {
  server::HttpServer http(server_options(m_cfg, m_build), m_health, m_metrics);
  auto port = http.start();
  if (!port) {
    spdlog::error("cannot serve HTTP_ADDR={}:{}: {}", m_cfg.http_host, m_cfg.http_port,
                  port.error());
    return kExitFailure;
  }
  std::string limited;
  if (http.connection_limit() < static_cast<std::size_t>(m_cfg.http_max_connections))
    limited.append(": a quarter of the open-file limit, below HTTP_MAX_CONNECTIONS=")
        .append(std::to_string(m_cfg.http_max_connections));
  spdlog::info("coingecko-etl {} ({}) polling {} every {} ms; observability on {}:{} (at most {} "
               "connections{})",
               m_build.version, m_build.revision, redact_url(m_cfg.coingecko_url),
               m_cfg.poll_interval.count(), m_cfg.http_host, *port, http.connection_limit(),
               limited);
  // Shutdown, lock first: the scheduler stops, the leader lock is released (a standby takes
  // over at its next tick) and the logs are flushed before the HTTP server stops, and all of it
  // under the watchdog's deadline (as are the destructors after it).
  const int code = watchdog.run([&] { return loop(http); }, m_stop, m_policy);
  spdlog::info("stopped");
  return code;
}

int Daemon::loop(server::HttpServer& http) {
  m_health.loop_started(std::chrono::system_clock::now());
  m_pipeline->ensure_schema(); // a database that is down now is retried every tick
  m_pipeline->maintain_spool();
  scheduler::SchedulerHooks hooks;
  hooks.tick = [&](const scheduler::TickContext& t) {
    m_pipeline->tick(t.deadline);
    if (m_history_fill)
      m_history_fill->after_tick(t.deadline, !m_leader_lock || m_leader_lock->is_leader());
  };
  hooks.skipped = [&](std::int64_t n) {
    m_metrics.ticks_skipped.Increment(static_cast<double>(n));
    m_metrics.tick("skipped").Increment(static_cast<double>(n));
    spdlog::warn("{} tick(s) skipped: the previous tick overran POLL_INTERVAL", n);
  };
  hooks.heartbeat = [&] { m_health.heartbeat(std::chrono::system_clock::now()); };
  scheduler::run_fixed_rate(m_cfg.poll_interval, m_stop, hooks);
  if (m_history_fill) m_history_fill->stop();
  m_health.loop_stopped();
  if (m_leader_lock) {
    const bool was_leader = m_leader_lock->is_leader();
    m_leader_lock->release(); // a standby's session too
    m_metrics.leader.Set(0);
    if (was_leader) spdlog::info("leader lock released");
  }
  spdlog::default_logger()->flush();
  http.stop(); // closes every connection; never waits for a client
  return kExitOk;
}

} // namespace

int run_daemon(const config::CommandLine& cli, const config::Config& cfg,
               ShutdownWatchdog& watchdog, const BuildStamp& build) {
  auto spool = spool::Spool::open(cfg.data_dir);
  if (!spool) {
    std::cerr << "coingecko-etl: DATA_DIR=" << cfg.data_dir.string()
              << " is not usable: " << spool.error().message << "\n";
    return kExitUsage;
  }
  Daemon daemon(cli, cfg, *spool, build);
  if (cli.command == config::Command::replay) return daemon.replay(watchdog);
  if (cli.command == config::Command::once) return daemon.once(watchdog);
  return daemon.serve(watchdog);
}

} // namespace etl::app
