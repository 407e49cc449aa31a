# syntax=docker/dockerfile:1
# One image recipe for the three Rust services; pick the binary with a build arg:
#   docker build -f deploy/service.Dockerfile --build-arg BINARY=auth-service .
# (docker-compose.yml does this for session-store, auth-service and realtime-service.)
#
# Stages: chef (tooling) -> planner (dependency recipe) -> builder (dependencies cooked in
# their own cached layer, then the workspace) -> runtime (Debian slim, non-root, binary only).
# Editing a service's code reuses the cooked dependency layer; only Cargo.toml/Cargo.lock
# changes rebuild it.

ARG RUST_VERSION=1.94
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS chef
# cmake/pkg-config: aws-lc-sys (lapin's TLS backend) may want them on some targets.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake pkg-config \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ARG BINARY
RUN test -n "${BINARY}" || (echo "build with --build-arg BINARY=<session-store|auth-service|realtime-service>" && false)
COPY --from=planner /app/recipe.json recipe.json
# The dependency layer: rebuilt only when the recipe (manifests + lock file) changes.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin "${BINARY}" \
    && install -D -m 0755 "target/release/${BINARY}" "/out/${BINARY}"

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG BINARY
# ca-certificates: TLS to a managed Postgres (sslmode=require) and to Supabase's JWKS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 nexus \
    && useradd --system --uid 10001 --gid nexus --no-create-home --shell /usr/sbin/nologin nexus
COPY --from=builder "/out/${BINARY}" "/usr/local/bin/${BINARY}"
# A fixed entry point name, so one ENTRYPOINT serves every binary; the real name stays
# available too (`docker compose exec auth-service auth-service dev-token`).
RUN ln -s "/usr/local/bin/${BINARY}" /usr/local/bin/nexus-service
USER nexus:nexus
ENV RUST_LOG=info \
    LOG_FORMAT=json
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/nexus-service"]
