#include "config/config.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

using namespace std::chrono_literals;
using etl::coingecko::Plan;
using etl::config::Config;
using etl::config::Environment;
using etl::config::load_config;

namespace {

constexpr const char* kSecret = "s3cr3t-KEY-value";

// A private directory removed at scope exit, for *_FILE and DATA_DIR cases.
class TempDir {
public:
  TempDir() {
    std::random_device rd;
    m_path = std::filesystem::temp_directory_path() /
             ("etl-config-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string write(const std::string& name, const std::string& content) const {
    const auto path = m_path / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

std::vector<std::string> problems_of(const Environment& env) {
  const auto result = load_config(env);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  return out;
}

Config valid(const Environment& env) {
  const auto result = load_config(env);
  if (!result) FAIL("unexpected problems:\n" << joined(result.error()));
  return *result;
}

} // namespace

TEST_CASE("config: an empty environment gives the documented defaults", "[config]") {
  const Config c = valid({});
  CHECK(c.coingecko_url == "https://api.coingecko.com/api/v3/coins/markets");
  CHECK(c.vs_currencies == std::vector<std::string>{"usd"});
  CHECK(c.per_page == 100);
  CHECK(c.pages == 1);
  CHECK(c.poll_interval == 30s);
  CHECK(c.api_key.empty());
  CHECK(c.api_plan == Plan::public_api);
  CHECK(c.rate_limit_per_minute == 5);
  CHECK(c.http_connect_timeout == 10s);
  CHECK(c.http_timeout == 30s);
  CHECK(c.max_body_bytes == 33554432u);
  CHECK(c.max_attempts == 4);
  CHECK_FALSE(c.ca_file.has_value());
  CHECK(c.postgres_host == "localhost");
  CHECK(c.postgres_port == 5432);
  CHECK(c.postgres_user == "postgres");
  CHECK(c.postgres_password.empty());
  CHECK(c.postgres_db == "coingecko");
  CHECK(c.database_url.empty());
  CHECK_FALSE(c.migrations_dir.has_value()); // the migrations built into the binary
  CHECK(c.data_dir == "data");
  CHECK(c.log_dir == "logs");
  CHECK(c.retention == 168h);
  CHECK(c.spool_max_bytes == 1073741824u);
  CHECK(c.spool_max_age == 168h);
  CHECK(c.http_host == "0.0.0.0");
  CHECK(c.http_port == 8080);
  CHECK(c.http_max_connections == 256);
  CHECK(c.log_level == "info");
  CHECK(c.log_format == etl::config::LogFormat::text);
  CHECK(c.shutdown_timeout == 10s);
}

TEST_CASE("config: valid values for every variable are taken", "[config]") {
  TempDir dir;
  const std::string ca = dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  const Config c = valid({
      {"COINGECKO_URL", "http://127.0.0.1:9000/api/v3/coins/markets?ids=bitcoin"},
      {"VS_CURRENCY", " USD, eur ,btc"},
      {"PER_PAGE", "250"},
      {"PAGES", "1000"},
      {"POLL_INTERVAL", "500ms"},
      {"COINGECKO_API_KEY", kSecret},
      {"COINGECKO_API_PLAN", "Pro"},
      {"RATE_LIMIT_PER_MINUTE", "0.5"},
      {"HTTP_CONNECT_TIMEOUT", "2s"},
      {"HTTP_TIMEOUT", "1m"},
      {"MAX_BODY_BYTES", "1MiB"},
      {"HTTP_MAX_ATTEMPTS", "10"},
      {"CA_FILE", ca},
      {"POSTGRES_HOST", "db.internal"},
      {"POSTGRES_PORT", "6543"},
      {"POSTGRES_USER", "etl"},
      {"POSTGRES_PASSWORD", " pass word "},
      {"POSTGRES_DB", "markets"},
      {"MIGRATIONS_DIR", ETL_MIGRATIONS_DIR},
      {"DATA_DIR", dir.path().string()},
      {"LOG_DIR", (dir.path() / "not-yet").string()},
      {"RETENTION", "30m"},
      {"SPOOL_MAX_BYTES", "2097152"},
      {"SPOOL_MAX_AGE", "1h30m"},
      {"HTTP_ADDR", "[::1]:0"},
      {"HTTP_MAX_CONNECTIONS", "32"},
      {"LOG_LEVEL", "DEBUG"},
      {"LOG_FORMAT", "json"},
      {"SHUTDOWN_TIMEOUT", "1m"},
  });
  CHECK(c.coingecko_url == "http://127.0.0.1:9000/api/v3/coins/markets?ids=bitcoin");
  CHECK(c.vs_currencies == std::vector<std::string>{"usd", "eur", "btc"});
  CHECK(c.per_page == 250);
  CHECK(c.pages == 1000);
  CHECK(c.poll_interval == 500ms);
  CHECK(c.api_key.reveal() == kSecret);
  CHECK(c.api_plan == Plan::pro);
  CHECK(c.rate_limit_per_minute == 0.5);
  CHECK(c.http_connect_timeout == 2s);
  CHECK(c.http_timeout == 60s);
  CHECK(c.max_body_bytes == 1048576u);
  CHECK(c.max_attempts == 10);
  CHECK(c.ca_file == ca);
  CHECK(c.postgres_host == "db.internal");
  CHECK(c.postgres_port == 6543);
  CHECK(c.postgres_user == "etl");
  CHECK(c.postgres_password.reveal() == " pass word "); // passwords are not trimmed
  CHECK(c.postgres_db == "markets");
  CHECK(c.migrations_dir == std::filesystem::path(ETL_MIGRATIONS_DIR));
  CHECK(c.data_dir == dir.path());
  CHECK(c.retention == 30min);
  CHECK(c.spool_max_bytes == 2097152u);
  CHECK(c.spool_max_age == 90min);
  CHECK(c.http_host == "::1");
  CHECK(c.http_port == 0);
  CHECK(c.http_max_connections == 32);
  CHECK(c.log_level == "debug");
  CHECK(c.log_format == etl::config::LogFormat::json);
  CHECK(c.shutdown_timeout == 60s);
}

TEST_CASE("config: each bad setting is reported with its name, value and what is allowed",
          "[config]") {
  TempDir dir;
  const std::string regular_file = dir.write("plain.txt", "x");
  struct Case {
    Environment env;
    std::string expected; // a fragment of the single problem
  };
  const std::vector<Case> cases = {
      {{{"POLL_INTERVAL", "0"}}, "POLL_INTERVAL=\"0\": must be a duration from 100ms to 24h"},
      {{{"POLL_INTERVAL", "0s"}}, "POLL_INTERVAL=\"0s\": must be a duration"},
      {{{"POLL_INTERVAL", "-5s"}}, "POLL_INTERVAL=\"-5s\": must be a duration"},
      {{{"POLL_INTERVAL", "soon"}}, "written like 500ms, 30s, 5m, 1h or plain seconds"},
      {{{"POLL_INTERVAL", "25h"}}, "POLL_INTERVAL=\"25h\""},
      {{{"PER_PAGE", "0"}}, "PER_PAGE=\"0\": must be an integer from 1 to 250"},
      {{{"PER_PAGE", "251"}}, "PER_PAGE=\"251\": must be an integer from 1 to 250"},
      {{{"PER_PAGE", "abc"}}, "PER_PAGE=\"abc\": must be an integer from 1 to 250"},
      {{{"PER_PAGE", ""}}, "PER_PAGE=\"\": must be an integer from 1 to 250"},
      {{{"PER_PAGE", "-1"}}, "PER_PAGE=\"-1\""},
      {{{"PAGES", "0"}}, "PAGES=\"0\": must be an integer from 1 to 1000"},
      {{{"PAGES", "99999999999999999999999"}}, "PAGES=\"99999999999999999999999\""},
      {{{"COINGECKO_URL", "ftp://x"}},
       "COINGECKO_URL=\"ftp://x\": must be an http:// or https:// URL with a host"},
      {{{"COINGECKO_URL", "not a url"}}, "COINGECKO_URL=\"not a url\": must be an http"},
      {{{"COINGECKO_URL", "https://"}}, "COINGECKO_URL=\"https://\""},
      {{{"COINGECKO_URL", "https://host:99999/x"}}, "COINGECKO_URL=\"https://host:99999/x\""},
      {{{"COINGECKO_API_PLAN", "enterprise"}, {"COINGECKO_API_KEY", kSecret}},
       "COINGECKO_API_PLAN=\"enterprise\": must be public, demo or pro"},
      {{{"COINGECKO_API_KEY_FILE", "/nonexistent/etl/key"}},
       "COINGECKO_API_KEY_FILE=\"/nonexistent/etl/key\": cannot read file"},
      {{{"COINGECKO_API_KEY", kSecret}, {"COINGECKO_API_KEY_FILE", regular_file}},
       "COINGECKO_API_KEY: is set together with COINGECKO_API_KEY_FILE"},
      {{{"COINGECKO_API_PLAN", "demo"}}, "COINGECKO_API_PLAN=\"demo\": needs COINGECKO_API_KEY"},
      {{{"COINGECKO_API_PLAN", "pro"}}, "COINGECKO_API_PLAN=\"pro\": needs COINGECKO_API_KEY"},
      {{{"COINGECKO_API_PLAN", "public"}, {"COINGECKO_API_KEY", kSecret}},
       "COINGECKO_API_PLAN=\"public\": a key is set"},
      {{{"COINGECKO_API_KEY", kSecret},
        {"COINGECKO_API_PLAN", "pro"},
        {"COINGECKO_URL", "https://api.coingecko.com/api/v3/coins/markets"}},
       "plan pro must use https://pro-api.coingecko.com"},
      {{{"POSTGRES_PORT", "five"}}, "POSTGRES_PORT=\"five\": must be an integer from 1 to 65535"},
      {{{"POSTGRES_PORT", "70000"}}, "POSTGRES_PORT=\"70000\": must be an integer from 1 to 65535"},
      {{{"POSTGRES_PORT", "0"}}, "POSTGRES_PORT=\"0\""},
      {{{"POSTGRES_HOST", ""}}, "POSTGRES_HOST=\"\": must be non-empty"},
      {{{"HTTP_ADDR", "8080"}},
       "HTTP_ADDR=\"8080\": must be host:port with a port from 0 to 65535"},
      {{{"HTTP_ADDR", "localhost:http"}}, "HTTP_ADDR=\"localhost:http\""},
      {{{"HTTP_ADDR", "0.0.0.0:65536"}}, "HTTP_ADDR=\"0.0.0.0:65536\""},
      {{{"HTTP_ADDR", "::1:8080"}}, "HTTP_ADDR=\"::1:8080\""},
      {{{"HTTP_MAX_CONNECTIONS", "0"}},
       "HTTP_MAX_CONNECTIONS=\"0\": must be an integer from 1 to 65536"},
      {{{"HTTP_MAX_CONNECTIONS", "65537"}}, "HTTP_MAX_CONNECTIONS=\"65537\""},
      {{{"LOG_LEVEL", "verbose"}},
       "LOG_LEVEL=\"verbose\": must be trace, debug, info, warn, error, critical or off"},
      {{{"LOG_FORMAT", "xml"}}, "LOG_FORMAT=\"xml\": must be text or json"},
      {{{"SHUTDOWN_TIMEOUT", "0"}}, "SHUTDOWN_TIMEOUT=\"0\": must be a duration from 1s to 10m"},
      {{{"SHUTDOWN_TIMEOUT", "11m"}}, "SHUTDOWN_TIMEOUT=\"11m\""},
      {{{"DATA_DIR", regular_file}},
       "DATA_DIR=\"" + regular_file + "\": exists but is not a directory"},
      {{{"LOG_DIR", regular_file}},
       "LOG_DIR=\"" + regular_file + "\": exists but is not a directory"},
      {{{"RATE_LIMIT_PER_MINUTE", "-1"}},
       "RATE_LIMIT_PER_MINUTE=\"-1\": must be a number of calls per minute above 0"},
      {{{"RATE_LIMIT_PER_MINUTE", "0"}}, "RATE_LIMIT_PER_MINUTE=\"0\""},
      {{{"RATE_LIMIT_PER_MINUTE", "1e3"}}, "RATE_LIMIT_PER_MINUTE=\"1e3\""},
      {{{"RATE_LIMIT_PER_MINUTE", "10001"}}, "RATE_LIMIT_PER_MINUTE=\"10001\""},
      {{{"MAX_BODY_BYTES", "10"}}, "MAX_BODY_BYTES=\"10\": must be a byte count from 1024 to 1GiB"},
      {{{"MAX_BODY_BYTES", "2GiB"}}, "MAX_BODY_BYTES=\"2GiB\""},
      {{{"HTTP_MAX_ATTEMPTS", "0"}}, "HTTP_MAX_ATTEMPTS=\"0\": must be an integer from 1 to 10"},
      {{{"HTTP_MAX_ATTEMPTS", "11"}}, "HTTP_MAX_ATTEMPTS=\"11\""},
      {{{"HTTP_TIMEOUT", "5s"}, {"HTTP_CONNECT_TIMEOUT", "10s"}},
       "HTTP_CONNECT_TIMEOUT=\"10s\": must not exceed HTTP_TIMEOUT (5s)"},
      {{{"CA_FILE", "/nonexistent/ca.pem"}}, "CA_FILE=\"/nonexistent/ca.pem\": cannot read file"},
      {{{"CA_FILE", dir.path().string()}}, "not a regular file"},
      {{{"VS_CURRENCY", ""}}, "VS_CURRENCY=\"\": each currency must be 1 to 10 letters or digits"},
      {{{"VS_CURRENCY", "US D"}},
       "VS_CURRENCY=\"US D\": each currency must be 1 to 10 letters or digits"},
      {{{"VS_CURRENCY", "usd,eur,USD"}}, "VS_CURRENCY=\"usd,eur,USD\": lists \"usd\" twice"},
      {{{"VS_CURRENCY", "usd,,eur"}}, "VS_CURRENCY=\"usd,,eur\""},
      {{{"VS_CURRENCY", "averyverylongcode"}}, "VS_CURRENCY=\"averyverylongcode\""},
      {{{"VS_CURRENCY", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u"}}, "at most 20 currencies"},
      {{{"DATABASE_URL", "mysql://user@db/markets"}},
       "DATABASE_URL=\"mysql://user@db/markets\": must be a postgres:// or postgresql:// URI"},
      {{{"SPOOL_MAX_BYTES", "1000"}}, "SPOOL_MAX_BYTES=\"1000\": must be a byte count from 1MiB"},
      {{{"SPOOL_MAX_AGE", "0s"}}, "SPOOL_MAX_AGE=\"0s\": must be a duration from 1s"},
      {{{"RETENTION", "forever"}}, "RETENTION=\"forever\": must be a duration"},
      {{{"MIGRATIONS_DIR", "/nonexistent/etl-migrations"}},
       "MIGRATIONS_DIR=\"/nonexistent/etl-migrations\": cannot read directory (No such file or directory); must be a "
       "readable directory"},
      {{{"MIGRATIONS_DIR", ETL_MIGRATIONS_DIR "/0001_initial.sql"}},
       "cannot read directory (not a directory)"},
  };
  REQUIRE(cases.size() >= 25);
  for (const auto& c : cases) {
    INFO("expecting: " << c.expected);
    const auto problems = problems_of(c.env);
    INFO("got: " << joined(problems));
    CHECK(problems.size() == 1);
    CHECK(joined(problems).find(c.expected) != std::string::npos);
  }
}

TEST_CASE("config: several bad settings are all reported at once", "[config]") {
  const auto problems = problems_of({
      {"PER_PAGE", "0"},
      {"PAGES", "x"},
      {"POLL_INTERVAL", "-1s"},
      {"LOG_LEVEL", "loud"},
      {"HTTP_ADDR", "nope"},
      {"POSTGRES_PORT", "70000"},
      {"COINGECKO_URL", "ftp://x"},
  });
  CHECK(problems.size() == 7);
  const std::string all = joined(problems);
  for (const char* name : {"PER_PAGE=", "PAGES=", "POLL_INTERVAL=", "LOG_LEVEL=", "HTTP_ADDR=",
                           "POSTGRES_PORT=", "COINGECKO_URL="}) {
    CHECK(all.find(name) != std::string::npos);
  }
}

TEST_CASE("config: unknown variables are ignored", "[config]") {
  const Config c = valid({{"PATH", "/usr/bin"}, {"HOME", "/root"}, {"SOMETHING_ELSE", "!!"}});
  CHECK(c.per_page == 100);
}

TEST_CASE("config: empty optional settings count as unset", "[config]") {
  const Config c = valid({{"COINGECKO_API_KEY", ""},
                          {"COINGECKO_API_PLAN", ""},
                          {"RATE_LIMIT_PER_MINUTE", ""},
                          {"CA_FILE", ""},
                          {"POSTGRES_PASSWORD", ""},
                          {"DATABASE_URL", ""},
                          {"MIGRATIONS_DIR", ""}});
  CHECK(c.api_plan == Plan::public_api);
  CHECK(c.rate_limit_per_minute == 5);
  CHECK_FALSE(c.ca_file.has_value());
  CHECK(c.database_url.empty());
  CHECK_FALSE(c.migrations_dir.has_value()); // a compose file's MIGRATIONS_DIR= : the embedded set
}

TEST_CASE("config: the plan defaults from the key and sets the default rate", "[config]") {
  SECTION("no key: public at 5 per minute") {
    const Config c = valid({});
    CHECK(c.api_plan == Plan::public_api);
    CHECK(c.rate_limit_per_minute == 5);
  }
  SECTION("a key: demo at 30 per minute") {
    const Config c = valid({{"COINGECKO_API_KEY", kSecret}});
    CHECK(c.api_plan == Plan::demo);
    CHECK(c.rate_limit_per_minute == 30);
    CHECK(c.coingecko_url == "https://api.coingecko.com/api/v3/coins/markets");
  }
  SECTION("pro: 500 per minute and the pro host by default") {
    const Config c = valid({{"COINGECKO_API_KEY", kSecret}, {"COINGECKO_API_PLAN", "pro"}});
    CHECK(c.api_plan == Plan::pro);
    CHECK(c.rate_limit_per_minute == 500);
    CHECK(c.coingecko_url == "https://pro-api.coingecko.com/api/v3/coins/markets");
  }
  SECTION("an explicit rate wins over the plan's") {
    const Config c = valid({{"COINGECKO_API_KEY", kSecret}, {"RATE_LIMIT_PER_MINUTE", "12.5"}});
    CHECK(c.rate_limit_per_minute == 12.5);
  }
  SECTION("the pro host needs plan pro") {
    const auto problems =
        problems_of({{"COINGECKO_API_KEY", kSecret},
                     {"COINGECKO_URL", "https://pro-api.coingecko.com/api/v3/coins/markets"}});
    CHECK(joined(problems).find("needs COINGECKO_API_PLAN=pro") != std::string::npos);
  }
}

TEST_CASE("config: *_FILE secrets are read and their trailing newline dropped", "[config]") {
  TempDir dir;
  const std::string key_file = dir.write("key", std::string(kSecret) + "\n");
  const std::string password_file = dir.write("password", "pa ss'word\r\n");
  const Config c =
      valid({{"COINGECKO_API_KEY_FILE", key_file}, {"POSTGRES_PASSWORD_FILE", password_file}});
  CHECK(c.api_key.reveal() == kSecret);
  CHECK(c.api_plan == Plan::demo);
  CHECK(c.postgres_password.reveal() == "pa ss'word");

  SECTION("an empty file is an error naming the variable and path") {
    const std::string empty = dir.write("empty", "\n");
    const auto problems = problems_of({{"POSTGRES_PASSWORD_FILE", empty}});
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "POSTGRES_PASSWORD_FILE=\"" + empty + "\": file is empty");
  }
  SECTION("both password forms at once are an error") {
    const auto problems =
        problems_of({{"POSTGRES_PASSWORD", "x"}, {"POSTGRES_PASSWORD_FILE", password_file}});
    CHECK(joined(problems).find("POSTGRES_PASSWORD: is set together with POSTGRES_PASSWORD_FILE") !=
          std::string::npos);
  }
  SECTION("an unreadable key file does not also claim the key is missing") {
    const auto problems =
        problems_of({{"COINGECKO_API_KEY_FILE", "/nonexistent/k"}, {"COINGECKO_API_PLAN", "demo"}});
    CHECK(problems.size() == 1);
  }
}

TEST_CASE("config: secrets never appear in problems", "[config]") {
  TempDir dir;
  const std::string key_file = dir.write("key", std::string("has space ") + kSecret);
  const std::vector<Environment> envs = {
      {{"COINGECKO_API_KEY", kSecret}, {"COINGECKO_API_KEY_FILE", "/nonexistent/x"}},
      {{"COINGECKO_API_KEY", kSecret}, {"COINGECKO_API_PLAN", "public"}},
      {{"COINGECKO_API_KEY", std::string(kSecret) + "\r\nX-Injected: 1"}},
      {{"COINGECKO_API_KEY_FILE", key_file}},
      {{"POSTGRES_PASSWORD", kSecret}, {"POSTGRES_PASSWORD_FILE", "/nonexistent/y"}},
      {{"DATABASE_URL", std::string("mysql://user:") + kSecret + "@db/x"}},
      {{"DATABASE_URL", std::string("postgres://user:") + kSecret + "@db/x with blank"}},
      {{"DATABASE_URL", std::string("nonsense ") + kSecret}},
  };
  for (const auto& env : envs) {
    const auto problems = problems_of(env);
    const std::string all = joined(problems);
    INFO(all);
    CHECK_FALSE(problems.empty());
    CHECK(all.find(kSecret) == std::string::npos);
    CHECK(all.find("s3cr3t") == std::string::npos);
  }
}

TEST_CASE("config: DATABASE_URL is accepted in both schemes", "[config]") {
  const Config a = valid({{"DATABASE_URL", "postgresql://etl:pw@db:5432/markets?sslmode=require"}});
  CHECK(a.database_url.reveal() == "postgresql://etl:pw@db:5432/markets?sslmode=require");
  const Config b = valid({{"DATABASE_URL", "POSTGRES://db/markets"}});
  CHECK(b.database_url.reveal() == "POSTGRES://db/markets");
}

TEST_CASE("config: sub-second and compound durations reach the fields exactly", "[config]") {
  const Config c =
      valid({{"POLL_INTERVAL", "0.5"}, {"RETENTION", "1.5h"}, {"HTTP_TIMEOUT", "1m30s"}});
  CHECK(c.poll_interval == 500ms);
  CHECK(c.retention == 90min);
  CHECK(c.http_timeout == 90s);
}

TEST_CASE("config: warnings flag a tick that needs more calls than the rate allows", "[config]") {
  const Config fine = valid({});
  CHECK(etl::config::config_warnings(fine).empty());
  const Config busy = valid({{"PAGES", "10"}, {"POLL_INTERVAL", "30s"}});
  const auto warnings = etl::config::config_warnings(busy);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("10 API calls") != std::string::npos);
}

TEST_CASE("config: a key over plain http is refused unless the host is loopback", "[config]") {
  const auto refused = [](const Environment& env) {
    const auto problems = problems_of(env);
    return problems.size() == 1 && problems[0].find("COINGECKO_URL") != std::string::npos &&
           problems[0].find("clear text") != std::string::npos;
  };
  CHECK(refused({{"COINGECKO_URL", "http://api.coingecko.com/api/v3/coins/markets"},
                 {"COINGECKO_API_KEY", "k"}}));
  CHECK(refused({{"COINGECKO_URL", "http://10.0.0.1/x?x_cg_demo_api_key=CG-q"}}));
  CHECK(refused({{"COINGECKO_URL", "http://128.0.0.1/x"}, {"COINGECKO_API_KEY", "k"}}));
  CHECK(refused({{"COINGECKO_URL", "http://localhost.example.com/x"}, {"COINGECKO_API_KEY", "k"}}));
  for (const char* loopback :
       {"http://127.0.0.1:8/x", "http://127.255.0.9/x", "http://localhost/x", "http://[::1]:9/x",
        "http://LOCALHOST/x", "http://[::ffff:127.0.0.1]/x"}) {
    INFO(loopback);
    CHECK(valid({{"COINGECKO_URL", loopback}, {"COINGECKO_API_KEY", "k"}}).coingecko_url ==
          loopback);
  }
  CHECK(valid({{"COINGECKO_URL", "https://api.coingecko.com/api/v3/coins/markets"},
               {"COINGECKO_API_KEY", "k"}})
            .api_key.reveal() == "k");
  CHECK(valid({{"COINGECKO_URL", "http://api.coingecko.com/api/v3/coins/markets"}})
            .api_key.empty()); // no key
  // The refusal never repeats the key.
  const auto text =
      problems_of({{"COINGECKO_URL", "http://10.0.0.1/x?x_cg_demo_api_key=CG-secret1"}});
  REQUIRE(text.size() == 1);
  CHECK(text[0].find("CG-secret1") == std::string::npos);
}

TEST_CASE("config: secrets given as flags are warned about by name, never by value", "[config]") {
  const char* argv[] = {"coingecko-etl",
                        "run",
                        "--postgres-password=pw-1",
                        "--coingecko-api-key",
                        "key-2",
                        "--database-url=postgresql://u@h/db",
                        "--coingecko-url=https://h/x?x_cg_demo_api_key=k3",
                        "--poll-interval=5s"};
  const auto line = etl::config::parse_command_line(8, argv);
  REQUIRE(line);
  const auto warnings = etl::config::secret_flag_warnings(*line);
  REQUIRE(warnings.size() == 3); // a DATABASE_URL without a password is no secret
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  CHECK(all.find("--postgres-password") != std::string::npos);
  CHECK(all.find("--coingecko-api-key") != std::string::npos);
  CHECK(all.find("--coingecko-url") != std::string::npos);
  for (const char* value : {"pw-1", "key-2", "k3"}) CHECK(all.find(value) == std::string::npos);
}

TEST_CASE("config: DATABASE_URL_FILE reads the URI from a file and excludes DATABASE_URL",
          "[config]") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("etl-dburl-" + std::to_string(std::random_device{}()));
  {
    std::ofstream f(path);
    f << "postgresql://etl:pw@db:5432/markets\n";
  }
  const auto cfg = valid({{"DATABASE_URL_FILE", path.string()}});
  CHECK(cfg.conninfo() == "postgresql://etl:pw@db:5432/markets");
  const auto both =
      problems_of({{"DATABASE_URL_FILE", path.string()}, {"DATABASE_URL", "postgresql://x@y/z"}});
  CHECK(both.size() == 1);
  std::filesystem::remove(path);
}
