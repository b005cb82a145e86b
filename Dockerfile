# supportbot: a slim image running `supportbot run` as a non-root user, SQLite on a volume at /data.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY workflows ./workflows
COPY storage ./storage
COPY migrations ./migrations
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SUPPORTBOT_DATABASE_URL=sqlite+aiosqlite:////data/supportbot.db
COPY --from=build /install /usr/local
RUN useradd --create-home --uid 10001 supportbot && mkdir -p /data && chown supportbot /data
USER supportbot
WORKDIR /home/supportbot
VOLUME ["/data"]
# The HTTP server (Slack HTTP mode, /healthz, /metrics).
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"
CMD ["supportbot", "run", "--host", "0.0.0.0", "--port", "3000"]
