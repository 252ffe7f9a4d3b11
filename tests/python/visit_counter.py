"""The lesson's visit counter: 5 processes each call r.incr('visit_count') 1,000 times, and
the count is exactly 5,000: INCR is atomic, no increment is lost.

Run against a server on localhost:$KVDB_PORT (default 6379, as in the lesson):
    KVDB_PORT=6380 python3 tests/python/visit_counter.py
"""
import os
from multiprocessing import Process

import redis

PORT = int(os.environ.get("KVDB_PORT", 6379))
PROCESSES = 5
VISITS = 1000


def count_visits():
    r = redis.Redis(host="localhost", port=PORT)
    for _ in range(VISITS):
        r.incr("visit_count")


def main():
    r = redis.Redis(host="localhost", port=PORT)
    r.delete("visit_count")
    workers = [Process(target=count_visits) for _ in range(PROCESSES)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
        assert p.exitcode == 0, f"a worker exited with {p.exitcode}"
    total = int(r.get("visit_count"))
    print("visit_count:", total)
    assert total == PROCESSES * VISITS, total
    print("ok")


if __name__ == "__main__":
    main()
