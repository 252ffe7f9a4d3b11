"""The lesson's hashes and sorted sets, run unchanged with redis-py.

1. A user profile as a hash: HSET with a mapping, one field updated, HGET, HGETALL.
2. A leaderboard: 100,000 players get their points through ZINCRBY from 4 worker processes
   at once (pipelined; each player is scored twice, by two different workers), then
   ZREVRANGE 0 9 WITHSCORES is the top 10. Each player's points are known in advance, so the
   top 10 is computed exactly here, ties included: players with equal scores come in reverse
   lexicographic order in ZREVRANGE, as in Redis.

Run against a server on localhost:$KVDB_PORT (default 6379, as in the lesson):
    KVDB_PORT=6380 python3 tests/python/test_hash_lesson.py
"""
import os
import time
from multiprocessing import Process

import redis

PORT = int(os.environ.get("KVDB_PORT", 6379))

PLAYERS = 100_000
WORKERS = 4
# Commands per pipeline round trip.
BATCH = 1_000
# Distinct final scores: player i ends with ((i * 7919) % DISTINCT) / 2 points. 7919 is prime
# and coprime with DISTINCT, so every score is reached by exactly PLAYERS / DISTINCT = 2
# players: every rank of the top 10 is a tie that ZREVRANGE must break by member.
DISTINCT = 50_000


def user_profile():
    r = redis.Redis(host="localhost", port=PORT)
    r.delete("user:u_4421")
    r.hset(
        "user:u_4421",
        mapping={
            "name": "Ada",
            "plan": "pro",
            "login_count": 142,
            "last_login": "2026-11-27",
        },
    )
    # She logs in again.
    r.hset("user:u_4421", "login_count", 143)
    plan = r.hget("user:u_4421", "plan")
    print("plan:", plan)
    assert plan == b"pro", plan
    profile = r.hgetall("user:u_4421")
    print("profile:", profile)
    assert profile == {
        b"name": b"Ada",
        b"plan": b"pro",
        b"login_count": b"143",
        b"last_login": b"2026-11-27",
    }, profile
    assert r.hlen("user:u_4421") == 4
    assert r.hget("user:u_4421", "no_such_field") is None


def player(i):
    return f"player:{i}"


def final_score(i):
    return ((i * 7919) % DISTINCT) / 2


def scorers(i):
    """The two workers that score player i: 0 and 2 score the even players, 1 and 3 the odd."""
    return (i % 2, i % 2 + 2)


def increments(worker, i):
    """What `worker` (one of `scorers(i)`) adds to player i's score; the two shares sum to
    final_score(i).

    Shares are multiples of 0.5 (some negative), far below 2**53: every partial sum is an exact
    double, so the final score does not depend on which increment lands first.
    """
    first = ((i * 31 + 17) % 200) / 2 - 50
    return first if worker < 2 else final_score(i) - first


def score_players(worker):
    r = redis.Redis(host="localhost", port=PORT)
    pipe = r.pipeline(transaction=False)
    # The two scorers of a player start at the same place and so reach each player at about
    # the same moment: a ZINCRBY that read and wrote the score in two steps would lose points.
    # The other pair starts half-way, so that all four write to the sorted set at once.
    start = (worker % 2) * PLAYERS // 2
    for n in range(PLAYERS):
        i = (start + n) % PLAYERS
        if worker not in scorers(i):
            continue
        pipe.zincrby("leaderboard", increments(worker, i), player(i))
        if len(pipe) == BATCH:
            pipe.execute()
    pipe.execute()


def leaderboard():
    r = redis.Redis(host="localhost", port=PORT)
    r.delete("leaderboard")
    started = time.monotonic()
    workers = [Process(target=score_players, args=(w,)) for w in range(WORKERS)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
        assert p.exitcode == 0, f"a worker exited with {p.exitcode}"
    elapsed = time.monotonic() - started
    print(f"{2 * PLAYERS} ZINCRBYs from {WORKERS} workers in {elapsed:.1f} s")

    # ZREVRANGE order: score descending, then member descending (byte order; the names are
    # ASCII, so Python's str order is the same).
    expected = sorted(
        ((player(i), final_score(i)) for i in range(PLAYERS)),
        key=lambda ms: (ms[1], ms[0]),
        reverse=True,
    )
    top10 = r.zrevrange("leaderboard", 0, 9, withscores=True)
    print("top 10:", top10)
    assert top10 == [(m.encode(), s) for m, s in expected[:10]], top10
    assert r.zcard("leaderboard") == PLAYERS
    # No increment was lost anywhere, not only in the top 10.
    everyone = r.zrange("leaderboard", 0, -1, withscores=True)
    assert everyone == [(m.encode(), s) for m, s in reversed(expected)], "scores differ"
    print("leader:", top10[0][0].decode(), top10[0][1])


def main():
    user_profile()
    leaderboard()
    print("ok")


if __name__ == "__main__":
    main()
