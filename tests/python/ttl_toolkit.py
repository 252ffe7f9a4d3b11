"""The lesson's TTL toolkit: a one-time password that expires, EXPIRE, TTL, PERSIST and
EXPIREAT, and the -1 / -2 answers of TTL.

Run against a server on localhost:$KVDB_PORT (default 6379, as in the lesson):
    KVDB_PORT=6380 python3 tests/python/ttl_toolkit.py
"""
import os
import time

import redis

PORT = int(os.environ.get("KVDB_PORT", 6379))

r = redis.Redis(host="localhost", port=PORT, decode_responses=True)

# A one-time password valid for 5 minutes.
r.set("otp:user:42", "918273", ex=300)
ttl = r.ttl("otp:user:42")
print("otp ttl:", ttl)
assert 299 <= ttl <= 300, ttl
assert r.get("otp:user:42") == "918273"

# A session that expires after 30 minutes of inactivity: refresh it on each request.
r.set("session:abc", "user:42")
assert r.ttl("session:abc") == -1  # no expiry yet
assert r.expire("session:abc", 1800) is True
ttl = r.ttl("session:abc")
print("session ttl:", ttl)
assert 1799 <= ttl <= 1800, ttl

# The user ticked "remember me": the session no longer expires.
assert r.persist("session:abc") is True
print("session ttl after persist:", r.ttl("session:abc"))
assert r.ttl("session:abc") == -1
assert r.persist("session:abc") is False  # nothing to remove

# A promotion that ends at a fixed instant.
ends = int(time.time()) + 3600
r.set("promo:summer", "20% off")
assert r.expireat("promo:summer", ends) is True
ttl = r.ttl("promo:summer")
print("promo ttl:", ttl)
assert 3598 <= ttl <= 3600, ttl

# An instant in the past deletes the key at once.
assert r.expireat("promo:summer", int(time.time()) - 10) is True
print("promo ttl after expireat in the past:", r.ttl("promo:summer"))
assert r.ttl("promo:summer") == -2
assert r.get("promo:summer") is None

# A key that never existed, and one that expires while we wait.
assert r.ttl("no:such:key") == -2
r.set("blink", "x", px=100)
time.sleep(0.3)
assert r.get("blink") is None
assert r.ttl("blink") == -2
assert r.expire("blink", 10) is False

print("ok")
