"""A fixed-size pool of database connections.

Every request borrows one connection for the time of its queries. When all
db.pool_size connections are in use, a request waits for one, at most
db.pool_timeout_ms; then it fails with PoolTimeout, which the service logs
as an ERROR and answers with 503.
"""

import queue
import sqlite3
import threading
import time


class PoolTimeout(Exception):
    pass


class Pool:
    def __init__(self, path, size, timeout_ms):
        self.path = path
        self.timeout_ms = timeout_ms
        self.size = 0
        self.waiting = 0
        self._idle = queue.LifoQueue()
        self._lock = threading.Lock()
        self.resize(size)

    def _connect(self):
        return sqlite3.connect(self.path, timeout=self.timeout_ms / 1000, check_same_thread=False)

    def resize(self, size):
        """Grow the pool to size connections; a smaller size closes idle ones."""
        with self._lock:
            while self.size < size:
                self._idle.put(self._connect())
                self.size += 1
            while self.size > size:
                try:
                    self._idle.get_nowait().close()
                except queue.Empty:
                    break
                self.size -= 1

    def acquire(self):
        """A connection and how long it took to get it, in ms."""
        start = time.monotonic()
        with self._lock:
            self.waiting += 1
        try:
            conn = self._idle.get(timeout=self.timeout_ms / 1000)
        except queue.Empty:
            raise PoolTimeout(
                f"could not get a database connection from the pool (timeout {self.timeout_ms} ms)"
            ) from None
        finally:
            with self._lock:
                self.waiting -= 1
        return conn, (time.monotonic() - start) * 1000

    def in_use(self):
        return self.size - self._idle.qsize()

    def release(self, conn):
        self._idle.put(conn)


def find_order(conn, order_id):
    cur = conn.execute(
        "SELECT id, customer, total_cents, status FROM orders WHERE id = ?", (order_id,)
    )
    row = cur.fetchone()
    if row is None:
        return None
    return {"id": row[0], "customer": row[1], "total_cents": row[2], "status": row[3]}
