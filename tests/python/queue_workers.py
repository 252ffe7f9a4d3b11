"""Several producer and consumer processes move 100,000 jobs through one queue; every job is
consumed exactly once.

Each producer RPUSHes its own jobs (a unique id each, as JSON, one RPUSH per job, pipelined
in batches) and records an id once its RPUSH has returned; each consumer BLPOPs and records
every id it got, in its own file. Once the producers are done, one stop marker per consumer
is pushed behind the jobs: a consumer that pops one has seen every job before it. Then:

* every id was acknowledged by its producer and consumed by exactly one consumer;
* each consumer got any one producer's jobs in the order they were pushed (FIFO);
* the queue is empty.

Run against a server on localhost:$KVDB_PORT (default 6379, as in the lesson):
    KVDB_PORT=6380 python3 tests/python/queue_workers.py
"""
import json
import os
import tempfile
import time
from multiprocessing import Process

import redis

PORT = int(os.environ.get("KVDB_PORT", 6379))
QUEUE = "queue:jobs"

JOBS = int(os.environ.get("KVDB_QUEUE_JOBS", 100_000))
PRODUCERS = 4
CONSUMERS = 4
# RPUSH commands per pipeline round trip.
BATCH = 100
# Each BLPOP's timeout (s): long enough never to expire while producers are at work.
POP_TIMEOUT = 10
# Bound on the whole run, in every process.
DEADLINE = 110.0
STOP = "stop"


def job_ids(producer):
    """Producer p's job ids: p, p + PRODUCERS, ... below JOBS, in push order."""
    return range(producer, JOBS, PRODUCERS)


def producer(index, ack_path, deadline):
    r = redis.Redis(host="localhost", port=PORT)
    ids = list(job_ids(index))
    with open(ack_path, "w") as acks:
        for start in range(0, len(ids), BATCH):
            assert time.monotonic() < deadline, f"producer {index}: deadline passed"
            batch = ids[start : start + BATCH]
            pipe = r.pipeline(transaction=False)
            for job_id in batch:
                pipe.rpush(QUEUE, json.dumps({"id": job_id, "producer": index}))
            replies = pipe.execute()
            assert all(isinstance(n, int) and n >= 1 for n in replies), replies
            # Acknowledged only now that every RPUSH of the batch has answered.
            acks.write("".join(f"{job_id}\n" for job_id in batch))


def consumer(index, got_path, deadline):
    r = redis.Redis(host="localhost", port=PORT)
    with open(got_path, "w") as got:
        # At most every job and one stop marker: a bound on the loop even if the stop is lost.
        for _ in range(JOBS + 1):
            assert time.monotonic() < deadline, f"consumer {index}: deadline passed"
            result = r.blpop(QUEUE, timeout=POP_TIMEOUT)
            if result is None:
                continue
            key, data = result
            assert key == QUEUE.encode(), key
            if data == STOP.encode():
                return
            job = json.loads(data)
            got.write(f"{job['producer']} {job['id']}\n")
    raise AssertionError(f"consumer {index}: popped {JOBS + 1} items without a stop")


def run(workers, deadline):
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
    for p in workers:
        if p.is_alive():
            p.kill()
            p.join(timeout=10)
        assert p.exitcode == 0, f"{p.name} exited with {p.exitcode}"


def main():
    r = redis.Redis(host="localhost", port=PORT)
    r.delete(QUEUE)
    started = time.monotonic()
    deadline = started + DEADLINE
    with tempfile.TemporaryDirectory() as scratch:
        acks = [os.path.join(scratch, f"acks-{i}") for i in range(PRODUCERS)]
        gots = [os.path.join(scratch, f"got-{i}") for i in range(CONSUMERS)]
        consumers = [
            Process(target=consumer, args=(i, gots[i], deadline), name=f"consumer-{i}")
            for i in range(CONSUMERS)
        ]
        producers = [
            Process(target=producer, args=(i, acks[i], deadline), name=f"producer-{i}")
            for i in range(PRODUCERS)
        ]
        # Consumers first: they block on the empty queue and are served as jobs arrive.
        for p in consumers:
            p.start()
        run(producers, deadline)
        produced = time.monotonic() - started
        r.rpush(QUEUE, *([STOP] * CONSUMERS))
        for p in consumers:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
        for p in consumers:
            if p.is_alive():
                p.kill()
                p.join(timeout=10)
            assert p.exitcode == 0, f"{p.name} exited with {p.exitcode}"
        elapsed = time.monotonic() - started

        acked = []
        for path in acks:
            with open(path) as f:
                acked.extend(int(line) for line in f)
        assert sorted(acked) == list(range(JOBS)), "a producer did not acknowledge its jobs"

        seen = {}
        per_consumer = []
        for index, path in enumerate(gots):
            with open(path) as f:
                lines = [line.split() for line in f]
            per_consumer.append(len(lines))
            last = {}
            for producer_index, job_id in lines:
                job_id = int(job_id)
                assert job_id not in seen, (
                    f"job {job_id} consumed twice: by consumer {seen[job_id]} and {index}"
                )
                seen[job_id] = index
                # One producer's jobs reach any one consumer in push order.
                assert last.get(producer_index, -1) < job_id, (
                    f"consumer {index} got job {job_id} after {last[producer_index]}"
                )
                last[producer_index] = job_id
        missing = set(range(JOBS)) - seen.keys()
        assert not missing, f"{len(missing)} jobs never consumed, e.g. {sorted(missing)[:10]}"
        assert len(seen) == JOBS
    assert r.llen(QUEUE) == 0, r.lrange(QUEUE, 0, 10)
    print(
        f"{PRODUCERS} producers pushed {JOBS} jobs in {produced:.1f} s; "
        f"{CONSUMERS} consumers took {per_consumer} jobs, {elapsed:.1f} s in all"
    )
    print(f"consumed {JOBS} jobs exactly once")
    print("ok")


if __name__ == "__main__":
    main()
