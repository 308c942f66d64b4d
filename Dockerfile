# shardgate: a small multi-stage build. docker-compose.yml uses it; see README.md ("Docker").
#
#   docker build -t shardgate .
#   docker run --rm -p 3307:3307 -v "$PWD/my-rules.toml:/etc/shardgate/rules.toml:ro" shardgate

FROM rust:1-bookworm AS build
WORKDIR /src
# The whole context (see .dockerignore): the crate embeds examples/ecommerce/* at compile time.
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
COPY --from=build /src/target/release/shardgate /usr/local/bin/shardgate
# Default rules: the e-commerce example for the compose services ds0/ds1, listening on
# 0.0.0.0:3307. Mount your own file over it.
COPY examples/ecommerce/rules.compose.toml /etc/shardgate/rules.toml
EXPOSE 3307
USER nobody
CMD ["shardgate", "serve", "--config", "/etc/shardgate/rules.toml"]
