#!/usr/bin/env python3
"""Collect INCRBYFLOAT / HINCRBYFLOAT answers from a real redis-server.

Development tool for src/types/long_double.rs, not part of the test suite. It
generates random operand pairs aimed at the hard parts of Redis's `long double`
arithmetic (correct rounding when parsing, ties, cancellation, overflow and
underflow limits, printf's 17-decimal rounding, strtold's grammar), asks the
server, and writes one case per line:

    <command> TAB <hex current> TAB <hex increment> TAB ok:<reply> | err:<message>

`command` is `incr` (SET k a; INCRBYFLOAT k b) or `hincr` (HSET h f a;
HINCRBYFLOAT h f b); `current` is `-` for a missing field. Operands are hex
encoded so that whitespace and NUL bytes survive. Error messages drop the
leading "ERR ". It overwrites the keys oracle:k and oracle:h.

Check the cases against kvdb with the ignored unit test:

    redis-server --port 6392 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes
    python3 tests/tools/incrbyfloat_oracle.py 6392 --count 20000 --out /tmp/cases.tsv
    KVDB_INCRBYFLOAT_CASES=/tmp/cases.tsv \
        cargo test --lib types::long_double -- --ignored --nocapture
    redis-cli -p 6392 shutdown nosave

Needs redis-py (`pip install redis`).
"""

import argparse
import random
import sys
from fractions import Fraction

import redis

SPECIALS = [
    "0", "-0", "+0", "0.0", "-0.0", "1", "-1", "+3", "5.", ".5", "-.5", "+.5",
    "0.1", "0.2", "0.3", "-0.1", "1e5", "1E5", "1e+5", "1e-5", "1.5e3",
    "inf", "-inf", "+inf", "INF", "Infinity", "-infinity", "infin", "in",
    "nan", "NaN", "-nan", "nan(123)", "0x1p3", "0X1P3", "0x1.8p1", "0x.8",
    "0xA", "0xa.bP-2", "0x1p-16445", "0x1p-16446", "0x1p16383", "0x1p16384",
    "0x", "0x.", "0xp1", "0x1p", "0x1p+", "0x1g", " 1", "1 ", "\t1", "1\n",
    "\x00", "1\x00", "1\x002", "", ".", "-", "+", "e5", "1e", "1e+", "1e-",
    "1.2.3", "1e5.5", "--1", "+-1", "1_000", "1,5", "0.1e", "٣",
    "1e4932", "1.18973149535723176502e4932", "1.18973149535723176508e4932",
    "1.1897314953572317651e4932", "1e4933", "-1e4933", "1e-4940",
    "3.6e-4951", "3.7e-4951", "1.8e-4951", "1.83e-4951", "1e-5000",
    "0e-99999", "0e99999", "1e99999", "1e-99999", "12345678.1",
    "9223372036854775807", "-9223372036854775808", "18446744073709551615",
    "18446744073709551616", "18446744073709551617", "36893488147419103231",
    "1e300", "1e-300", "1e4000", "-1e4000", "3.14159265358979323846264338",
    "0.000003814697265625", "0x1p-18", "0x3p-18", "0x1p-57", "0x1p-58",
]


def random_digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def random_decimal(rng):
    sign = rng.choice(["", "", "-", "+"])
    int_len = rng.choice([0, 1, 1, 2, 3, 5, 8, 12, 17, 19, 20, 25, 40])
    frac_len = rng.choice([0, 1, 1, 2, 3, 5, 8, 12, 17, 18, 20, 25, 40])
    if int_len == 0 and frac_len == 0:
        int_len = 1
    text = random_digits(rng, int_len)
    if frac_len or rng.random() < 0.1:
        text += "." + random_digits(rng, frac_len)
    roll = rng.random()
    if roll < 0.3:
        text += rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randint(0, 40))
    elif roll < 0.4:
        text += "e" + str(rng.choice([-1, 1]) * rng.randint(4890, 4960))
    elif roll < 0.45:
        text += "e" + str(rng.randint(-320, 320))
    return sign + text


