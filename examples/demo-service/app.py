"""orders: a small HTTP service that looks orders up in a database.

    GET /orders/ID   the order, as JSON (404 when there is none)
    GET /health      200 "ok" while the settings are sound
    GET /metrics     latency_p95_ms, db_wait_ms (p95) and rps over the last minute

Logs are JSON lines on standard output: every request that found no
database connection in time (ERROR), at most one slow request every 30 s
(WARN), and the pool's state once a minute while requests wait for a
connection (WARN), else every 5 minutes (INFO). SIGHUP reloads config.json
and resizes the connection pool without dropping a request.
"""

import json
import logging
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import db
import settings

log = logging.getLogger("orders.http")
pool_log = logging.getLogger("orders.pool")
SLOW_LOG_EVERY_S = 30


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, service, tenant, msg and extras."""

    def __init__(self, service, tenant):
        super().__init__()
        self.service, self.tenant = service, tenant

    def format(self, record):
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "service": self.service,
            "tenant": self.tenant,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "extra_fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


class Stats:
    """Latencies and pool waits of the last minute, for /metrics."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples = []

    def add(self, latency_ms, wait_ms):
        now = time.monotonic()
        with self.lock:
            self.samples.append((now, latency_ms, wait_ms))
            self.samples = [s for s in self.samples if now - s[0] <= 60]

    def snapshot(self):
        with self.lock:
            samples = list(self.samples)

        def p95(values):
            values = sorted(values)
            return values[int(0.95 * (len(values) - 1))] if values else 0

        return {
            "latency_p95_ms": p95([s[1] for s in samples]),
            "db_wait_ms": p95([s[2] for s in samples]),
            "rps": len(samples) / 60,
        }


class Service:
    def __init__(self, config_path):
        self.config_path = config_path
        self.settings = settings.load(config_path)
        d = self.settings["db"]
        self.pool = db.Pool(d["path"], d["pool_size"], d["pool_timeout_ms"])
        self.stats = Stats()
        self.last_slow_log = 0.0

    def watch_pool(self):
        """Log the pool's state: each minute while requests wait, else every 5 minutes."""
        minute = 0
        while True:
            time.sleep(60)
            minute += 1
            in_use, size, waiting = self.pool.in_use(), self.pool.size, self.pool.waiting
            if waiting > 0:
                pool_log.warning("pool exhausted: %d of %d connections in use, %d requests waiting",
                                 in_use, size, waiting)
            elif minute % 5 == 0:
                pool_log.info("pool: %d of %d connections in use, 0 waiting", in_use, size)

    def reload(self, *_):
        try:
            new = settings.load(self.config_path)
        except settings.SettingsError as e:
            log.error("reload refused: %s", e)
            return
        self.settings = new
        self.pool.timeout_ms = new["db"]["pool_timeout_ms"]
        self.pool.resize(new["db"]["pool_size"])
        log.info("reloaded: db.pool_size=%d", new["db"]["pool_size"])


def handler_for(service):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode() if not isinstance(body, bytes) else body
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                return self.reply(200, b"ok\n")
            if self.path == "/metrics":
                return self.reply(200, service.stats.snapshot())
            if self.path.startswith("/orders/"):
                return self.order(self.path[len("/orders/"):])
            return self.reply(404, {"error": "not found"})

        def order(self, order_id):
            start = time.monotonic()
            extra = {"request_id": uuid.uuid4().hex[:16], "path": self.path}
            try:
                conn, wait_ms = service.pool.acquire()
            except db.PoolTimeout:
                log.error("%s", sys.exc_info()[1], exc_info=True, extra={"extra_fields": extra})
                return self.reply(503, {"error": "busy, try again"})
            try:
                found = db.find_order(conn, order_id)
            finally:
                service.pool.release(conn)
            took_ms = (time.monotonic() - start) * 1000
            service.stats.add(took_ms, wait_ms)
            slow = took_ms > service.settings["log"]["slow_query_ms"]
            if slow and time.monotonic() - service.last_slow_log >= SLOW_LOG_EVERY_S:
                service.last_slow_log = time.monotonic()
                extra["wait_ms"] = round(wait_ms)
                log.warning("slow request: GET /orders/%s took %d ms", order_id, took_ms,
                            extra={"extra_fields": extra})
            if found is None:
                return self.reply(404, {"error": "no such order"})
            return self.reply(200, found)

    return Handler


def main(argv):
    config_path = argv[1] if len(argv) > 1 else "config.json"
    service = Service(config_path)
    out = logging.StreamHandler(sys.stdout)
    out.setFormatter(JsonLines(service.settings["service"], service.settings.get("tenant")))
    logging.basicConfig(level=service.settings["log"]["level"], handlers=[out])
    signal.signal(signal.SIGHUP, service.reload)
    threading.Thread(target=service.watch_pool, daemon=True).start()
    host, port = service.settings["listen"].rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), handler_for(service))
    log.info("listening on %s with db.pool_size=%d", service.settings["listen"],
             service.settings["db"]["pool_size"])
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
