// Wiring only: parse the command line and configuration, build the objects in dependency order,
// run the chosen command, and translate signals into a graceful stop. No logic lives here.
#include "build_info.hpp"
#include "history_fill.hpp"
#include "signals.hpp"

#include "coingecko/http_transport.hpp"
#include "coingecko/markets_client.hpp"
#include "common/url_secrets.hpp"
#include "config/config.hpp"
#include "db/database.hpp"
#include "db/history_store.hpp"
#include "db/leader_lock.hpp"
#include "db/migrations.hpp"
#include "history/backfill.hpp"
#include "db/partitions.hpp"
#include "pipeline/pipeline.hpp"
#include "scheduler/scheduler.hpp"
#include "server/http_server.hpp"
#include "spool/atomic_file.hpp"
#include "spool/spool.hpp"
#include "telemetry/health.hpp"
#include "telemetry/logging.hpp"
#include "telemetry/metrics.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

extern char** environ;

namespace etl {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int usage_error(const std::vector<std::string>& problems, std::string_view heading) {
  std::cerr << "coingecko-etl: " << heading << "\n";
  for (const auto& p : problems) std::cerr << "  - " << p << "\n";
  std::cerr << "Run 'coingecko-etl --help' for the settings and what they allow.\n";
  return kExitUsage;
}

config::Environment process_environment() {
  config::Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string_view::npos) env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

// .env: --env-file must exist; the default ./.env is used only when present.
tl::expected<config::Environment, std::vector<std::string>> read_env_file(const config::CommandLine& cli) {
  const std::filesystem::path path = cli.env_file.value_or(".env");
  std::error_code ec;
  if (!cli.env_file && !std::filesystem::exists(path, ec)) return config::Environment{};
  auto text = spool::read_file(path);
  if (!text) return tl::unexpected(std::vector<std::string>{"--env-file: " + text.error().message});
  return config::parse_dotenv(*text);
}

coingecko::ClientObserver client_observer(telemetry::Metrics& metrics, cmd::HistoryFill* fill = nullptr) {
  return coingecko::ClientObserver{
      [&metrics, fill](const coingecko::AttemptEvent& e) {
        if (fill) fill->count_sweep_attempt(); // the sweep's share of the tick's budget
        metrics.http_request(e.status).Increment();
        if (!e.failure_reason.empty()) metrics.http_failure(e.failure_reason).Increment();
      },
      [&metrics](const coingecko::WaitEvent& w) {
        metrics.wait_seconds(w.cause).Increment(w.waited.count());
        if (w.cause != "rate_limit") metrics.http_retries.Increment();
      }};
}

coingecko::CurlOptions curl_options(const config::Config& cfg) {
  return {cfg.http_connect_timeout, cfg.http_timeout, cfg.http_timeout, cfg.max_body_bytes,
          std::string("coingecko-etl/") + build::kVersion, cfg.ca_file};
}

// Shown in pg_stat_activity, so an operator (or a test) can find the leader's lock session.
std::string lock_application_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::string name = "coingecko-etl-lock " + std::string(host) + " " + std::to_string(::getpid());
  if (name.size() > 63) name.resize(63); // PostgreSQL's NAMEDATALEN limit
  return name;
}

void log_pacing(const pipeline::Pacing& p, const config::Config& cfg, telemetry::Metrics& metrics) {
  metrics.planned_calls_per_tick.Set(static_cast<double>(p.calls_per_tick));
  metrics.planned_calls_per_minute.Set(p.calls_per_minute);
  metrics.planned_calls_per_month.Set(p.calls_per_month);
  metrics.sweep_ticks.Set(static_cast<double>(p.ticks_per_sweep));
  spdlog::info("pacing: a sweep is {} call(s) (PAGES={} x {} currencies); RATE_LIMIT_PER_MINUTE={} allows {} per "
               "tick; {} tick(s) per sweep, up to {} call(s) per tick, {:.1f}/min, {:.0f} per 30-day month{}",
               p.sweep_calls, cfg.pages, cfg.vs_currencies.size(), cfg.rate_limit_per_minute, p.budget_per_tick,
               p.ticks_per_sweep, p.calls_per_tick, p.calls_per_minute, p.calls_per_month,
               cfg.monthly_credits ? " (plan credits: " + std::to_string(*cfg.monthly_credits) + ")" : std::string());
}

