#include "http/transport.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

#include <curl/curl.h>

namespace etl::http {

std::string_view to_string(TransportErrorKind kind) noexcept {
  switch (kind) {
  case TransportErrorKind::connect: return "connect";
  case TransportErrorKind::timeout: return "timeout";
  case TransportErrorKind::too_large: return "too_large";
  case TransportErrorKind::tls: return "tls";
  case TransportErrorKind::cancelled: return "cancelled";
  case TransportErrorKind::other: return "other";
  }
  return "other";
}

namespace {

struct EasyDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

TransportErrorKind classify(CURLcode code) noexcept {
  switch (code) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT: return TransportErrorKind::connect;
  case CURLE_OPERATION_TIMEDOUT: return TransportErrorKind::timeout;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT: return TransportErrorKind::tls;
  case CURLE_FILESIZE_EXCEEDED: return TransportErrorKind::too_large;
  default: return TransportErrorKind::other;
  }
}

} // namespace

struct CurlTransport::Impl {
  EasyHandle easy{curl_easy_init()};
  char error_buffer[CURL_ERROR_SIZE] = {};

  // Per-request state, reset by begin().
  HttpResponse response;
  std::size_t max_body_bytes = 0;
  const std::function<bool()>* cancelled = nullptr;
  bool body_too_large = false;
  bool was_cancelled = false;
  // The size of the last body received whole. A poller asks for the same pages again and again,
  // so the next body is reserved at about that size on its first bytes: growing a 200 KB page by
  // doubling cost a dozen reallocations and copies, a tenth of an identical page's CPU.
  std::size_t last_body_bytes = 0;

  void begin(const std::function<bool()>& cancel_fn) {
    response = HttpResponse{};
    cancelled = &cancel_fn;
    body_too_large = false;
    was_cancelled = false;
    error_buffer[0] = '\0';
  }

  static size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<Impl*>(user);
    const size_t n = size * count;
    if (self->response.body.size() + n > self->max_body_bytes) {
      self->body_too_large = true;
      return 0; // anything other than n makes libcurl abort with CURLE_WRITE_ERROR
    }
    std::string& body = self->response.body;
    if (body.empty() && self->last_body_bytes > n) {
      body.reserve(
          std::min(self->last_body_bytes + self->last_body_bytes / 8 + 1024, self->max_body_bytes));
    }
    body.append(data, n);
    return n;
  }

  static size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<Impl*>(user);
    const size_t n = size * count;
    const std::string_view line(data, n);
    // A new status line starts another response (redirect, 100 Continue): only the last counts.
    if (line.rfind("HTTP/", 0) == 0) {
      self->response.retry_after.reset();
      self->response.content_type.clear();
      return n;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return n;
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "retry-after")) {
      self->response.retry_after = std::string(value);
    } else if (iequals(name, "content-type")) {
      self->response.content_type = std::string(value);
    }
    return n;
  }

  static int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* self = static_cast<Impl*>(user);
    if (self->cancelled != nullptr && *self->cancelled && (*self->cancelled)()) {
      self->was_cancelled = true;
      return 1; // non-zero aborts with CURLE_ABORTED_BY_CALLBACK
    }
    return 0;
  }
};

CurlTransport::CurlTransport(CurlOptions options)
    : m_options(std::move(options)), m_impl(new Impl) {
  CURL* h = m_impl->easy.get();
  if (h == nullptr) return; // get() reports it; a constructor must not throw past the adapter
  m_impl->max_body_bytes = m_options.max_body_bytes;
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, m_impl->error_buffer);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  // Redirects are not followed: libcurl would resend our custom headers, API key included,
  // to whatever host the Location names.
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(m_options.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(m_options.total_timeout.count()));
  const auto low_speed_seconds =
      std::chrono::ceil<std::chrono::seconds>(m_options.low_speed_time).count();
  if (low_speed_seconds > 0) {
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(low_speed_seconds));
  }
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); // every encoding libcurl can decode
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (m_options.ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, m_options.ca_file->c_str());
  if (!m_options.user_agent.empty())
    curl_easy_setopt(h, CURLOPT_USERAGENT, m_options.user_agent.c_str());
  // Rejects an announced Content-Length early; the write callback enforces the decoded size.
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(m_options.max_body_bytes));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Impl::on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, m_impl);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &Impl::on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, m_impl);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &Impl::on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, m_impl);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
}

CurlTransport::~CurlTransport() { delete m_impl; }

tl::expected<HttpResponse, TransportError>
CurlTransport::get(const HttpRequest& request, const std::function<bool()>& cancelled) {
  CURL* h = m_impl->easy.get();
  if (h == nullptr)
    return tl::make_unexpected(TransportError{TransportErrorKind::other, "curl_easy_init failed"});
  if (cancelled && cancelled())
    return tl::make_unexpected(
        TransportError{TransportErrorKind::cancelled, "cancelled before the request"});

  curl_slist* raw_list = nullptr;
  for (const auto& [name, value] : request.headers) {
    const std::string line = name + ": " + value;
    curl_slist* next = curl_slist_append(raw_list, line.c_str());
    if (next == nullptr) {
      curl_slist_free_all(raw_list);
      return tl::make_unexpected(
          TransportError{TransportErrorKind::other, "out of memory building headers"});
    }
    raw_list = next;
  }
  const HeaderList headers(raw_list);

  m_impl->begin(cancelled);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  const CURLcode code = curl_easy_perform(h);
  // The list dies with this scope: never leave libcurl pointing at it.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  m_impl->cancelled = nullptr;

  if (code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    HttpResponse response = std::move(m_impl->response);
    response.status = status;
    m_impl->last_body_bytes = response.body.size();
    m_impl->response = HttpResponse{};
    return response;
  }

  TransportErrorKind kind = classify(code);
  if (m_impl->body_too_large) {
    kind = TransportErrorKind::too_large;
  } else if (m_impl->was_cancelled) {
    kind = TransportErrorKind::cancelled;
  }
  std::string message = curl_easy_strerror(code);
  if (m_impl->error_buffer[0] != '\0') {
    message += ": ";
    message += m_impl->error_buffer;
  }
  if (kind == TransportErrorKind::too_large) {
    message = "response body exceeds " + std::to_string(m_options.max_body_bytes) + " bytes (" +
              message + ")";
  }
  m_impl->response = HttpResponse{}; // drop a partial body now rather than keep it alive
  return tl::make_unexpected(TransportError{kind, std::move(message)});
}

CurlGlobal::CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
CurlGlobal::~CurlGlobal() { curl_global_cleanup(); }

} // namespace etl::http
