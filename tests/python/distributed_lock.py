"""The lesson's distributed lock: two worker processes race for the same lock with
SET key worker_id NX EX 30, and exactly one of them gets it.

Run against a server on localhost:$KVDB_PORT (default 6379, as in the lesson):
    KVDB_PORT=6380 python3 tests/python/distributed_lock.py
"""
import os
from multiprocessing import Barrier, Process, Queue

import redis

PORT = int(os.environ.get("KVDB_PORT", 6379))
LOCK_KEY = "lock:order:ord_8821"


def acquire_lock(r, lock_key, worker_id, ttl=30):
    # NX: set only if nobody holds the lock; EX: release it by itself after ttl seconds,
    # even if the worker holding it crashes.
    return r.set(lock_key, worker_id, nx=True, ex=ttl)


def worker(worker_id, start, results):
    r = redis.Redis(host="localhost", port=PORT, decode_responses=True)
    start.wait(timeout=30)  # both workers try at the same moment
    if acquire_lock(r, LOCK_KEY, worker_id):
        print(f"{worker_id}: acquired the lock, processing the order")
        results.put((worker_id, True))
    else:
        holder = r.get(LOCK_KEY)
        print(f"{worker_id}: lock held by {holder}, skipping")
        results.put((worker_id, False))


def main():
    r = redis.Redis(host="localhost", port=PORT, decode_responses=True)
    r.delete(LOCK_KEY)
    start = Barrier(2)
    results = Queue()
    workers = [
        Process(target=worker, args=(f"worker-{i}", start, results)) for i in (1, 2)
    ]
    for p in workers:
        p.start()
    outcomes = dict(results.get(timeout=30) for _ in workers)
    for p in workers:
        p.join(timeout=30)
        assert p.exitcode == 0, f"{p.name} exited with {p.exitcode}"

    winners = [w for w, won in outcomes.items() if won]
    assert len(winners) == 1, f"exactly one worker must win: {outcomes}"
    assert r.get(LOCK_KEY) == winners[0], (r.get(LOCK_KEY), winners)
    ttl = r.ttl(LOCK_KEY)
    assert 0 < ttl <= 30, f"TTL {ttl}"
    # Releasing it lets the other one in.
    loser = next(w for w in outcomes if w != winners[0])
    r.delete(LOCK_KEY)
    assert acquire_lock(r, LOCK_KEY, loser)
    print(f"{winners[0]} won, TTL {ttl}")
    print("ok")


if __name__ == "__main__":
    main()