def random_hex(rng):
    sign = rng.choice(["", "-"])
    mant = "%x" % rng.getrandbits(rng.choice([1, 8, 32, 64, 65, 66, 80, 130]))
    if rng.random() < 0.3 and len(mant) > 1:
        cut = rng.randrange(len(mant))
        mant = mant[:cut] + "." + mant[cut:]
    exp = rng.choice([0, rng.randint(-80, 80), rng.randint(-16500, -16300), rng.randint(16300, 16400)])
    return "%s0x%sp%d" % (sign, mant, exp)


def exact_decimal(value):
    """The exact decimal expansion of a dyadic Fraction."""
    num, den = value.numerator, value.denominator
    sign = "-" if num < 0 else ""
    num = abs(num)
    places = 0
    while den != 1:
        # den is a power of two: multiply by 10 until it divides.
        num *= 10
        places += 1
        if num % den == 0:
            num //= den
            den = 1
    digits = str(num).rjust(places + 1, "0")
    if places:
        return sign + digits[:-places] + "." + digits[-places:]
    return sign + digits


def halfway_decimal(rng):
    """A decimal string at (or just off) the midpoint between two long doubles."""
    bits = rng.choice([65, 65, 66])
    mant = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
    exp = rng.choice([rng.randint(-90, 40), rng.randint(-200, -90)])
    value = Fraction(mant) * (Fraction(2) ** exp)
    text = exact_decimal(value)
    roll = rng.random()
    if roll < 0.3:
        text += "0000000000001" if "." in text else ".0000000000000000000000001"
    elif roll < 0.5:
        # Cut the last digit: just below the midpoint.
        text = text[:-1] if len(text) > 3 and text[-2] != "." else text
    return rng.choice(["", "-"]) + text


def print_tie(rng):
    """A value whose 18th decimal place is an exact 5: printf must round to even."""
    k = rng.choice([18, 19, 20, 25, 30, 40, 56])
    odd = rng.getrandbits(rng.choice([4, 20, 40, 60])) | 1
    return rng.choice(["", "-"]) + "0x%xp-%d" % (odd, k)


def random_integer(rng):
    bits = rng.choice([3, 10, 31, 53, 62, 63, 64, 65, 66, 70, 100, 200])
    return str(rng.getrandbits(bits) * rng.choice([1, -1]))


def long_string(rng):
    n = rng.choice([300, 1000, 4000, 5100, 5118, 5119, 5120, 5121, 6000])
    head = rng.choice(["0.", "1", "-0.", "12345.", "0.1"])
    body = random_digits(rng, max(n - len(head), 0))
    if rng.random() < 0.5:
        body = "0" * len(body)
    return head + body


def operand(rng):
    roll = rng.random()
    if roll < 0.10:
        return rng.choice(SPECIALS)
    if roll < 0.45:
        return random_decimal(rng)
    if roll < 0.55:
        return random_hex(rng)
    if roll < 0.65:
        return halfway_decimal(rng)
    if roll < 0.70:
        return print_tie(rng)
    if roll < 0.82:
        return random_integer(rng)
    if roll < 0.85:
        return long_string(rng)
    return rng.choice(["0.1", "0.2", "1.1", "2.5", "-3.75", "12345678.1", "10.5", "99.99", "0.01", "1e-7"])


def pair(rng, earlier_replies):
    roll = rng.random()
    if roll < 0.1 and earlier_replies:
        # Feed an earlier reply back, as a running counter does.
        return rng.choice(earlier_replies), operand(rng)
    if roll < 0.2:
        # Near-cancellation: b close to -a.
        a = random_decimal(rng)
        neg = a[1:] if a.startswith("-") else "-" + a.lstrip("+")
        return a, neg + rng.choice(["", "1", "0001", "9"])
    if roll < 0.24:
        return sticky_pair(rng)
    if roll < 0.30:
        # Sums that round in the 64th bit.
        base = rng.getrandbits(rng.choice([64, 65, 66, 70])) | (1 << 63)
        return str(base), str(rng.randint(-9, 9))
    return operand(rng), operand(rng)