int run_migrate(const config::Config& cfg) {
  db::Database database(cfg.conninfo());
  if (auto ok = database.ensure_connected(); !ok) {
    spdlog::error("cannot connect to PostgreSQL: {}", ok.error().message);
    return kExitFailure;
  }
  auto applied = database.migrate(cfg.migrations_dir);
  if (!applied) {
    spdlog::error("migration failed: {}", applied.error().message);
    return kExitFailure;
  }
  spdlog::info("migrations up to date ({} applied now from {})", *applied,
               db::describe_migration_source(cfg.migrations_dir));
  return kExitOk;
}

// backfill: history into coin_history (and coin_ohlc, coins), resumable; exit 0 only when every planned chunk was stored.
int run_backfill(const config::CommandLine& cli, const config::Config& cfg, cmd::ShutdownWatchdog& watchdog) {
  if (cfg.coingecko_api_base.empty()) {
    return usage_error({"COINGECKO_URL does not end in /coins/markets, so the API root cannot be derived from it: "
                        "set COINGECKO_API_BASE"},
                       "invalid configuration:");
  }
  std::string problem;
  const auto selection = config::parse_coin_selection(cfg.backfill_coins, problem);
  if (!selection) return usage_error({"BACKFILL_COINS: " + problem}, "invalid configuration:");

  // The schema first, as `run` does: backfill_chunks and coin_history come from migrations.
  if (const int migrated = run_migrate(cfg); migrated != kExitOk) return migrated;

  coingecko::CurlGlobal curl_global;
  StopSignal stop;
  coingecko::CurlTransport transport(curl_options(cfg));
  // The poller's plan, key and rate limit: one token bucket for every call this process makes.
  coingecko::CallerOptions caller;
  caller.plan = cfg.api_plan;
  caller.api_key = cfg.api_key;
  caller.max_attempts = cfg.max_attempts;
  caller.rate_limit_per_minute = cfg.rate_limit_per_minute;
  caller.url_secrets = url_secret_values(cfg.coingecko_url);
  coingecko::ApiCaller api(caller, transport, stop);
  db::HistoryStore store(cfg.conninfo());

  history::BackfillOptions options;
  options.coins = selection->ids;
  options.top = selection->top;
  options.vs_currencies = cfg.vs_currencies;
  options.days = cfg.backfill_days;
  options.from = cli.backfill.from;
  options.to = cli.backfill.to;
  options.api_base = cfg.coingecko_api_base;
  options.markets_url = cfg.coingecko_url;
  options.limited_reach = cfg.api_plan != coingecko::Plan::pro;
  options.data_dir = cfg.data_dir;
  options.ohlc = cli.backfill.ohlc;
  options.coins_list = cli.backfill.coins_list;
  // One credit account with the poller: the up-front log line puts the plan beside its use.
  if (cfg.monthly_credits) options.monthly_credits = *cfg.monthly_credits;
  options.poller_calls_per_month =
      pipeline::compute_pacing(cfg.pages, cfg.vs_currencies.size(), cfg.rate_limit_per_minute, cfg.poll_interval)
          .calls_per_month;
  // A person watching a terminal gets a progress bar on stderr; logs and pipes get log lines.
  if (::isatty(STDERR_FILENO) == 1) {
    winsize ws{};
    options.progress_bar_width = ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20 ? ws.ws_col : 80;
  }
  options.request_deadline = std::max<std::chrono::milliseconds>(std::chrono::minutes(10), cfg.http_timeout * cfg.max_attempts * 2);

  cmd::ShutdownPolicy policy{cfg.shutdown_timeout, [] {}};
  policy.signal_ends_successfully = false;
  policy.abandoned_status = kExitFailure;
  return watchdog.run(
      [&] {
        const auto sum = history::run_backfill(options, api, store, stop);
        spdlog::info("backfill summary: {} chunk(s) planned: {} done, {} provisional (open day, fetched again next "
                     "run), {} failed; {} part(s) skipped as already done; {} range(s) clamped to the plan's 365 "
                     "days; {} call(s) spent; {} row(s) added, {} corrected{}{}{}",
                     sum.planned, sum.done, sum.provisional, sum.failed, sum.skipped_done, sum.clamped, sum.calls,
                     sum.rows_inserted, sum.rows_updated,
                     options.ohlc ? fmt::format("; {} candle(s) added, {} corrected", sum.candles_inserted,
                                                sum.candles_updated)
                                  : std::string(),
                     sum.coins_listed ? fmt::format("; coins list: {} coin(s), {} changed", *sum.coins_listed,
                                                    sum.coins_changed)
                                      : std::string(),
                     sum.interrupted ? "; interrupted" : "");
        for (const auto& p : sum.problems) spdlog::error("backfill failed: {}", p);
        spdlog::default_logger()->flush();
        if (!sum.complete()) {
          std::cerr << "coingecko-etl: backfill incomplete: " << sum.failed << " chunk(s) failed"
                    << (sum.coins_list_failed ? ", the coins list failed" : "")
                    << (sum.interrupted ? ", interrupted" : "") << (sum.fatal ? ", stopped on an error" : "")
                    << "; run it again to retry (done chunks are not fetched again)\n";
          for (const auto& p : sum.problems) std::cerr << "  - " << p << "\n";
          return kExitFailure;
        }
        return kExitOk;
      },
      stop, policy);
}

