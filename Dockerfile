# syntax=docker/dockerfile:1
# Multi-stage build: compile with the Rust toolchain, run in a slim Debian as a non-root user.
# In a container the service does not run its own database: DATABASE_URL is required.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked && strip target/release/passerelle

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/passerelle --create-home passerelle
COPY --from=build /src/target/release/passerelle /usr/local/bin/passerelle
USER passerelle
WORKDIR /var/lib/passerelle
ENV PASSERELLE_BIND=0.0.0.0:8080 \
    PASSERELLE_DATA_DIR=/var/lib/passerelle \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# Refuse to start without an external database: the embedded one is for development.
ENTRYPOINT ["/bin/sh", "-c", ": \"${DATABASE_URL:?DATABASE_URL is required in the container}\"; exec passerelle \"$@\"", "passerelle"]
CMD ["serve"]
