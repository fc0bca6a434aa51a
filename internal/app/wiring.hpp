#pragma once
// Settings -> each module's options. No decisions beyond the mapping (those are in policies.hpp).
#include "app/app.hpp"
#include "coingecko/markets_client.hpp"
#include "config/config.hpp"
#include "http/transport.hpp"
#include "pipeline/pipeline.hpp"
#include "server/http_server.hpp"
#include "telemetry/metrics.hpp"

#include <functional>

namespace etl::app {

http::CurlOptions curl_options(const config::Config& cfg, const BuildStamp& build);
coingecko::ClientOptions client_options(const config::Config& cfg);
// HTTP attempts and waits -> the request, failure, wait and retry counters.
// on_attempt: also told of every markets HTTP attempt (the history fill counts the sweep's calls).
coingecko::ClientObserver client_observer(telemetry::Metrics& metrics,
                                          std::function<void()> on_attempt = {});
pipeline::PipelineOptions pipeline_options(const config::Config& cfg, const pacing::Pacing& pacing);
server::ServerOptions server_options(const config::Config& cfg, const BuildStamp& build);

} // namespace etl::app