def sticky_pair(rng):
    """Operands 63-70 binary places apart: the smaller one's low bits decide the rounding.

    Large values (ulp >= 1) make the last bit visible in the printed integer digits.
    """
    exp = rng.randint(0, 40)
    big = 1 << 63
    if rng.random() < 0.5:
        big |= rng.getrandbits(63)
    ones = (1 << 64) - 1
    small = rng.choice([1 << 63, (1 << 63) | 1, (1 << 63) | 3, ones, ones - 1, ones ^ 2, ones ^ 4, (1 << 63) | rng.getrandbits(63)])
    gap = rng.randint(62, 70)
    sign = rng.choice(["", "-"])
    return "0x%xp%d" % (big, exp), "%s0x%xp%d" % (sign, small, exp - gap)


def ask(client, cases):
    pipe = client.pipeline(transaction=False)
    for command, a, b in cases:
        if command == "incr":
            pipe.execute_command("SET", "oracle:k", a)
            pipe.execute_command("INCRBYFLOAT", "oracle:k", b)
        else:
            pipe.execute_command("DEL", "oracle:h")
            if a is not None:
                pipe.execute_command("HSET", "oracle:h", "f", a)
            else:
                pipe.execute_command("PING")
            pipe.execute_command("HINCRBYFLOAT", "oracle:h", "f", b)
    replies = pipe.execute(raise_on_error=False)
    answers = []
    step = 2 if cases and cases[0][0] == "incr" else 3
    for i in range(len(cases)):
        reply = replies[(i + 1) * step - 1]
        if isinstance(reply, Exception):
            message = str(reply)
            if message.startswith("ERR "):
                message = message[4:]
            answers.append("err:" + message)
        else:
            answers.append("ok:" + reply.decode())
    return answers


def encode(value):
    if value is None:
        return "-"
    return value.encode("utf-8").hex()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port", nargs="?", type=int, default=6392)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hincr-share", type=float, default=0.1, help="fraction of HINCRBYFLOAT cases")
    parser.add_argument("--out", default="-", help="output file, '-' for stdout")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    client = redis.Redis(host=args.host, port=args.port)
    client.ping()
    # Keep the replies as the server's bytes: redis-py would turn them into Python floats.
    for command in ("INCRBYFLOAT", "HINCRBYFLOAT"):
        client.set_response_callback(command, lambda reply, **_: reply)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="ascii")

    fixed = [("incr", a, "0") for a in SPECIALS] + [("incr", "1", b) for b in SPECIALS]
    fixed += [("hincr", a, "0") for a in SPECIALS] + [("hincr", "1", b) for b in SPECIALS]
    written = 0
    earlier_replies = []
    batch = 200
    while written < args.count:
        if fixed:
            chunk, fixed = fixed[:batch], fixed[batch:]
        else:
            chunk = []
            for _ in range(min(batch, args.count - written)):
                a, b = pair(rng, earlier_replies)
                if rng.random() < args.hincr_share:
                    chunk.append(("hincr", None if rng.random() < 0.2 else a, b))
                else:
                    chunk.append(("incr", a, b))
        for command in ("incr", "hincr"):
            group = [c for c in chunk if c[0] == command]
            if not group:
                continue
            for (cmd, a, b), answer in zip(group, ask(client, group)):
                out.write("%s\t%s\t%s\t%s\n" % (cmd, encode(a), encode(b), answer))
                written += 1
                if answer.startswith("ok:") and len(answer) < 200:
                    earlier_replies.append(answer[3:])
        earlier_replies = earlier_replies[-500:]
    client.delete("oracle:k", "oracle:h")
    if out is not sys.stdout:
        out.close()
    print("wrote %d cases" % written, file=sys.stderr)


if __name__ == "__main__":
    main()
