#include "coingecko/plan.hpp"

namespace etl::coingecko {

std::string_view to_string(Plan plan) noexcept {
  switch (plan) {
  case Plan::public_api: return "public";
  case Plan::demo: return "demo";
  case Plan::pro: return "pro";
  }
  return "public";
}

std::optional<Plan> parse_plan(std::string_view name) noexcept {
  for (const Plan plan : {Plan::public_api, Plan::demo, Plan::pro}) {
    if (name == to_string(plan)) return plan;
  }
  return std::nullopt;
}

double default_rate_per_minute(Plan plan) noexcept {
  switch (plan) {
  case Plan::public_api: return 5;
  case Plan::demo: return 30;
  case Plan::pro: return 500;
  }
  return 5;
}

std::optional<int> default_monthly_credits(Plan plan) noexcept {
  if (plan == Plan::demo) return 10'000;
  return std::nullopt; // public has none published; pro depends on the paid tier
}

} // namespace etl::coingecko
