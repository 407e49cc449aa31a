# syntax=docker/dockerfile:1
# One image recipe for the three Rust services; pick the binary with a build arg:
#   docker build -f deploy/service.Dockerfile --build-arg BINARY=auth-service .
# (docker-compose.yml does this for session-store, auth-service and realtime-service.)
#
# Stages: chef (tooling) -> planner (dependency recipe) -> builder (dependencies cooked in
# their own cached layer, then all three binaries) -> runtime (Debian slim, non-root, one
# binary). Nothing before the runtime stage depends on BINARY, so BuildKit builds the
# dependency layer and the workspace ONCE and the three images share them. Only the
# manifests and the crates are copied in: a change to docs, deploy/ or e2e/ rebuilds
# nothing, a change to a crate's code reuses the cooked dependency layer, and only
# Cargo.toml/Cargo.lock changes rebuild that.
#
# Versions are pinned; bump them deliberately (rust-version in Cargo.toml is the floor).

ARG RUST_IMAGE=rust:1.94.0-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim
ARG CARGO_CHEF_VERSION=0.1.78

FROM ${RUST_IMAGE} AS chef
ARG CARGO_CHEF_VERSION
# cmake/pkg-config: aws-lc-sys (lapin's TLS backend) may want them on some targets.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake pkg-config \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --version "${CARGO_CHEF_VERSION}" --locked
WORKDIR /app

# The workspace without docs, deploy files or tests' node packages.
FROM chef AS sources
COPY Cargo.toml Cargo.lock ./
COPY proto proto
COPY common common
COPY tokens tokens
COPY session-store session-store
COPY auth-service auth-service
COPY realtime-service realtime-service

FROM sources AS planner
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
# The dependency layer: rebuilt only when the recipe (manifests + lock file) changes.
RUN cargo chef cook --release --locked --workspace --recipe-path recipe.json
COPY --from=sources /app /app
RUN cargo build --release --locked --workspace --bins \
    && mkdir -p /out \
    && install -m 0755 target/release/session-store target/release/auth-service \
       target/release/realtime-service /out/

FROM ${RUNTIME_IMAGE} AS runtime
# Only here: the binary this image runs.
ARG BINARY
RUN test -n "${BINARY}" || (echo "build with --build-arg BINARY=<session-store|auth-service|realtime-service>" && false)
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
USER 10001:10001
ENV RUST_LOG=info \
    LOG_FORMAT=json
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/nexus-service"]
