// The one HTTP call path to CoinGecko: pacing by the token bucket, retries with back-off and
// Retry-After, classification of the final outcome. Every client (markets, history) uses it,
// so one process has one rate limit.
#include "coingecko/api_caller.hpp"
#include "core/url_secrets.hpp"

#include "http/retry_policy.hpp"

#include <optional>
#include <utility>

namespace etl::coingecko {
// The transport and retry rules moved to http/ (usable by any source); named here unqualified.
using http::backoff_delay;
using http::HttpRequest;
using http::HttpTransport;
using http::is_retryable_status;
using http::parse_retry_after;
using http::TransportErrorKind;
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::size_t kExcerptBytes = 200;

} // namespace

namespace {

// Log-safe: printable ASCII and whole UTF-8 sequences only, so a JSON log line stays valid.
std::string excerpt(std::string_view body) {
  std::string out;
  std::size_t i = 0;
  while (i < body.size()) {
    const auto c = static_cast<unsigned char>(body[i]);
    std::size_t len = 1;
    if (c >= 0xF0 && c <= 0xF4) len = 4;
    else if (c >= 0xE0 && c <= 0xEF) len = 3;
    else if (c >= 0xC2 && c < 0xE0) len = 2;
    else if (c >= 0x80) len = 0; // stray continuation or invalid lead byte
    bool valid = len > 0 && i + len <= body.size();
    for (std::size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(body[i + k]) & 0xC0) == 0x80;
    const std::size_t take = valid ? len : 1;
    if (out.size() + (valid ? len : 1) > kExcerptBytes) break;
    if (!valid) out += '?';
    else if (len == 1 && (c < 0x20 || c == 0x7F)) out += ' ';
    else out.append(body.substr(i, len));
    i += take;
  }
  return out;
}

struct Classified {
  std::optional<FetchFailure> failure; // nullopt: success
  bool retryable = false;
};

Classified classify_status(long status) {
  if (status >= 200 && status <= 299) return {std::nullopt, false};
  if (status == 429) return {FetchFailure::rate_limited, true};
  if (status == 401 || status == 403) return {FetchFailure::unauthorized, false};
  if (is_retryable_status(status)) return {FetchFailure::server_error, true};
  // Other 4xx, and 1xx/3xx we cannot act on (redirects are deliberately not followed).
  return {FetchFailure::client_error, false};
}

Classified classify_transport(TransportErrorKind kind) {
  switch (kind) {
  case TransportErrorKind::connect:
  case TransportErrorKind::timeout:
  case TransportErrorKind::other: return {FetchFailure::transport, true};
  case TransportErrorKind::tls:
    return {FetchFailure::transport, false}; // a bad certificate stays bad
  case TransportErrorKind::too_large: return {FetchFailure::too_large, false};
  case TransportErrorKind::cancelled: return {FetchFailure::cancelled, false};
  }
  return {FetchFailure::transport, true};
}

std::string_view api_key_header(Plan plan) noexcept {
  switch (plan) {
  case Plan::demo: return "x-cg-demo-api-key";
  case Plan::pro: return "x-cg-pro-api-key";
  case Plan::public_api: return "";
  }
  return "";
}

// The request of one get(): JSON, and the plan's key header when there is a key.
HttpRequest make_request(std::string url, const CallerOptions& o) {
  HttpRequest request;
  request.url = std::move(url);
  request.headers.emplace_back("Accept", "application/json");
  if (const auto header = api_key_header(o.plan); !header.empty() && !o.api_key.empty())
    request.headers.emplace_back(std::string(header), o.api_key.reveal());
  return request;
}

// Never a secret in an error: the API key and the URL's secrets are redacted.
std::string redact_secrets(std::string text, const CallerOptions& o) {
  return redact(redact(std::move(text), {&o.api_key}), o.url_secrets);
}

// How one get() ends when it fails: with the last real failure when there was one.
struct Ending {
  const CallerOptions& options;
  std::string what;
  std::optional<FetchError> last; // the most recent real failure, reported when we give up

