#!/usr/bin/env bash
# RAM per element of one big collection, kvdb vs Redis: a hash of 1,000,000 fields with 100-byte
# values (with --all, also a set and a sorted set of 1,000,000 members).
#
# Element names are redis-benchmark's: element:000000000000 .. element:000000999999 (20 bytes).
# Hash values are 100 'x' bytes; sorted-set scores are the element's number. Each server is
# loaded through `redis-cli --pipe` with the same RESP, 1,000 elements per HSET / SADD / ZADD.
#
# kvdb: `kvdb server` (release build, --appendfsync everysec) on a fresh directory; per element:
# growth of the server process's VmRSS and RssAnon (/proc/PID/status; RssAnon leaves out file
# pages such as mapped segments) from just after start to after the load, divided by the
# element count. Then the server is stopped and started again on the same directory, and the
# same is measured after recovery (growth over the fresh server's figure). kvdb keeps field
# names and record locations in RAM and the values on disk (see src/collection/mod.rs).
#
# Redis: a throwaway redis-server on 127.0.0.1 (a free port, no RDB, no AOF); per element:
# growth of INFO memory's used_memory (and used_memory_rss) divided by the element count.
#
# Usage: benches/hash_memory.sh [--all]   (about 15 s for the hash, 50 s with --all, plus the build)
# Environment: REDIS_SERVER (default redis-server), ELEMENTS (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."

ELEMENTS=${ELEMENTS:-1000000}
BATCH=1000
VALUE_LEN=100
REDIS_SERVER=${REDIS_SERVER:-redis-server}
types="hash"
case ${1:-} in
"") ;;
--all) types="hash set zset" ;;
-h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "hash_memory.sh: unknown option $1 (see --help)" >&2
    exit 2
    ;;
esac

for tool in "$REDIS_SERVER" redis-cli mawk; do
    command -v "$tool" >/dev/null || { echo "hash_memory.sh: $tool not found (apt-get install redis-server mawk)" >&2; exit 1; }
done

echo "hash_memory.sh: building kvdb (release)" >&2
cargo build --release --quiet --bin kvdb
KVDB=target/release/kvdb

work=$(mktemp -d "${TMPDIR:-/tmp}/kvdb-hash-memory.XXXXXX")
kvdb_pid=
redis_pid=
stop() { # pid: SIGTERM, wait for it
    if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
cleanup() {
    stop "$kvdb_pid"
    stop "$redis_pid"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null && return
    local candidate
    for _ in $(seq 100); do
        candidate=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    return 1
}

# The RESP that builds the collection of type $1 under key "big".
load_resp() {
    mawk -v type="$1" -v n="$ELEMENTS" -v batch="$BATCH" -v vlen="$VALUE_LEN" 'BEGIN {
        v = sprintf("%" vlen "s", ""); gsub(/ /, "x", v)
        cmd = type == "hash" ? "HSET" : type == "set" ? "SADD" : "ZADD"
        per = type == "set" ? 1 : 2
        for (first = 0; first < n; first += batch) {
            last = first + batch > n ? n : first + batch
            printf "*%d\r\n$4\r\n%s\r\n$3\r\nbig\r\n", 2 + per * (last - first), cmd
            for (i = first; i < last; i++) {
                if (type == "zset") printf "$%d\r\n%d\r\n", length(i ""), i
                printf "$20\r\nelement:%012d\r\n", i
                if (type == "hash") printf "$%d\r\n%s\r\n", vlen, v
            }
        }
    }'
}

# Loads the collection of type $1 into the server on port $2 and checks its size.
load() {
    local out len
    out=$(load_resp "$1" | redis-cli -h 127.0.0.1 -p "$2" --pipe 2>&1) || {
        echo "hash_memory.sh: loading failed: $out" >&2
        exit 1
    }
    case $1 in
    hash) len=$(redis-cli -h 127.0.0.1 -p "$2" HLEN big) ;;
    set) len=$(redis-cli -h 127.0.0.1 -p "$2" SCARD big) ;;
    zset) len=$(redis-cli -h 127.0.0.1 -p "$2" ZCARD big) ;;
    esac
    [[ $len == "$ELEMENTS" ]] || { echo "hash_memory.sh: $len elements after loading, not $ELEMENTS: $out" >&2; exit 1; }
}

