# awoooi: one image for both processes. `docker run IMAGE worker` runs the Temporal worker,
# `docker run IMAGE api` the webhook API (the entrypoint is the `awoooi` CLI).
#
# Build stage: build awoooi's wheel and install it with its runtime dependencies only (no [test]
# extras) into a venv. The runtime stage copies just that venv: no compiler, no pip cache, no sources.
FROM python:3.12-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# What pyproject.toml needs to build: the metadata and every package it lists.
COPY pyproject.toml README.md ./
COPY core/ core/
COPY workflows/ workflows/
COPY activities/ activities/
COPY worker/ worker/
COPY starter/ starter/
RUN python -m venv /opt/awoooi \
 && /opt/awoooi/bin/pip install --upgrade pip \
 && /opt/awoooi/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/awoooi/bin/pip install /wheels/awoooi-*.whl

FROM python:3.12-slim AS runtime
# A fixed non-root uid/gid, the one deploy/kubernetes and the Helm chart run as (runAsUser 10001).
RUN groupadd --system --gid 10001 awoooi \
 && useradd --system --uid 10001 --gid awoooi --home-dir /home/awoooi --create-home awoooi
COPY --from=builder /opt/awoooi /opt/awoooi
ENV PATH=/opt/awoooi/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AWOOOI_API_HOST=0.0.0.0 \
    AWOOOI_DATA_DIR=/tmp/awoooi
USER 10001:10001
WORKDIR /home/awoooi
# 8000: the webhook API (AWOOOI_API_PORT). 9464: the worker's /metrics (AWOOOI_WORKER_METRICS_PORT),
# also its liveness signal in Kubernetes.
EXPOSE 8000 9464
# For plain Docker: healthy when the API's /api/v1/health (api) or the worker's /metrics (worker)
# answers. Kubernetes ignores HEALTHCHECK; the manifests and the Helm chart carry their own probes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u\nfor port, path in ((os.environ.get('AWOOOI_API_PORT', '8000'), '/api/v1/health'), (os.environ.get('AWOOOI_WORKER_METRICS_PORT', '9464'), '/metrics')):\n    try:\n        u.urlopen(f'http://127.0.0.1:{port}{path}', timeout=2); raise SystemExit(0)\n    except OSError:\n        pass\nraise SystemExit(1)"]
ENTRYPOINT ["awoooi"]
CMD ["api"]