  tl::unexpected<FetchError> fail(FetchFailure failure, std::string message, int attempts) const {
    FetchError error = last.value_or(FetchError{failure, 0, attempts, {}, {}, {}});
    error.failure = failure;
    error.attempts = attempts;
    error.message = redact_secrets(std::move(message), options);
    return tl::make_unexpected(std::move(error));
  }
  // Gives up with the last real failure when there is one, else as cancelled.
  tl::unexpected<FetchError> give_up(const std::string& reason, int attempts) const {
    const FetchFailure failure = last ? last->failure : FetchFailure::cancelled;
    std::string message = what + ": " + reason;
    if (last) message += " (last: " + last->message + ")";
    return fail(failure, std::move(message), attempts);
  }
};

// Waits on the stop signal, reporting the wait. Returns false when stop was requested.
bool wait_reported(StopSignal& stop, const ClientObserver& observer, std::string_view cause,
                   SteadyClock::duration d) {
  const auto start = SteadyClock::now();
  const bool stopped = stop.wait_for(d);
  if (observer.on_wait)
    observer.on_wait(WaitEvent{cause, std::chrono::duration<double>(SteadyClock::now() - start)});
  return !stopped;
}

enum class Turn { taken, late, stopped };

// Takes a token of the bucket, waiting for it unless the wait would pass the deadline.
Turn take_token(http::RateLimiter& limiter, StopSignal& stop, const ClientObserver& observer,
                SteadyClock::time_point deadline) {
  if (const auto need = limiter.wait_needed(SteadyClock::now());
      need > SteadyClock::duration::zero()) {
    if (SteadyClock::now() + need > deadline) return Turn::late;
    if (!wait_reported(stop, observer, "rate_limit", need)) return Turn::stopped;
  }
  limiter.consume(SteadyClock::now());
  return Turn::taken;
}

struct Judged {
  Classified verdict;
  FetchError error;
  std::optional<std::string> retry_after;
};

// One attempt's result judged. No verdict.failure: a success, `result` untouched; else the
// attempt's error, its message and body redacted.
Judged judge(tl::expected<http::HttpResponse, http::TransportError>& result, int attempts,
             const CallerOptions& o, StopSignal& stop) {
  Judged j{{}, FetchError{FetchFailure::transport, 0, attempts, {}, {}, {}}, {}};
  FetchError& error = j.error;
  if (result) {
    j.verdict = classify_status(result->status);
    if (!j.verdict.failure) return j;
    error.status = result->status;
    error.message = "HTTP " + std::to_string(result->status);
    // Redact before cutting so a key straddling the cut cannot leak half of itself.
    error.body_excerpt =
        excerpt(redact_secrets(std::string(std::string_view(result->body).substr(0, 4096)), o));
    error.body = redact_secrets(std::move(result->body), o);
    j.retry_after = std::move(result->retry_after);
  } else {
    j.verdict = classify_transport(result.error().kind);
    error.message = std::string(to_string(result.error().kind)) + ": " + result.error().message;
    if (result.error().kind == TransportErrorKind::cancelled && !stop.stop_requested())
      error.message = "deadline reached during the request";
  }
  error.failure = *j.verdict.failure;
  return j;
}

// The wait before the next attempt and its cause: Retry-After when usable, else back-off with
// full jitter.
std::pair<std::string_view, SteadyClock::duration>
retry_delay(const std::optional<std::string>& retry_after, int attempt, const CallerOptions& o,
            std::mt19937_64& rng) {
  const auto parsed = retry_after
                          ? parse_retry_after(*retry_after, std::chrono::system_clock::now())
                          : std::optional<std::chrono::seconds>{};
  if (parsed) return {"retry_after", *parsed};
  const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  return {"backoff", backoff_delay(attempt, o.backoff_base, o.backoff_cap, unit)};
}

} // namespace

ApiCaller::ApiCaller(CallerOptions options, HttpTransport& transport, StopSignal& stop,
                     ClientObserver observer, std::uint64_t seed)
    : m_options(std::move(options)), m_transport(transport), m_stop(stop),
      m_observer(std::move(observer)),
      // Burst of one: CoinGecko counts calls per minute, so a full-size burst followed by the
      // refill rate could put twice the allowance into one window and earn a 429.
      m_limiter(m_options.rate_limit_per_minute, 1.0, SteadyClock::now()), m_rng(seed) {}

tl::expected<FetchedPage, FetchError>
ApiCaller::get(std::string url, std::string_view what_text,
               std::chrono::steady_clock::time_point deadline) {
  const HttpRequest request = make_request(std::move(url), m_options);
  const int max_attempts = std::max(1, m_options.max_attempts);
  Ending end{m_options, std::string(what_text), std::nullopt};
  const std::string& what = end.what;

  int attempts = 0;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    if (m_stop.stop_requested())
      return end.fail(FetchFailure::cancelled, what + ": shutting down", attempts);
    if (SteadyClock::now() >= deadline) return end.give_up("deadline reached", attempts);

    switch (take_token(m_limiter, m_stop, m_observer, deadline)) {
    case Turn::taken: break;
    case Turn::late: return end.give_up("rate limit wait would pass the next tick", attempts);
    case Turn::stopped:
      return end.fail(FetchFailure::cancelled, what + ": shutting down", attempts);
    }

    ++attempts;
    const auto started = SteadyClock::now();
    auto result = m_transport.get(request, [this, deadline] {
      return m_stop.stop_requested() || SteadyClock::now() >= deadline;
    });
    const std::chrono::duration<double> took = SteadyClock::now() - started;
    Judged judged = judge(result, attempts, m_options, m_stop);
    if (!judged.verdict.failure) {
      if (m_observer.on_attempt) m_observer.on_attempt(AttemptEvent{result->status, "", took});
      return FetchedPage{std::move(result->body), result->status, attempts,
                         std::chrono::system_clock::now()};
    }
    FetchError& error = judged.error;
    if (m_observer.on_attempt)
      m_observer.on_attempt(AttemptEvent{error.status, to_string(error.failure), took});
    // FetchError.status is the last HTTP status seen, even if a later attempt got no response.
    if (error.status == 0 && end.last) error.status = end.last->status;

    if (error.failure == FetchFailure::cancelled) {
      // Keep the real failure when the deadline (not shutdown) cut a retry short.
      if (end.last && !m_stop.stop_requested()) return end.give_up(error.message, attempts);
      return end.fail(FetchFailure::cancelled, what + ": " + error.message, attempts);
    }
    const std::string detail = error.message;
    end.last = std::move(error);
    if (!judged.verdict.retryable)
      return end.fail(end.last->failure, what + ": " + detail, attempts);
    if (attempt + 1 >= max_attempts)
      return end.fail(end.last->failure,
                      what + ": " + detail + " after " + std::to_string(attempts) + " attempts",
                      attempts);

    const auto [cause, delay] = retry_delay(judged.retry_after, attempt, m_options, m_rng);
    if (SteadyClock::now() + delay > deadline)
      return end.give_up("retry would pass the next tick", attempts);
    if (!wait_reported(m_stop, m_observer, cause, delay))
      return end.fail(FetchFailure::cancelled, what + ": shutting down", attempts);
  }
  return end.give_up("no attempts left", attempts); // unreachable: the last attempt returns
}

} // namespace etl::coingecko
