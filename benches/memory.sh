#!/usr/bin/env bash
# RAM per key, kvdb vs Redis, for 1M keys of 16 bytes with 100-byte values.
#
# kvdb: `cargo bench --bench memory` (benches/memory.rs) counts heap growth with a counting
# global allocator and reads RSS growth from /proc/self/status, for a bare keydir, a Db filled
# by SET, and the same Db reopened (keydir rebuilt by recovery). Values are on disk.
#
# Redis: a throwaway redis-server on 127.0.0.1 (a free port, no RDB, no AOF) is loaded with
# the same 1M keys (`key:000000000000` .. `key:000000999999`, 100-byte values) through
# `redis-cli --pipe`; bytes per key = growth of INFO's used_memory (and used_memory_rss) / DBSIZE.
# REDIS_LOAD=benchmark loads with `redis-benchmark -t set -n 1000000 -r 1000000 -d 100 -P 32`
# instead; random keys repeat, so that makes only about 632k distinct keys.
#
# Usage: benches/memory.sh   (REDIS_SERVER=/path/to/redis-server to pick another build)
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=1000000
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_LOAD=${REDIS_LOAD:-pipe}

for tool in "$REDIS_SERVER" redis-cli; do
    command -v "$tool" >/dev/null || { echo "memory.sh: $tool not found (apt-get install redis-server)" >&2; exit 1; }
done

work=$(mktemp -d)
redis_pid=
cleanup() {
    if [[ -n $redis_pid ]] && kill -0 "$redis_pid" 2>/dev/null; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== kvdb (cargo bench --bench memory)"
cargo bench --quiet --bench memory 2>"$work/cargo.log" | tee "$work/kvdb.txt" || {
    cat "$work/cargo.log" >&2
    exit 1
}
kvdb() { sed -n "s/^kvdb\.$1=//p" "$work/kvdb.txt"; }

echo
echo "== Redis ($("$REDIS_SERVER" --version | cut -d' ' -f1-3), load: $REDIS_LOAD)"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=
for _ in $(seq 50); do
    candidate=$((20000 + RANDOM % 20000))
    if port_free "$candidate"; then port=$candidate; break; fi
done
[[ -n $port ]] || { echo "memory.sh: no free port found" >&2; exit 1; }

"$REDIS_SERVER" --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$work" --logfile "$work/redis.log" --daemonize no &
redis_pid=$!
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }
for _ in $(seq 100); do
    [[ $(cli ping 2>/dev/null) == PONG ]] && break
    kill -0 "$redis_pid" 2>/dev/null || { cat "$work/redis.log" >&2; exit 1; }
    sleep 0.1
done
info() { cli info memory | tr -d '\r' | sed -n "s/^$1://p"; }

used_before=$(info used_memory)
rss_before=$(info used_memory_rss)
case $REDIS_LOAD in
pipe)
    # RESP SET commands for keys key:000000000000 .. key:000000999999, values of 100 'x'.
    mawk -v n="$KEYS" 'BEGIN {
        v = sprintf("%100s", ""); gsub(/ /, "x", v)
        for (i = 0; i < n; i++)
            printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$100\r\n%s\r\n", i, v
    }' | cli --pipe >"$work/pipe.log"
    ;;
benchmark)
    redis-benchmark -h 127.0.0.1 -p "$port" -t set -n "$KEYS" -r "$KEYS" -d 100 -P 32 -q >"$work/pipe.log"
    ;;
*)
    echo "memory.sh: REDIS_LOAD must be pipe or benchmark" >&2
    exit 1
    ;;
esac
keys=$(cli dbsize)
used_after=$(info used_memory)
rss_after=$(info used_memory_rss)
cli shutdown nosave >/dev/null 2>&1 || true
wait "$redis_pid" 2>/dev/null || true
redis_pid=

redis_used=$(mawk -v a="$used_after" -v b="$used_before" -v k="$keys" 'BEGIN { printf "%.1f", (a - b) / k }')
redis_rss=$(mawk -v a="$rss_after" -v b="$rss_before" -v k="$keys" 'BEGIN { printf "%.1f", (a - b) / k }')
echo "redis.keys=$keys"
echo "redis.used_memory_bytes_per_key=$redis_used"
echo "redis.used_memory_rss_bytes_per_key=$redis_rss"

echo
echo "== Side by side: bytes per key, 16-byte keys, 100-byte values (target for kvdb: <= 80)"
row() { printf '%-50s %10s %10s\n' "$@"; }
ratio() { mawk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row "" "heap" "RSS"
row "kvdb KeyDir alone (1M inserts)" "$(kvdb keydir.heap_bytes_per_key)" "$(kvdb keydir.rss_bytes_per_key)"
row "kvdb Db after 1M SETs" "$(kvdb db_fill.heap_bytes_per_key)" "$(kvdb db_fill.rss_bytes_per_key)"
row "kvdb Db reopened (recovery)" "$(kvdb db_reopen.heap_bytes_per_key)" "$(kvdb db_reopen.rss_bytes_per_key)"
row "Redis used_memory / used_memory_rss ($keys keys)" "$redis_used" "$redis_rss"
row "kvdb Db / Redis" "$(ratio "$(kvdb db_fill.heap_bytes_per_key)" "$redis_used")" \
    "$(ratio "$(kvdb db_fill.rss_bytes_per_key)" "$redis_rss")"
