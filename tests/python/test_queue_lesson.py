"""The lesson's job queue, run unchanged with redis-py.

1. `queue_notification(job)` RPUSHes each job as JSON onto `queue:notifications`;
   `process_notifications()` takes them back with BLPOP (timeout 30 s), first queued first.
2. A consumer in a process of its own, started on an empty queue, gets a job pushed 200 ms
   later at once; then, blocked on the empty queue, it uses no CPU while it waits, and
   neither does the server: both processes' CPU times (from /proc/PID/stat) over a 2 s wait
   are checked, and a job pushed after that wait reaches the consumer at once too.

Run against a server on localhost:$KVDB_PORT (default 6379, as in the lesson):
    KVDB_PORT=6380 python3 tests/python/test_queue_lesson.py
"""
import json
import os
import time
from multiprocessing import Process, Queue

import redis

PORT = int(os.environ.get("KVDB_PORT", 6379))
QUEUE = "queue:notifications"

# How long the consumer and the server are watched while the consumer waits.
IDLE_WAIT = 2.0
# Most CPU (user + system) either may use over IDLE_WAIT: a process that polls, or a server
# that spins on a blocked client, uses far more.
IDLE_CPU_LIMIT = 0.1
# Most time from a push to the blocked consumer having the job: "at once" with a margin for a
# loaded machine; a consumer that polls with a sleep of a second or more fails it.
PROMPT = 1.0
# Bound on every wait in this script.
DEADLINE = 30.0

r = redis.Redis(host="localhost", port=PORT)


# --- the lesson's code ------------------------------------------------------------------------


def queue_notification(job):
    r.rpush("queue:notifications", json.dumps(job))


def send_notification(job):
    print(f"sending {job['type']} to {job['to']}")


def process_notifications(max_jobs):
    # The lesson loops forever; here it stops after `max_jobs`, and a 30 s timeout with
    # nothing queued (where the lesson would loop again) fails the script.
    handled = []
    while len(handled) < max_jobs:
        result = r.blpop("queue:notifications", timeout=30)
        assert result is not None, "BLPOP timed out with jobs queued"
        _, job_data = result
        job = json.loads(job_data)
        send_notification(job)
        handled.append(job)
    return handled


# --- checks -----------------------------------------------------------------------------------


def cpu_seconds(pid):
    """User + system CPU time of process `pid` so far, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    # Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def process_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2]


def blocked_clients():
    return r.info("clients")["blocked_clients"]


def wait_until_blocked(n):
    deadline = time.monotonic() + DEADLINE
    while blocked_clients() != n:
        assert time.monotonic() < deadline, f"blocked_clients never reached {n}"
        time.sleep(0.005)


def consumer(jobs, received):
    """A worker process: the lesson's BLPOP loop, reporting each job and when it got it."""
    conn = redis.Redis(host="localhost", port=PORT)
    for _ in range(jobs):
        result = conn.blpop("queue:notifications", timeout=30)
        # time.monotonic() is CLOCK_MONOTONIC: the same clock in every process.
        got = time.monotonic()
        received.put((None if result is None else json.loads(result[1]), got))


def fifo():
    r.delete(QUEUE)
    jobs = [
        {"type": "welcome_email", "to": "ada@example.com", "user_id": 4421},
        {"type": "password_reset", "to": "alan@example.com", "user_id": 4422},
        {"type": "order_shipped", "to": "grace@example.com", "order_id": "ord_8821"},
    ]
    for job in jobs:
        queue_notification(job)
    assert r.llen(QUEUE) == 3
    handled = process_notifications(3)
    assert handled == jobs, handled
    assert r.exists(QUEUE) == 0
    print("fifo: 3 jobs in order")


def idle_consumer():
    r.delete(QUEUE)
    server_pid = r.info("server")["process_id"]
    print(f"server pid: {server_pid}")
    received = Queue()
    worker = Process(target=consumer, args=(2, received))
    worker.start()
    try:
        # 1. Started on an empty queue, the job comes 200 ms later.
        time.sleep(0.2)
        first = {"type": "welcome_email", "to": "ada@example.com", "n": 1}
        pushed = time.monotonic()
        queue_notification(first)
        job, got = received.get(timeout=DEADLINE)
        assert job == first, job
        latency = got - pushed
        print(f"pushed 200 ms after the start: received after {latency * 1000:.1f} ms")
        assert latency < PROMPT, f"the consumer took {latency:.3f} s to get the job"

        # 2. Blocked again on the empty queue: neither it nor the server burns CPU.
        wait_until_blocked(1)
        consumer_before = cpu_seconds(worker.pid)
        server_before = cpu_seconds(server_pid)
        time.sleep(IDLE_WAIT)
        consumer_cpu = cpu_seconds(worker.pid) - consumer_before
        server_cpu = cpu_seconds(server_pid) - server_before
        state = process_state(worker.pid)
        print(
            f"over {IDLE_WAIT} s blocked: consumer cpu {consumer_cpu:.2f} s (state {state}), "
            f"server cpu {server_cpu:.2f} s"
        )
        assert blocked_clients() == 1, "the consumer stopped waiting"
        assert consumer_cpu < IDLE_CPU_LIMIT, f"the waiting consumer used {consumer_cpu} s"
        assert server_cpu < IDLE_CPU_LIMIT, f"the server used {server_cpu} s of CPU"
        # Asleep in the kernel, not running.
        assert state == "S", state
        assert received.empty()

        second = {"type": "password_reset", "to": "alan@example.com", "n": 2}
        pushed = time.monotonic()
        queue_notification(second)
        job, got = received.get(timeout=DEADLINE)
        assert job == second, job
        latency = got - pushed
        print(f"pushed after the idle wait: received after {latency * 1000:.1f} ms")
        assert latency < PROMPT, f"the consumer took {latency:.3f} s to get the job"
    finally:
        worker.join(timeout=DEADLINE)
        if worker.is_alive():
            worker.kill()
            worker.join(timeout=DEADLINE)
    assert worker.exitcode == 0, f"the consumer exited with {worker.exitcode}"
    assert r.exists(QUEUE) == 0
    assert blocked_clients() == 0


def main():
    fifo()
    idle_consumer()
    print("ok")


if __name__ == "__main__":
    main()