start_kvdb() { # dir -> sets kvdb_pid, kvdb_port
    local log=$work/kvdb.log
    : >"$log"
    "$KVDB" server --port 0 --dir "$1" 2>"$log" &
    kvdb_pid=$!
    for _ in $(seq 600); do
        kvdb_port=$(sed -n 's/.*ready to accept connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
        [[ -n $kvdb_port ]] && return
        kill -0 "$kvdb_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "hash_memory.sh: kvdb did not start:" >&2
    cat "$log" >&2
    exit 1
}

kib() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
per_element() { mawk -v a="$1" -v b="$2" -v n="$ELEMENTS" -v unit="$3" 'BEGIN { printf "%.1f", (a - b) * unit / n }'; }

row() { printf '%-52s %12s %12s\n' "$@"; }
now() { date +%s.%N; }
since() { mawk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.1f", t1 - t0 }'; }
ratio() { mawk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

for type in $types; do
    echo
    echo "== $type of $ELEMENTS elements ($([[ $type == hash ]] && echo "$VALUE_LEN-byte values, ")20-byte names)"

    # kvdb: fill, then reopen.
    dir=$work/kvdb-$type
    start_kvdb "$dir"
    rss0=$(kib "$kvdb_pid" VmRSS)
    anon0=$(kib "$kvdb_pid" RssAnon)
    t0=$(now)
    load "$type" "$kvdb_port"
    fill_s=$(since "$t0")
    rss1=$(kib "$kvdb_pid" VmRSS)
    anon1=$(kib "$kvdb_pid" RssAnon)
    stop "$kvdb_pid"
    log_bytes=$(du -sb "$dir" | cut -f1)
    t0=$(now)
    start_kvdb "$dir"
    reopen_s=$(since "$t0")
    rss2=$(kib "$kvdb_pid" VmRSS)
    anon2=$(kib "$kvdb_pid" RssAnon)
    stop "$kvdb_pid"
    kvdb_pid=

    # Redis.
    redis_port=$(free_port)
    "$REDIS_SERVER" --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
        --dir "$work" --logfile "$work/redis.log" --daemonize no &
    redis_pid=$!
    for _ in $(seq 100); do
        [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] && break
        kill -0 "$redis_pid" 2>/dev/null || { cat "$work/redis.log" >&2; exit 1; }
        sleep 0.1
    done
    info() { redis-cli -p "$redis_port" info memory | tr -d '\r' | sed -n "s/^$1://p"; }
    used0=$(info used_memory)
    urss0=$(info used_memory_rss)
    load "$type" "$redis_port"
    used1=$(info used_memory)
    urss1=$(info used_memory_rss)
    encoding=$(redis-cli -p "$redis_port" object encoding big)
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=

    kvdb_fill=$(per_element "$rss1" "$rss0" 1024)
    kvdb_fill_anon=$(per_element "$anon1" "$anon0" 1024)
    kvdb_reopen=$(per_element "$rss2" "$rss0" 1024)
    kvdb_reopen_anon=$(per_element "$anon2" "$anon0" 1024)
    redis_used=$(per_element "$used1" "$used0" 1)
    redis_rss=$(per_element "$urss1" "$urss0" 1)
    echo "kvdb.$type.fill_rss_bytes_per_element=$kvdb_fill"
    echo "kvdb.$type.fill_rss_anon_bytes_per_element=$kvdb_fill_anon"
    echo "kvdb.$type.reopen_rss_bytes_per_element=$kvdb_reopen"
    echo "kvdb.$type.reopen_rss_anon_bytes_per_element=$kvdb_reopen_anon"
    echo "kvdb.$type.log_bytes=$log_bytes"
    echo "kvdb.$type.fill_seconds=$fill_s"
    echo "kvdb.$type.reopen_seconds=$reopen_s"
    echo "redis.$type.encoding=$encoding"
    echo "redis.$type.used_memory_bytes_per_element=$redis_used"
    echo "redis.$type.used_memory_rss_bytes_per_element=$redis_rss"
    echo
    row "bytes per element" "RSS" "anon / used"
    row "kvdb server after the load" "$kvdb_fill" "$kvdb_fill_anon"
    row "kvdb server restarted (recovery)" "$kvdb_reopen" "$kvdb_reopen_anon"
    row "Redis ($encoding): used_memory_rss / used_memory" "$redis_rss" "$redis_used"
    row "kvdb after the load / Redis" "$(ratio "$kvdb_fill" "$redis_rss")" "$(ratio "$kvdb_fill_anon" "$redis_used")"
    row "kvdb restarted / Redis" "$(ratio "$kvdb_reopen" "$redis_rss")" "$(ratio "$kvdb_reopen_anon" "$redis_used")"
done
