#include "app/app.hpp"

#include "app/commands.hpp"
#include "spool/atomic_file.hpp"
#include "telemetry/logging.hpp"

#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

extern char** environ;

namespace etl::app {
namespace {

config::Environment process_environment() {
  config::Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string_view::npos)
      env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

// .env: --env-file must exist; the default ./.env is used only when present.
tl::expected<config::Environment, std::vector<std::string>>
read_env_file(const config::CommandLine& cli) {
  const std::filesystem::path path = cli.env_file.value_or(".env");
  std::error_code ec;
  if (!cli.env_file && !std::filesystem::exists(path, ec)) return config::Environment{};
  auto text = spool::read_file(path);
  if (!text) return tl::unexpected(std::vector<std::string>{"--env-file: " + text.error().message});
  return config::parse_dotenv(*text);
}

} // namespace

int run(int argc, char** argv, ShutdownWatchdog& watchdog, const BuildStamp& build) {
  auto cli = config::parse_command_line(argc, argv);
  if (!cli) return usage_error(cli.error(), "bad usage:");
  if (cli->command == config::Command::help) {
    std::cout << config::usage_text();
    return kExitOk;
  }
  if (cli->command == config::Command::version) {
    std::cout << "coingecko-etl " << build.version << " (" << build.revision << ")\n";
    return kExitOk;
  }
  auto dotenv = read_env_file(*cli);
  if (!dotenv) return usage_error(dotenv.error(), "cannot read the .env file:");
  auto cfg =
      config::load_config(config::merge_sources(*dotenv, process_environment(), cli->overrides));
  if (!cfg) return usage_error(cfg.error(), "invalid configuration:");
  if (cli->command == config::Command::check_config) {
    std::cout << config::render_effective(*cfg);
    return kExitOk;
  }

  if (auto ok = telemetry::setup_logging(
          {cfg->log_dir, cfg->log_level, cfg->log_format == config::LogFormat::json});
      !ok)
    spdlog::warn("file logging disabled: {}", ok.error());
  for (const auto& warning : config::config_warnings(*cfg)) spdlog::warn("{}", warning);
  for (const auto& warning : config::secret_flag_warnings(*cli)) spdlog::warn("{}", warning);
  if (cli->command == config::Command::migrate) return run_migrate(*cfg);
  if (cli->command == config::Command::backfill) return run_backfill(*cli, *cfg, watchdog, build);
  return run_daemon(*cli, *cfg, watchdog, build);
}

} // namespace etl::app
