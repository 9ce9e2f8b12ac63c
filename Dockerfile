# revkv in a container: `docker build -t revkv .`, then
#   docker run -d --name revkv -p 8080:8080 -v revkv-data:/var/lib/revkv \
#     -v /etc/revkv:/etc/revkv:ro revkv
# /etc/revkv/revkv.toml gives the tokens and TLS files (tls_cert, tls_key): the server
# listens on 0.0.0.0 here and refuses to do so without both, unless the command adds
# --insecure (a trusted network, or TLS ended by a proxy in front). See docs/operations.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /build
COPY . .
RUN pip install . && cd / && rm -rf /build

# A fixed uid, so a volume's files keep their owner across images
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/revkv \
        --shell /usr/sbin/nologin revkv \
    && install -d -o revkv -g revkv -m 0750 /var/lib/revkv

USER revkv
WORKDIR /var/lib/revkv
VOLUME ["/var/lib/revkv"]
EXPOSE 8080

# 200 while the store takes writes, 503 with the problem otherwise (a full disk);
# https first (a self-check on loopback: the certificate is not verified), then http
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import ssl, sys, urllib.request as r\nfor s in ('https', 'http'):\n    try:\n        r.urlopen(s + '://127.0.0.1:8080/health', timeout=4, context=ssl._create_unverified_context())\n        sys.exit(0)\n    except OSError:\n        pass\nsys.exit(1)"]

# SIGTERM: requests in flight are answered and their writes fsynced, then exit 0
STOPSIGNAL SIGTERM
ENTRYPOINT ["revkv", "serve", "--data", "/var/lib/revkv", "--host", "0.0.0.0", "--port", "8080"]
CMD ["--config", "/etc/revkv/revkv.toml"]
