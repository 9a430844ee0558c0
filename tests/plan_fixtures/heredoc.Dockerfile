# syntax=docker/dockerfile:1
FROM debian:bookworm
RUN <<EOF
set -eux
apt-get update
apt-get install -y --no-install-recommends redis-server
rm -rf /var/lib/apt/lists/*
EOF
COPY <<EOF /etc/redis/extra.conf
maxmemory 64mb
EOF
CMD ["redis-server", "/etc/redis/extra.conf"]
