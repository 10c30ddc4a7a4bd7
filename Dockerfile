# workato_exporter: build with the Rust toolchain, run on a distroless base
# as a non-root user. `docker build -t workato_exporter .`
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
# The workspace's other crates: the simulator behind --demo, and the two
# small crates it shares with the exporter.
COPY crates ./crates
# Cargo.toml declares the criterion bench target; cargo wants its file present.
COPY benches ./benches
# The image has no .git: pass the revision for workato_exporter_build_info.
ARG WORKATO_EXPORTER_REVISION=unknown
ENV WORKATO_EXPORTER_REVISION=${WORKATO_EXPORTER_REVISION}
RUN cargo build --release --locked --bin workato_exporter

# glibc and libgcc, nothing else: no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/workato_exporter /usr/local/bin/workato_exporter
USER 65532:65532
EXPOSE 9862
# The exporter asks itself for /healthz; no curl or shell needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/workato_exporter", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/workato_exporter"]
