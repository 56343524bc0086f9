#!/usr/bin/env python3
"""Writes the bundled telemetry of the demo's incident, deterministically.

The night of 2026-11-24 (UTC), 00:00 to 04:00, of the orders service of
examples/demo-service (tenant demo, one instance, db.pool_size 10). From
02:40 a partner's batch import triples the traffic; from about 02:55 every
connection of the pool is busy, requests queue for one, and from 03:05 some
wait longer than db.pool_timeout_ms (5000 ms) and fail.

  orders-metrics.ndjson  the service's /metrics scraped every minute, as
                         metric records: latency_p95_ms, db_wait_ms, rps
  orders-app.log         the service's own log, JSON lines as app.py writes
                         them (read with sb-stream --format json)

Run from anywhere: python3 examples/data/generate.py. The same files come
out every time (a seeded generator); the demo reads the committed copies.
"""

import json
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = os.path.join(HERE, "..", "demo-service")
DAY = "2026-11-24"
END_MIN = 240  # 04:00
SURGE_START, SURGE_FULL = 160, 185  # 02:40 .. 03:05: traffic ramps up
QUEUE_START, QUEUE_FULL = 175, 195  # 02:55 .. 03:15: requests queue for a connection
FAIL_START = 185  # 03:05: the first waits beyond 5000 ms

rng = random.Random(20261124)


def ts(seconds, ms=False):
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    t = f"{DAY}T{h:02d}:{m:02d}:{s:02d}"
    if ms:
        t += f".{int(round((seconds - int(seconds)) * 1000)) % 1000:03d}"
    return t + "Z"


def ramp(minute, start, full):
    x = min(max((minute - start) / (full - start), 0.0), 1.0)
    return x * x * (3 - 2 * x)


def line_of(path, text):
    with open(os.path.join(SERVICE, path), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise SystemExit(f"{path}: no line with {text!r}")


APP_LINE = line_of("app.py", "service.pool.acquire()")
DB_LINE = line_of("db.py", "raise PoolTimeout(")
MESSAGE = "could not get a database connection from the pool (timeout 5000 ms)"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    f'  File "/srv/orders/app.py", line {APP_LINE}, in order\n'
    "    conn, wait_ms = service.pool.acquire()\n"
    "                    ^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    f'  File "/srv/orders/db.py", line {DB_LINE}, in acquire\n'
    "    raise PoolTimeout(\n"
    f"db.PoolTimeout: {MESSAGE}"
)


def log(seconds, level, logger, msg, **extra):
    rec = {"time": ts(seconds, ms=True), "level": level, "logger": logger,
           "service": "orders", "tenant": "demo", "msg": msg}
    rec.update(extra)
    return (seconds, json.dumps(rec))


def request_fields():
    return {"request_id": f"{rng.getrandbits(64):016x}", "path": f"/orders/{rng.randint(10000, 99999)}"}


def main():
    metrics, logs = [], []
    last_slow = -1e9
    for minute in range(END_MIN):
        t0 = minute * 60
        surge = ramp(minute, SURGE_START, SURGE_FULL)
        queue = ramp(minute, QUEUE_START, QUEUE_FULL)
        rps = 38 + 3 * math.sin(minute / 40) + 82 * surge + rng.gauss(0, 1.5 + 2.5 * surge)
        wait = 1.5 * math.exp(rng.gauss(0, 0.3)) + 1500 * queue * math.exp(rng.gauss(0, 0.3))
        latency = 92 + rng.gauss(0, 5) + 0.3 * (rps - 38) + 0.95 * wait
        for name, value, unit in (("latency_p95_ms", latency, "ms"), ("db_wait_ms", wait, "ms"),
                                  ("rps", rps, "1/s")):
            metrics.append((t0, json.dumps({
                "type": "metric", "ts": ts(t0), "tenant": "demo", "component": "orders",
                "source": "prometheus", "metric": name, "value": round(value, 1), "unit": unit,
                "dims": {"instance": "orders-1"}}, separators=(",", ":"))))

        # Pool timeouts: every one is logged, with its traceback.
        if minute >= FAIL_START:
            lam = 2.6 * (wait / 1500) ** 3
            for _ in range(poisson(lam)):
                logs.append(log(t0 + rng.uniform(0, 60), "ERROR", "orders.http", MESSAGE,
                                **request_fields(), exception=TRACEBACK))

        # Slow requests (over log.slow_query_ms, 500 ms): at most one every 30 s.
        for half in (0, 30):
            p_slow = 0.025 if latency < 500 else 0.97
            if rng.random() < p_slow:
                at = t0 + half + rng.uniform(0, 30)
                if at - last_slow >= 30:
                    last_slow = at
                    took = int(max(latency, 520) * rng.uniform(1.0, 1.6))
                    f = request_fields()
                    wait_ms = int(min(wait * rng.uniform(0.8, 1.3), 4990)) if queue > 0.02 else rng.randint(0, 3)
                    logs.append(log(at, "WARNING", "orders.http",
                                    f"slow request: GET {f['path']} took {took} ms", **f, wait_ms=wait_ms))

        # The pool watcher, once a minute.
        waiting = int(rps * wait / 1000) if queue > 0.02 else 0
        at = t0 + 41.3 + rng.uniform(0, 0.05)
        if waiting > 0:
            logs.append(log(at, "WARNING", "orders.pool",
                            f"pool exhausted: 10 of 10 connections in use, {waiting} requests waiting"))
        elif minute % 5 == 4:
            in_use = min(10, max(1, int(rps * 0.07 + rng.gauss(0, 0.8))))
            logs.append(log(at, "INFO", "orders.pool", f"pool: {in_use} of 10 connections in use, 0 waiting"))

    logs.sort(key=lambda r: r[0])
    with open(os.path.join(HERE, "orders-metrics.ndjson"), "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for _, line in metrics)
    with open(os.path.join(HERE, "orders-app.log"), "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for _, line in logs)


def poisson(lam):
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


if __name__ == "__main__":
    main()
