# coingecko-etl container image.
#
#   docker build --build-arg REVISION=$(git rev-parse --short=12 HEAD) -t coingecko-etl .
#   (podman build --format docker ... keeps the HEALTHCHECK; OCI format drops it)
#
# Two stages: the build stage compiles the daemon from source with Debian 12's -dev packages;
# the runtime stage is debian:bookworm-slim with only the shared libraries the binary links
# (checked with objdump -p on the built binary), CA certificates, tini and curl. No compiler,
# no source, no .env and no secret reach the runtime image (.dockerignore keeps .env, data/,
# logs/, build trees and .git out of the build context altogether).

ARG DEBIAN_IMAGE=debian:bookworm
ARG DEBIAN_SLIM_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libcurl4-openssl-dev libssl-dev rapidjson-dev libpqxx-dev prometheus-cpp-dev libcpp-httplib-dev \
      libspdlog-dev libfmt-dev libexpected-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the build needs, so an edit to docs or tests does not invalidate the compile layer.
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY internal/ internal/
COPY cmd/ cmd/
COPY tools/ tools/
# The SQL migrations are compiled into the binary (cmake/EmbedMigrations.cmake).
COPY migrations/ migrations/
# There is no .git in the context: the revision comes in as a build argument.
ARG REVISION=unknown
# RelWithDebInfo: -O2, the build the test suite runs against. Debug info is stripped.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DETL_BUILD_TESTS=OFF -DETL_GIT_REVISION="${REVISION}" \
 && cmake --build /build --target coingecko-etl -j "$(nproc)" \
 && strip --strip-debug -o /coingecko-etl /build/coingecko-etl \
 && /coingecko-etl --version

# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_SLIM_IMAGE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries: exactly the binary's DT_NEEDED set (libcurl, libpqxx, spdlog, fmt,
# prometheus-cpp core, cpp-httplib, libcrypto from libssl3 (which libcurl4 needs anyway);
# libstdc++/libgcc/libc are in the base). tini is PID 1:
# it forwards SIGTERM to the daemon and reaps zombies. curl serves the HEALTHCHECK: libcurl4 is
# a dependency anyway, so the CLI costs ~300 KB and, unlike a bash /dev/tcp probe, checks the
# HTTP status and honours a timeout.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates tini curl \
      libcurl4 libssl3 libpqxx-6.4 libspdlog1.10 libfmt9 libprometheus-cpp-core1.0 libcpp-httplib0.11 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb

# A fixed numeric uid/gid so Kubernetes runAsNonRoot can verify it and volumes can be chowned.
ARG UID=10001
ARG GID=10001
RUN groupadd --system --gid "${GID}" coingecko \
 && useradd --system --uid "${UID}" --gid "${GID}" --home-dir /var/lib/coingecko-etl \
      --no-create-home --shell /usr/sbin/nologin coingecko \
 && install -d -o "${UID}" -g "${GID}" -m 0750 /var/lib/coingecko-etl /var/log/coingecko-etl

COPY --from=build /coingecko-etl /usr/local/bin/coingecko-etl
# The binary applies the migrations built into it; this copy is for reading (and for a
# MIGRATIONS_DIR override such as the Kubernetes ConfigMap's, which names the same files).
COPY migrations/ /usr/share/coingecko-etl/migrations/

# The daemon reads ./.env when present: the working directory is root-owned, read-only for the
# daemon and holds no .env, so only the environment (and flags) configure a container.
WORKDIR /usr/share/coingecko-etl
ENV DATA_DIR=/var/lib/coingecko-etl \
    LOG_DIR=/var/log/coingecko-etl \
    HTTP_ADDR=0.0.0.0:8080
VOLUME ["/var/lib/coingecko-etl", "/var/log/coingecko-etl"]
EXPOSE 8080
USER 10001:10001

# Liveness only (/healthz never depends on CoinGecko or PostgreSQL). Assumes the default
# HTTP_ADDR port 8080.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["curl", "--fail", "--silent", "--show-error", "--output", "/dev/null", "--max-time", "4", "http://127.0.0.1:8080/healthz"]

# SIGTERM: stop ticking, finish or abandon the tick in flight, exit 0 within SHUTDOWN_TIMEOUT
# (10s by default) -- give the container a stop timeout above it (compose: stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/coingecko-etl"]
CMD ["run"]

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="coingecko-etl" \
      org.opencontainers.image.description="Polls CoinGecko /coins/markets, spools every response to disk and loads it into PostgreSQL" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
