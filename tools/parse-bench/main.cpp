// parse-bench: how long the /coins/markets parser takes per page, on each of its routes
// (bench/run.sh --parse; issue 12, item 5). The page is the fixture's coins cycled up to
// COINS_PER_PAGE, as fake-coingecko's --synthetic serves them; the timing is this thread's CPU.
#include "market/coin_array_parser.hpp"

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The fixture's top-level array elements (found by bracket depth outside strings), cycled until
// the page holds exactly `coins` of them.
std::string synthetic_page(std::string_view fixture, std::size_t coins) {
  std::vector<std::string_view> elements;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < fixture.size(); ++i) {
    const char c = fixture[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth == 2) start = i;
    } else if (c == '}' || c == ']') {
      if (depth-- == 2) elements.push_back(fixture.substr(start, i + 1 - start));
    }
  }
  std::string page = "[";
  for (std::size_t n = 0; n < coins && !elements.empty(); ++n) {
    if (n > 0) page += ',';
    page.append(elements[n % elements.size()]);
  }
  page += ']';
  return page;
}

void time_route(const std::string& page, etl::market::detail::ArrayRoute route, const char* name) {
  std::size_t coins = 0;
  std::size_t runs = 0;
  const double start = thread_cpu_seconds();
  double elapsed = 0;
  while (elapsed < 1.0) {
    const auto parse = etl::market::detail::parse_coin_array(page, route);
    coins += parse.page.coins.size();
    ++runs;
    elapsed = thread_cpu_seconds() - start;
  }
  const double us_per_coin = elapsed * 1e6 / static_cast<double>(coins);
  std::printf("{\"route\": \"%s\", \"page_bytes\": %zu, \"coins_per_page\": %zu, "
              "\"ms_per_250_coins\": %.3f, \"us_per_coin\": %.3f, \"mb_per_s\": %.1f}\n",
              name, page.size(), coins / runs, us_per_coin * 250 / 1e3, us_per_coin,
              static_cast<double>(page.size() * runs) / elapsed / 1e6);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: parse-bench FIXTURE.json [COINS_PER_PAGE (default 250)]\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "parse-bench: cannot read %s\n", argv[1]);
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::size_t coins = argc == 3 ? std::stoul(argv[2]) : 250;
  const std::string page = synthetic_page(text.str(), coins);
  if (etl::market::detail::parse_coin_array(page).page.coins.empty()) {
    std::fprintf(stderr, "parse-bench: %s holds no coin\n", argv[1]);
    return 1;
  }
  time_route(page, etl::market::detail::ArrayRoute::fastest, "in_place");
  time_route(page, etl::market::detail::ArrayRoute::validating, "validating");
  return 0;
}