int run_daemon(const config::CommandLine& cli, const config::Config& cfg, cmd::ShutdownWatchdog& watchdog) {
  auto spool = spool::Spool::open(cfg.data_dir);
  if (!spool) {
    std::cerr << "coingecko-etl: DATA_DIR=" << cfg.data_dir.string() << " is not usable: " << spool.error().message
              << "\n";
    return kExitUsage;
  }

  coingecko::CurlGlobal curl_global;
  telemetry::Metrics metrics({build::kVersion, build::kRevision});
  telemetry::HealthState health;
  StopSignal stop;

  coingecko::CurlTransport transport(curl_options(cfg));
  const pipeline::Pacing pacing =
      pipeline::compute_pacing(cfg.pages, cfg.vs_currencies.size(), cfg.rate_limit_per_minute, cfg.poll_interval);
  // HISTORY_COINS: history in the calls each tick's sweep leaves free (only `run` fills).
  const auto history_fill =
      cli.command == config::Command::run ? cmd::HistoryFill::create(cfg, pacing, curl_options(cfg), metrics) : nullptr;
  coingecko::ClientOptions client_options;
  client_options.markets_url = cfg.coingecko_url;
  client_options.plan = cfg.api_plan;
  client_options.api_key = cfg.api_key;
  client_options.per_page = cfg.per_page;
  client_options.max_attempts = cfg.max_attempts;
  client_options.rate_limit_per_minute = cfg.rate_limit_per_minute;
  coingecko::MarketsClient client(client_options, transport, stop, client_observer(metrics, history_fill.get()));

  db::Database database(cfg.conninfo());
  pipeline::PipelineOptions options;
  options.vs_currencies = cfg.vs_currencies;
  options.per_page = cfg.per_page;
  options.pages = cfg.pages;
  options.migrations_dir = cfg.migrations_dir;
  options.spool_max_bytes = cfg.spool_max_bytes;
  options.spool_max_age = std::chrono::duration_cast<std::chrono::seconds>(cfg.spool_max_age);
  options.retention = std::chrono::duration_cast<std::chrono::seconds>(cfg.retention);
  options.calls_per_tick_budget = pacing.budget_per_tick;
  db::PartitionMaintainer partitions(cfg.conninfo());
  options.partitions = &partitions;
  options.partition_policy.retention = cfg.coin_market_retention;
  options.partition_policy.raw_retention = cfg.coin_market_raw_retention;
  // Only the daemon elects: once/replay are explicit operator commands.
  std::optional<db::LeaderLock> leader_lock;
  if (cli.command == config::Command::run && cfg.leader_election) {
    const std::string lock_name = config::leader_lock_name(cfg);
    leader_lock.emplace(cfg.conninfo(), lock_application_name(), db::leader_lock_key(lock_name));
    options.leader_lock = &*leader_lock;
    spdlog::info("leader election among replicas named '{}' (advisory lock key {})", lock_name,
                 db::leader_lock_key(lock_name));
  } else {
    metrics.leader.Set(1);
  }
  log_pacing(pacing, cfg, metrics);
  pipeline::Pipeline pipeline(options, client, *spool, database, metrics, health, stop);

  cmd::ShutdownPolicy policy{cfg.shutdown_timeout, [&health] { health.set_shutting_down(); }};
  const auto far_future = std::chrono::steady_clock::now() + std::chrono::hours(24 * 365);

  // once/replay: an interrupted run did not do what was asked, and its exit status says so.
  cmd::ShutdownPolicy command_policy = policy;
  command_policy.signal_ends_successfully = false;
  command_policy.abandoned_status = kExitFailure;
  if (cli.command == config::Command::replay) {
    return watchdog.run(
        [&] {
          const auto summary = pipeline.drain_pending(far_future);
          pipeline.maintain_spool();
          spdlog::info("replay: {} loaded, {} quarantined, {} still pending{}", summary.loaded, summary.quarantined,
                       summary.remaining,
                       summary.db_unavailable ? " (database unavailable)"
                       : summary.db_refused   ? " (the database refuses loads)"
                                              : "");
          return summary.remaining == 0 && !summary.db_unavailable && !summary.db_refused ? kExitOk : kExitFailure;
        },
        stop, command_policy);
  }
  if (cli.command == config::Command::once) {
    return watchdog.run(
        [&] {
          const auto deadline = std::chrono::steady_clock::now() + std::max(cfg.poll_interval, std::chrono::milliseconds(60'000));
          pipeline.ensure_schema(); // as `run` does: the tick then loads pages as they arrive
          return pipeline.tick(deadline) == pipeline::TickResult::success ? kExitOk : kExitFailure;
        },
        stop, command_policy);
  }

  // run: the daemon.
  server::ServerOptions server_options;
  server_options.host = cfg.http_host;
  server_options.port = cfg.http_port;
  server_options.readiness.poll_interval = cfg.poll_interval;
  // /status shows the same redacted settings as check-config; the server never sees Config.
  server_options.status = {build::kVersion, build::kRevision, std::chrono::system_clock::now(),
                           telemetry::key_value_lines_to_json(config::render_effective(cfg))};
  server_options.liveness_max_silence =
      std::max(std::chrono::milliseconds(60'000), cfg.poll_interval * 3 + cfg.http_timeout * cfg.max_attempts);
  server_options.max_connections = static_cast<std::size_t>(cfg.http_max_connections);
  server::HttpServer http(server_options, health, metrics);
  auto port = http.start();
  if (!port) {
    spdlog::error("cannot serve HTTP_ADDR={}:{}: {}", cfg.http_host, cfg.http_port, port.error());
    return kExitFailure;
  }
  spdlog::info("coingecko-etl {} ({}) polling {} every {} ms; observability on {}:{} (at most {} connections{})",
               build::kVersion, build::kRevision, redact_url(cfg.coingecko_url), cfg.poll_interval.count(), cfg.http_host, *port,
               http.connection_limit(),
               http.connection_limit() < static_cast<std::size_t>(cfg.http_max_connections)
                   ? ": a quarter of the open-file limit, below HTTP_MAX_CONNECTIONS=" +
                         std::to_string(cfg.http_max_connections)
                   : std::string());

  // Shutdown, lock first: the scheduler stops, the leader lock is released (a standby takes
  // over at its next tick) and the logs are flushed before the HTTP server stops, and all of it
  // under the watchdog's deadline (as are the destructors after it).
  const int code = watchdog.run(
      [&] {
        health.loop_started(std::chrono::system_clock::now());
        pipeline.ensure_schema(); // a database that is down now is retried every tick
        pipeline.maintain_spool();
        scheduler::SchedulerHooks hooks;
        hooks.tick = [&](const scheduler::TickContext& t) {
          pipeline.tick(t.deadline);
          if (history_fill) history_fill->after_tick(t.deadline, !leader_lock || leader_lock->is_leader());
        };
        hooks.skipped = [&](std::int64_t n) {
          metrics.ticks_skipped.Increment(static_cast<double>(n));
          metrics.tick("skipped").Increment(static_cast<double>(n));
          spdlog::warn("{} tick(s) skipped: the previous tick overran POLL_INTERVAL", n);
        };
        hooks.heartbeat = [&] { health.heartbeat(std::chrono::system_clock::now()); };
        scheduler::run_fixed_rate(cfg.poll_interval, stop, hooks);
        if (history_fill) history_fill->stop();
        health.loop_stopped();
        if (leader_lock) {
          const bool was_leader = leader_lock->is_leader();
          leader_lock->release(); // a standby's session too
          metrics.leader.Set(0);
          if (was_leader) spdlog::info("leader lock released");
        }
        spdlog::default_logger()->flush();
        http.stop(); // closes every connection; never waits for a client
        return kExitOk;
      },
      stop, policy);
  spdlog::info("stopped");
  return code;
}

int run(int argc, char** argv, cmd::ShutdownWatchdog& watchdog) {
  auto cli = config::parse_command_line(argc, argv);
  if (!cli) return usage_error(cli.error(), "bad usage:");
  if (cli->command == config::Command::help) {
    std::cout << config::usage_text();
    return kExitOk;
  }
  if (cli->command == config::Command::version) {
    std::cout << "coingecko-etl " << build::kVersion << " (" << build::kRevision << ")\n";
    return kExitOk;
  }
  auto dotenv = read_env_file(*cli);
  if (!dotenv) return usage_error(dotenv.error(), "cannot read the .env file:");
  auto cfg = config::load_config(config::merge_sources(*dotenv, process_environment(), cli->overrides));
  if (!cfg) return usage_error(cfg.error(), "invalid configuration:");
  if (cli->command == config::Command::check_config) {
    std::cout << config::render_effective(*cfg);
    return kExitOk;
  }

  if (auto ok = telemetry::setup_logging({cfg->log_dir, cfg->log_level, cfg->log_format == config::LogFormat::json});
      !ok)
    spdlog::warn("file logging disabled: {}", ok.error());
  for (const auto& warning : config::config_warnings(*cfg)) spdlog::warn("{}", warning);
  for (const auto& warning : config::secret_flag_warnings(*cli)) spdlog::warn("{}", warning);
  if (cli->command == config::Command::migrate) return run_migrate(*cfg);
  if (cli->command == config::Command::backfill) return run_backfill(*cli, *cfg, watchdog);
  return run_daemon(*cli, *cfg, watchdog);
}

} // namespace
} // namespace etl

// A core dump would hold the API key and the database password in clear: none is written, and
// the process is not dumpable (no ptrace attach or /proc/<pid>/mem by other same-uid processes).
static void disable_core_dumps() {
  const rlimit none{0, 0};
  (void)::setrlimit(RLIMIT_CORE, &none);
  (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char** argv) {
  disable_core_dumps();
  etl::cmd::block_shutdown_signals();
  try {
    // Lives until main returns: the shutdown deadline covers every destructor.
    etl::cmd::ShutdownWatchdog watchdog;
    const int code = etl::run(argc, argv, watchdog);
    spdlog::default_logger()->flush();
    return code;
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    spdlog::default_logger()->flush();
    return 1;
  }
}
