#include "config/commands.hpp"
#include "config/config.hpp"

#include <algorithm>

namespace etl::config {
namespace {

// backfill's shorthands for variables.
struct FlagAlias {
  std::string_view flag;
  std::string_view variable;
};
constexpr FlagAlias kBackfillAliases[] = {
    {"--coins", "BACKFILL_COINS"}, {"--days", "BACKFILL_DAYS"}, {"--vs", "VS_CURRENCY"}};

// "YYYY-MM-DD", a real calendar date.
std::optional<std::chrono::sys_days> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto number = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    int n = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      n = n * 10 + (text[i] - '0');
    }
    return n;
  };
  const auto y = number(0, 4);
  const auto m = number(5, 2);
  const auto d = number(8, 2);
  if (!y || !m || !d) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{*y},
                                        std::chrono::month{static_cast<unsigned>(*m)},
                                        std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok() || *y < 2009) return std::nullopt;
  return std::chrono::sys_days{ymd};
}

// --poll-interval -> POLL_INTERVAL, only for known variables.
std::optional<std::string> variable_for_flag(std::string_view flag) {
  std::string name(flag);
  for (char& c : name) {
    if (c == '-') {
      c = '_';
    } else if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    } else if (c == '_' || (c >= 'A' && c <= 'Z')) {
      return std::nullopt; // flags are spelled lowercase with dashes, nothing else
    }
  }
  const auto& docs = variable_docs();
  const bool known =
      std::any_of(docs.begin(), docs.end(), [&](const VariableDoc& d) { return d.name == name; });
  return known ? std::optional(name) : std::nullopt;
}

// One pass over argv. Problems are collected, not thrown: the caller lists them all.
class Parser {
public:
  Parser(int argc, const char* const* argv) : m_argc(argc), m_argv(argv) {}

  tl::expected<CommandLine, std::vector<std::string>> parse() {
    for (int i = 1; i < m_argc; ++i) {
      const std::string_view arg =
          m_argv[i] == nullptr ? std::string_view() : std::string_view(m_argv[i]);
      if (!m_flags_done && switch_flag(arg)) continue;
      if (m_flags_done || arg.empty() || arg.front() != '-') {
        command_word(arg);
      } else {
        value_flag(arg, i);
      }
    }
    check_backfill();
    // Asking for help is never an error, whatever else is on the line.
    if (m_help) m_line.command = Command::help;
    else if (m_version) m_line.command = Command::version;
    else if (!m_problems.empty()) return tl::make_unexpected(std::move(m_problems));
    return std::move(m_line);
  }

private:
  // "--", --help, --version and backfill's switches; false when `arg` is none of them.
  bool switch_flag(std::string_view arg) {
    if (arg == "--") {
      m_flags_done = true;
    } else if (arg == "--help" || arg == "-h") {
      m_help = true;
    } else if (arg == "--version") {
      m_version = true;
    } else if (arg == "--ohlc" || arg == "--coins-list") {
      (arg == "--ohlc" ? m_line.backfill.ohlc : m_line.backfill.coins_list) = true;
      m_backfill_flags.emplace_back(arg);
    } else {
      return false;
    }
    return true;
  }

  void command_word(std::string_view arg) {
    const auto* found = std::find_if(std::begin(kCommands), std::end(kCommands),
                                     [&](const CommandName& c) { return c.name == arg; });
    if (m_have_command) {
      m_problems.push_back("unexpected argument \"" + std::string(arg) +
                           "\": only one command is allowed");
    } else if (arg == "help") {
      m_help = true;
    } else if (found == std::end(kCommands)) {
      m_problems.push_back("unknown command \"" + std::string(arg) +
                           "\"; expected run, once, migrate, replay, check-config or backfill");
    } else {
      m_line.command = found->command;
    }
    m_have_command = true;
  }

  // A flag with a value: --name=value or --name value (which consumes the next argument).
  void value_flag(std::string_view arg, int& i) {
    const auto eq = arg.find('=');
    const std::string_view flag = arg.substr(0, eq);
    const bool is_env_file = flag == "--env-file";
    const bool is_date = flag == "--from" || flag == "--to";
    auto variable = flag.substr(0, 2) == "--" ? variable_for_flag(flag.substr(2)) : std::nullopt;
    for (const auto& alias : kBackfillAliases) {
      if (alias.flag == flag) {
        variable = std::string(alias.variable);
        m_backfill_flags.emplace_back(flag);
        m_days_flag = m_days_flag || flag == "--days";
      }
    }
    if (is_date) m_backfill_flags.emplace_back(flag);
    if (!is_env_file && !is_date && !variable) {
      m_problems.push_back("unknown flag \"" + std::string(flag) + "\"; see --help");
      return;
    }
    std::string value;
    if (eq != std::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
    } else if (i + 1 < m_argc && m_argv[i + 1] != nullptr &&
               std::string_view(m_argv[i + 1]).substr(0, 2) != "--") {
      value = m_argv[++i];
    } else {
      m_problems.push_back(std::string(flag) + ": missing value");
      return;
    }
    if (is_date) {
      const auto date = parse_date(value);
      if (!date)
        m_problems.push_back(std::string(flag) + "=\"" + value +
                             "\": must be a date YYYY-MM-DD (UTC)");
      else (flag == "--from" ? m_line.backfill.from : m_line.backfill.to) = *date;
    } else if (is_env_file) {
      if (value.empty()) {
        m_problems.push_back("--env-file: missing value");
      } else {
        m_line.env_file = std::filesystem::path(value);
      }
    } else {
      m_line.overrides.insert_or_assign(*variable, std::move(value));
    }
  }

  void check_backfill() {
    const BackfillArgs& b = m_line.backfill;
    if (!m_backfill_flags.empty() && m_line.command != Command::backfill) {
      m_problems.push_back(m_backfill_flags.front() + " belongs to the backfill command");
    }
    if (m_days_flag && (b.from || b.to)) {
      m_problems.push_back(
          "--days and --from/--to exclude each other: give a number of days or a date range");
    }
    if (b.from && b.to && *b.to < *b.from) m_problems.push_back("--to is before --from");
    if (b.to && !b.from) m_problems.push_back("--to needs --from");
  }

  int m_argc;
  const char* const* m_argv;
  CommandLine m_line;
  std::vector<std::string> m_problems;
  bool m_help = false;
  bool m_version = false;
  bool m_have_command = false;
  bool m_flags_done = false;
  std::vector<std::string> m_backfill_flags; // used, to check they come with the backfill command
  bool m_days_flag = false;
};

} // namespace

tl::expected<CommandLine, std::vector<std::string>> parse_command_line(int argc,
                                                                       const char* const* argv) {
  return Parser(argc, argv).parse();
}

} // namespace etl::config
