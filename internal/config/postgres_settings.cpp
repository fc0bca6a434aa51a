// POSTGRES_*, DATABASE_URL, retention, leader election and MIGRATIONS_DIR: where and how the
// database is reached and kept.
#include "config/loader.hpp"
#include "config/sections.hpp"
#include "config/text.hpp"

namespace etl::config {
namespace {

using namespace std::chrono_literals;

// Host, user and database name: free text for libpq, but never empty or multi-line.
void plain_text(Loader& in, std::string_view name, std::string& out) {
  const auto value = in.get(name);
  if (!value) return;
  if (value->empty() || has_control_chars(*value)) {
    in.bad(name, *value, "must be non-empty text without control characters");
    return;
  }
  out = std::string(*value);
}

void load_password(Loader& in, Config& out) {
  const auto direct = in.get_raw_optional("POSTGRES_PASSWORD");
  const auto file = in.get_optional("POSTGRES_PASSWORD_FILE");
  if (direct && file) {
    in.bad_secret("POSTGRES_PASSWORD",
                  "is set together with POSTGRES_PASSWORD_FILE; set only one of them");
  } else if (direct) {
    out.postgres_password = Secret(std::string(*direct));
  } else if (file) {
    if (auto password = in.secret_file("POSTGRES_PASSWORD_FILE", *file))
      out.postgres_password = Secret(std::move(*password));
  }
}

void load_database_url(Loader& in, Config& out) {
  // DATABASE_URL may embed the password: like the others it can come from a file.
  const auto url_direct = in.get_optional("DATABASE_URL");
  const auto url_file = in.get_optional("DATABASE_URL_FILE");
  std::optional<std::string> url;
  if (url_direct && url_file) {
    in.bad_secret("DATABASE_URL", "is set together with DATABASE_URL_FILE; set only one of them");
  } else if (url_direct) {
    url = std::string(*url_direct);
  } else if (url_file) {
    if (auto text = in.secret_file("DATABASE_URL_FILE", *url_file)) url = std::string(trim(*text));
  }
  if (url) {
    const char* name = url_direct ? "DATABASE_URL" : "DATABASE_URL_FILE";
    const std::string lowered = to_lower(url->substr(0, 13));
    const bool scheme_ok =
        lowered.rfind("postgres://", 0) == 0 || lowered.rfind("postgresql://", 0) == 0;
    if (!scheme_ok || has_control_chars(*url) || url->find(' ') != std::string::npos) {
      // The URL is a secret: show it only with its password taken out.
      in.bad(name, redact_database_url(*url),
             "must be a postgres:// or postgresql:// URI without blanks");
    } else {
      out.database_url = Secret(std::move(*url));
    }
  }
}

void load_retention(Loader& in, Config& out) {
  for (const auto& [name, field] :
       {std::pair{"COIN_MARKET_RETENTION", &Config::coin_market_retention},
        std::pair{"COIN_MARKET_RAW_RETENTION", &Config::coin_market_raw_retention}}) {
    if (const auto retention = in.get(name); retention && to_lower(*retention) != "off") {
      std::chrono::seconds value{0};
      in.seconds(name, value, 1h, 876'000h);
      if (value.count() > 0) out.*field = value;
    }
  }
}

void load_election(Loader& in, Config& out) {
  std::string election;
  in.choice("LEADER_ELECTION", election, {"on", "off"});
  if (!election.empty()) out.leader_election = election == "on";
  if (const auto name = in.get_optional("LEADER_LOCK_NAME")) {
    if (has_control_chars(*name) || name->size() > 200) {
      in.bad("LEADER_LOCK_NAME", *name, "must be printable text of at most 200 bytes");
    } else {
      out.leader_lock_name = std::string(*name);
    }
  }
}

void load_migrations_dir(Loader& in, Config& out) {
  // Checked now, not at the first migration: a daemon would otherwise retry an unreadable
  // directory every tick, forever, instead of saying once what is wrong.
  if (const auto dir = in.get_optional("MIGRATIONS_DIR")) {
    std::string error;
    if (has_control_chars(*dir)) {
      in.bad("MIGRATIONS_DIR", *dir, "must be a directory path");
    } else if (!readable_directory(std::string(*dir), error)) {
      in.bad(
          "MIGRATIONS_DIR", *dir,
          error +
              "; must be a readable directory of NNNN_description.sql files, or unset to apply the "
              "migrations built into the binary");
    } else {
      out.migrations_dir = std::string(*dir);
    }
  }
}

} // namespace

void load_postgres(Loader& in, Config& out) {
  plain_text(in, "POSTGRES_HOST", out.postgres_host);
  in.integer("POSTGRES_PORT", out.postgres_port, 1, 65535);
  plain_text(in, "POSTGRES_USER", out.postgres_user);
  plain_text(in, "POSTGRES_DB", out.postgres_db);
  load_password(in, out);
  load_database_url(in, out);
  load_retention(in, out);
  load_election(in, out);
  load_migrations_dir(in, out);
}

} // namespace etl::config
