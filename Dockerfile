# One chargegroups node: `docker build -t chargegroups .` (docs/deploy.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CHARGEGROUPS_LOG_FORMAT=json

RUN groupadd --system --gid 10001 chargegroups \
    && useradd --system --uid 10001 --gid chargegroups --home-dir /app --shell /usr/sbin/nologin chargegroups

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install . && rm -rf /app/src
COPY deploy/entrypoint.sh /usr/local/bin/chargegroups-entrypoint

USER chargegroups
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["chargegroups-entrypoint"]
CMD ["serve"]
