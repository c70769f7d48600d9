# Build stage: compile the release binary (migrations, geography and Swagger UI
# are embedded in it).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY migrations migrations
COPY data/geography.json.gz data/geography.json.gz
RUN cargo build --release --locked --bin sesame

# Run stage: the binary alone, as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin sesame
COPY --from=build /src/target/release/sesame /usr/local/bin/sesame
USER sesame
ENV SESAME_BIND=0.0.0.0:8080 SESAME_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["sesame"]
CMD ["serve"]
