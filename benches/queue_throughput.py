#!/usr/bin/env python3
"""A job queue's throughput: producers RPUSH jobs to one list, consumers BLPOP them.

Each of P producer processes pushes its share of N jobs with one RPUSH per job (no pipelining:
every job is a round trip, as a web handler enqueuing work makes it); each of C consumer
processes loops on `BLPOP queue 5` and counts what it gets. Once every producer is done, the
main process pushes one stop marker per consumer behind the jobs, so a consumer that pops one
has seen all the jobs before it. All processes connect first and start together; the clock
runs from the start until the last job is popped. The result is N / that
time, in jobs per second (a job is one RPUSH and one BLPOP, through a client that is also
competing for the same CPUs as the server).

Checks, so that a fast wrong answer cannot pass: every job id is popped exactly once (the
consumers' counts and id sums add up to the producers') and the queue is empty at the end.

Usage: benches/queue_throughput.py --port PORT [--jobs N] [--producers P] [--consumers C]
Prints one line: `jobs_per_s=<float> seconds=<float> jobs=<N>`. Needs redis-py
(`pip install redis`). benches/server.sh runs it against kvdb and redis-server.
"""

import argparse
import multiprocessing as mp
import sys
import time

import redis

STOP = b"stop"
# BLPOP's timeout (s): never reached while the producers work; a stuck run fails instead of
# hanging (see DEADLINE).
POP_TIMEOUT = 5
# Bound on the whole run (s), in every process.
DEADLINE = 300.0


def producer(port, queue, ids, start, done):
    r = redis.Redis(host="127.0.0.1", port=port)
    r.ping()
    start.wait()
    for job_id in ids:
        r.rpush(queue, job_id)
    done.put(("producer", len(ids), sum(ids)))


def consumer(port, queue, start, done):
    r = redis.Redis(host="127.0.0.1", port=port)
    r.ping()
    start.wait()
    deadline = time.monotonic() + DEADLINE
    count = total = 0
    last_job = time.monotonic()
    while True:
        item = r.blpop([queue], timeout=POP_TIMEOUT)
        if item is None:
            if time.monotonic() > deadline:
                done.put(("error", f"consumer: no stop marker after {DEADLINE} s", 0))
                return
            continue
        _, value = item
        if value == STOP:
            break
        count += 1
        total += int(value)
        last_job = time.monotonic()
    done.put(("consumer", count, total, last_job))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--producers", type=int, default=1)
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--queue", default="bench:queue")
    args = parser.parse_args()

    r = redis.Redis(host="127.0.0.1", port=args.port)
    r.delete(args.queue)
    ctx = mp.get_context("fork")
    start = ctx.Barrier(args.producers + args.consumers + 1)
    done = ctx.Queue()
    shares = [list(range(p, args.jobs, args.producers)) for p in range(args.producers)]
    procs = [
        ctx.Process(target=producer, args=(args.port, args.queue, ids, start, done))
        for ids in shares
    ] + [
        ctx.Process(target=consumer, args=(args.port, args.queue, start, done))
        for _ in range(args.consumers)
    ]
    for p in procs:
        p.start()
    start.wait(timeout=60)
    t0 = time.monotonic()

    produced = consumed = produced_sum = consumed_sum = 0
    last = t0
    producers_left, consumers_left = args.producers, args.consumers
    while producers_left or consumers_left:
        msg = done.get(timeout=DEADLINE)
        if msg[0] == "error":
            sys.exit(f"queue_throughput: {msg[1]}")
        if msg[0] == "producer":
            produced += msg[1]
            produced_sum += msg[2]
            producers_left -= 1
            if producers_left == 0:
                # Behind every job: one marker per consumer.
                r.rpush(args.queue, *([STOP] * args.consumers))
        else:
            consumed += msg[1]
            consumed_sum += msg[2]
            last = max(last, msg[3])
            consumers_left -= 1
    for p in procs:
        p.join()
    elapsed = last - t0

    expected_sum = args.jobs * (args.jobs - 1) // 2
    left = r.llen(args.queue)
    if (produced, produced_sum) != (args.jobs, expected_sum) or (consumed, consumed_sum) != (
        produced,
        produced_sum,
    ):
        sys.exit(
            f"queue_throughput: produced {produced} (id sum {produced_sum}), consumed "
            f"{consumed} (id sum {consumed_sum}), expected {args.jobs} ({expected_sum})"
        )
    if left != 0:
        sys.exit(f"queue_throughput: {left} items left in {args.queue}")
    print(f"jobs_per_s={args.jobs / elapsed:.1f} seconds={elapsed:.3f} jobs={args.jobs}")


if __name__ == "__main__":
    main()
