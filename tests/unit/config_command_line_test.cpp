#include "config/config.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <fstream>
#include <sstream>

using etl::config::Command;
using etl::config::parse_command_line;

namespace {

auto parse(std::vector<const char*> args) {
  args.insert(args.begin(), "coingecko-etl");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

std::string all(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  return out;
}

} // namespace

TEST_CASE("config: no arguments means run", "[config]") {
  const auto line = parse({});
  REQUIRE(line.has_value());
  CHECK(line->command == Command::run);
  CHECK_FALSE(line->env_file.has_value());
  CHECK(line->overrides.empty());
}

TEST_CASE("config: every command is recognised", "[config]") {
  CHECK(parse({"run"})->command == Command::run);
  CHECK(parse({"once"})->command == Command::once);
  CHECK(parse({"migrate"})->command == Command::migrate);
  CHECK(parse({"replay"})->command == Command::replay);
  CHECK(parse({"check-config"})->command == Command::check_config);
  CHECK(parse({"--help"})->command == Command::help);
  CHECK(parse({"-h"})->command == Command::help);
  CHECK(parse({"--version"})->command == Command::version);
}

TEST_CASE("config: variable flags work with = and with a separate value", "[config]") {
  const auto line =
      parse({"once", "--poll-interval", "5s", "--per-page=50", "--vs-currency=usd,eur",
             "--env-file", "/tmp/x.env", "--log-level", "-weird-but-a-value"});
  REQUIRE(line.has_value());
  CHECK(line->command == Command::once);
  CHECK(line->overrides.at("POLL_INTERVAL") == "5s");
  CHECK(line->overrides.at("PER_PAGE") == "50");
  CHECK(line->overrides.at("VS_CURRENCY") == "usd,eur");
  CHECK(line->overrides.at("LOG_LEVEL") == "-weird-but-a-value");
  REQUIRE(line->env_file.has_value());
  CHECK(*line->env_file == "/tmp/x.env");

  const auto eq =
      parse({"--poll-interval=5s", "--env-file=a.env", "--database-url=postgres://h/db?x=1"});
  REQUIRE(eq.has_value());
  CHECK(eq->overrides.at("POLL_INTERVAL") == "5s");
  CHECK(eq->overrides.at("DATABASE_URL") == "postgres://h/db?x=1");
  CHECK(*eq->env_file == "a.env");
}

TEST_CASE("config: every documented variable has a flag", "[config]") {
  for (const auto& doc : etl::config::variable_docs()) {
    std::string flag = "--";
    for (const char c : doc.name)
      flag += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string arg = flag + "=v";
    const auto line = parse({arg.c_str()});
    INFO(arg);
    REQUIRE(line.has_value());
    CHECK(line->overrides.at(std::string(doc.name)) == "v");
  }
}

TEST_CASE("config: command-line mistakes are all reported", "[config]") {
  SECTION("unknown flag") {
    const auto line = parse({"--bogus=1"});
    REQUIRE_FALSE(line.has_value());
    CHECK(all(line.error()).find("unknown flag \"--bogus\"") != std::string::npos);
  }
  SECTION("flags are lowercase with dashes only") {
    CHECK_FALSE(parse({"--POLL_INTERVAL=5s"}).has_value());
    CHECK_FALSE(parse({"--poll_interval=5s"}).has_value());
    CHECK_FALSE(parse({"-x"}).has_value());
  }
  SECTION("unknown command") {
    const auto line = parse({"serve"});
    REQUIRE_FALSE(line.has_value());
    CHECK(all(line.error()).find("unknown command \"serve\"") != std::string::npos);
  }
  SECTION("missing values") {
    const auto line = parse({"--poll-interval", "--env-file", "--pages"});
    REQUIRE_FALSE(line.has_value());
    CHECK(line.error().size() == 3);
    CHECK(all(line.error()).find("--poll-interval: missing value") != std::string::npos);
    CHECK(all(line.error()).find("--env-file: missing value") != std::string::npos);
  }
  SECTION("two commands") {
    const auto line = parse({"run", "once"});
    REQUIRE_FALSE(line.has_value());
    CHECK(all(line.error()).find("only one command") != std::string::npos);
  }
  SECTION("several at once") {
    const auto line = parse({"bogus-cmd", "--nope", "--pages"});
    REQUIRE_FALSE(line.has_value());
    CHECK(line.error().size() == 3);
  }
  SECTION("help wins over mistakes") {
    const auto line = parse({"--nope", "--help"});
    REQUIRE(line.has_value());
    CHECK(line->command == Command::help);
  }
}

TEST_CASE("config: usage text lists commands, flags, precedence, exit status and every variable",
          "[config]") {
  const std::string text = etl::config::usage_text();
  for (const char* needle :
       {"run", "once", "migrate", "replay", "check-config", "--help", "--version", "--env-file",
        "flags > environment > .env file > defaults", "2 bad usage or invalid configuration",
        "--poll-interval"}) {
    INFO(needle);
    CHECK(text.find(needle) != std::string::npos);
  }
  for (const auto& doc : etl::config::variable_docs()) {
    INFO(doc.name);
    CHECK(text.find(std::string(doc.name) + "  (") != std::string::npos);
    CHECK(text.find(std::string(doc.meaning)) != std::string::npos);
    if (!doc.default_value.empty())
      CHECK(text.find("default: " + std::string(doc.default_value)) != std::string::npos);
  }
}

TEST_CASE("config: variable_docs names exactly what load_config reads", "[config]") {
  // Each documented variable set to garbage must produce a problem naming it, so no doc
  // entry is dead and each is validated.
  for (const auto& doc : etl::config::variable_docs()) {
    const std::string name(doc.name);
    INFO(name);
    const auto result = etl::config::load_config({{name, "\x01garbage\x01"}});
    if (name == "POSTGRES_PASSWORD") {
      CHECK(result.has_value()); // any bytes are a valid password
      continue;
    }
    REQUIRE_FALSE(result.has_value());
    CHECK(all(result.error()).find(name) != std::string::npos);
  }
}

TEST_CASE("config: .env.example is the text generated from variable_docs", "[config]") {
  std::ifstream file(std::string(ETL_FIXTURES_DIR) + "/../../.env.example", std::ios::binary);
  REQUIRE(file.good());
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string text = buffer.str();
  const std::string expected = etl::config::env_example_text();
  INFO("regenerate .env.example from etl::config::env_example_text():\n" << expected);
  CHECK(text == expected);
  for (const auto& doc : etl::config::variable_docs()) {
    CHECK(text.find("# " + std::string(doc.name) + "=") != std::string::npos);
    CHECK(text.find(std::string(doc.meaning)) != std::string::npos);
  }
  // Uncommenting every literal default must give a valid configuration.
  std::string uncommented;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# ", 0) == 0 && line.find('=') != std::string::npos &&
        line.find(' ', 2) == std::string::npos) {
      uncommented += line.substr(2) + "\n";
    }
  }
  const auto env = etl::config::parse_dotenv(uncommented);
  REQUIRE(env.has_value());
  CHECK(env->size() == etl::config::variable_docs().size());
  const auto loaded = etl::config::load_config(*env);
  INFO(uncommented);
  CHECK(loaded.has_value());
}

TEST_CASE("config: backfill's --ohlc and --coins-list", "[config]") {
  const auto line = parse({"backfill", "--ohlc", "--coins-list", "--coins", "bitcoin"});
  REQUIRE(line.has_value());
  CHECK(line->command == Command::backfill);
  CHECK(line->backfill.ohlc);
  CHECK(line->backfill.coins_list);
  const auto plain = parse({"backfill"});
  REQUIRE(plain.has_value());
  CHECK_FALSE(plain->backfill.ohlc);
  CHECK_FALSE(plain->backfill.coins_list);
  const auto wrong = parse({"run", "--coins-list"});
  REQUIRE_FALSE(wrong.has_value());
  CHECK(all(wrong.error()).find("--coins-list belongs to the backfill command") !=
        std::string::npos);
  const std::string usage = etl::config::usage_text();
  CHECK(usage.find("--coins-list") != std::string::npos);
  CHECK(usage.find("--ohlc               also OHLC candles") != std::string::npos);
}
