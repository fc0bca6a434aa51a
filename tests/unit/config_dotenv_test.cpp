#include "config/config.hpp"

#include <catch2/catch.hpp>

using etl::config::Environment;
using etl::config::merge_sources;
using etl::config::parse_dotenv;

TEST_CASE("config: parse_dotenv reads values, quotes, comments and export", "[config]") {
  const auto env = parse_dotenv("# a comment\n"
                                "\n"
                                "PLAIN=value\n"
                                "export EXPORTED=yes\n"
                                "  INDENTED = spaced  \n"
                                "INLINE=abc # trailing comment\n"
                                "HASH=pa#ss\n"
                                "SINGLE='lit \\n $x # not comment'\n"
                                "DOUBLE=\"a\\nb \\\"q\\\" back\\\\slash\" # comment\n"
                                "OTHER_ESCAPE=\"keep\\t\"\n"
                                "EMPTY=\n"
                                "EMPTY_QUOTED=\"\"\n"
                                "COMMENT_ONLY= # nothing\n"
                                "CRLF=dos\r\n"
                                "_under_score9=1\n"
                                "PLAIN=overridden\n");
  REQUIRE(env.has_value());
  const Environment expected = {
      {"PLAIN", "overridden"},
      {"EXPORTED", "yes"},
      {"INDENTED", "spaced"},
      {"INLINE", "abc"},
      {"HASH", "pa#ss"},
      {"SINGLE", "lit \\n $x # not comment"},
      {"DOUBLE", "a\nb \"q\" back\\slash"},
      {"OTHER_ESCAPE", "keep\\t"},
      {"EMPTY", ""},
      {"EMPTY_QUOTED", ""},
      {"COMMENT_ONLY", ""},
      {"CRLF", "dos"},
      {"_under_score9", "1"},
  };
  CHECK(*env == expected);
}

TEST_CASE("config: parse_dotenv accepts empty text and a byte order mark", "[config]") {
  CHECK(parse_dotenv("")->empty());
  const auto env = parse_dotenv("\xEF\xBB\xBFKEY=v");
  REQUIRE(env.has_value());
  CHECK(env->at("KEY") == "v");
}

TEST_CASE("config: parse_dotenv reports every bad line by number without the value", "[config]") {
  const auto env = parse_dotenv("GOOD=1\n"
                                "no equals sign s3cr3t\n"
                                "1BAD=x\n"
                                "UNTERMINATED='s3cr3t\n"
                                "ALSO=\"s3cr3t\n"
                                "AFTER='x' s3cr3t\n"
                                "BAD-NAME=y\n"
                                "export =z\n");
  REQUIRE_FALSE(env.has_value());
  const auto& problems = env.error();
  REQUIRE(problems.size() == 7);
  CHECK(problems[0] == ".env line 2: expected KEY=VALUE");
  CHECK(problems[1].rfind(".env line 3: invalid variable name \"1BAD\"", 0) == 0);
  CHECK(problems[2] == ".env line 4: UNTERMINATED: unterminated single-quoted value");
  CHECK(problems[3] == ".env line 5: ALSO: unterminated double-quoted value");
  CHECK(problems[4] == ".env line 6: AFTER: unexpected text after the closing quote");
  CHECK(problems[5].rfind(".env line 7: invalid variable name", 0) == 0);
  CHECK(problems[6].rfind(".env line 8: invalid variable name", 0) == 0);
  for (const auto& p : problems) CHECK(p.find("s3cr3t") == std::string::npos);
}

TEST_CASE("config: merge_sources applies flags over environment over .env", "[config]") {
  const Environment dotenv = {{"A", "dotenv"}, {"B", "dotenv"}, {"C", "dotenv"}};
  const Environment process = {{"B", "env"}, {"C", "env"}, {"D", "env"}};
  const Environment flags = {{"C", "flag"}, {"E", "flag"}};
  const Environment merged = merge_sources(dotenv, process, flags);
  const Environment expected = {
      {"A", "dotenv"}, {"B", "env"}, {"C", "flag"}, {"D", "env"}, {"E", "flag"}};
  CHECK(merged == expected);
}
