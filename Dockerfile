# Switchboard's image: `switchboard serve` as an unprivileged user, with PostgreSQL's driver.
# compose.yaml runs it three ways: `migrate` once, then two `serve` replicas behind Caddy.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/switchboard/bin:$PATH \
    SWITCHBOARD_DATA_DIR=/var/lib/switchboard \
    PORT=8000

RUN useradd --system --uid 10001 --home-dir /var/lib/switchboard --create-home switchboard

COPY . /src
RUN sh /src/deploy/install.sh /opt/switchboard /src && rm -rf /src

USER switchboard
WORKDIR /var/lib/switchboard
VOLUME /var/lib/switchboard
EXPOSE 8000

# No curl in a slim image: Python asks /healthz (503 or no answer: unhealthy).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"

ENTRYPOINT ["switchboard"]
CMD ["serve", "--host", "0.0.0.0"]
