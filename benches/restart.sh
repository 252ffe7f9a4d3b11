#!/usr/bin/env bash
# Restart time, kvdb vs Redis, for one data set of N string keys (default 10,000,000).
#
# Keys are key:000000000000 .. (16 bytes), values 100 bytes derived from the key's number (its 12
# digits, then 88 characters of a fixed pseudo-random pool, so no two values are equal and
# none compresses). The RESP stream of N SETs is generated once (mawk) into the bench
# directory and fed to each server with `redis-cli --pipe`; one server runs at a time.
#
# Redis: a redis-server on a free 127.0.0.1 port with a fresh directory, `--appendonly yes
# --appendfsync everysec --aof-use-rdb-preamble no --auto-aof-rewrite-percentage 0 --save ''`,
# so that its AOF is the plain log of the N SETs; after the load, SAVE writes dump.rdb beside it,
# then SHUTDOWN NOSAVE. Each restart starts redis-server on that directory, either as before
# (it loads the AOF) or with `--appendonly no --dbfilename dump.rdb` (it loads the RDB).
# kvdb: `kvdb server --appendfsync everysec` (release build) on a fresh directory, loaded the
# same way, then SHUTDOWN (a graceful shutdown writes the hint files, NNNNNNNNNN.hint beside each
# NNNNNNNNNN.seg). Each restart opens that directory with the hint files present, or after
# deleting every *.hint (recovery then scans every segment). The hint files are kept aside and
# put back before each restart with hints.
#
# Per restart: "seconds" is the server's own figure from its log (Redis: "DB loaded from append
# only file: X seconds" / "DB loaded from disk: X seconds"; kvdb: "N keys loaded in X s", from
# process start to listening); "wall" is the time from launching the process to the first PONG
# (polled every 10 ms over a raw socket; for Redis, which answers -LOADING while it loads,
# INFO persistence is polled for loading:0 first). Every restart checks DBSIZE = N. The four
# kinds of restart take turns within each round; the table gives the median of the rounds. The
# files were just written, so every restart reads from a warm page cache.
# Target: kvdb with hint files opens faster than Redis loads its RDB (ratio < 1).
#
# Usage: benches/restart.sh [--keys N] [--quick] [--rounds R] [--update-doc]
#   --keys N      keys in the data set (default 10000000)
#   --quick       1,000,000 keys
#   --rounds R    restarts of each kind (default 3); the table gives the median
#   --update-doc  also replace the section of docs/PERFORMANCE.md between
#                 <!-- restart-bench:begin --> and <!-- restart-bench:end --> with the table,
#                 the date, a note on the machine and the exact command
#
# Environment: REDIS_SERVER (default redis-server), REDIS_CLI (default redis-cli), BENCH_DIR
# (parent of the data directories, default $TMPDIR or /tmp; must be a real disk, not tmpfs:
# about 600 bytes per key at the peak, 6 GB for 10M keys). Redis needs about 200 bytes of RAM
# per key (2.1 GB for 10M). About 4.5 min for 10M keys on 2 vCPUs, 20 s with --quick, plus the
# release build.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh
export LC_ALL=C # EPOCHREALTIME and printf use '.' for decimals

args=("$@")
keys=10000000
rounds=3
update_doc=false
while (($# > 0)); do
    case $1 in
    --keys)
        keys=${2:?--keys needs a number}
        shift
        ;;
    --quick) keys=1000000 ;;
    --rounds)
        rounds=${2:?--rounds needs a number}
        shift
        ;;
    --update-doc) update_doc=true ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "restart.sh: unknown option $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
[[ $keys =~ ^[1-9][0-9]*$ ]] || { echo "restart.sh: --keys must be a positive integer" >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "restart.sh: --rounds must be a positive integer" >&2; exit 2; }

REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
for tool in "$REDIS_SERVER" "$REDIS_CLI" mawk; do
    command -v "$tool" >/dev/null || { echo "restart.sh: $tool not found (apt-get install redis-server mawk)" >&2; exit 1; }
done

START_TIMEOUT=900 # seconds a server may take to start and load: 10M AOF SETs take ~20 s here
STOP_TIMEOUT=600  # seconds a graceful shutdown may take (kvdb writes its hint files then)

parent=${BENCH_DIR:-${TMPDIR:-/tmp}}
if [[ $(df --output=fstype "$parent" | tail -n 1) == *tmpfs* ]]; then
    echo "restart.sh: $parent is on tmpfs: set BENCH_DIR to a directory on a real disk" >&2
    exit 1
fi
need_kb=$((keys * 600 / 1024))
avail_kb=$(df --output=avail -k "$parent" | tail -n 1 | tr -d ' ')
if ((avail_kb < need_kb)); then
    echo "restart.sh: $parent has $((avail_kb / 1024)) MiB free, $((need_kb / 1024)) MiB needed for $keys keys" >&2
    exit 1
fi

started=$SECONDS
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "restart.sh: building kvdb (release)" >&2
cargo build --release --quiet --bin kvdb
KVDB=target/release/kvdb

work=$(mktemp -d "$parent/kvdb-restart-bench.XXXXXX")
stream=$work/set.resp
redis_dir=$work/redis
kvdb_dir=$work/kvdb
hint_backup=$work/hints
mkdir -p "$redis_dir" "$hint_backup"
server_pid=

cleanup() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait_exit "$server_pid" 60
    fi
    server_pid=
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cli() { "$REDIS_CLI" -h 127.0.0.1 -p "$port" "$@"; }
file_bytes() { find "$@" -type f -printf '%s\n' 2>/dev/null | mawk '{ s += $1 } END { printf "%d", s }'; }
hint_count() { find "$kvdb_dir" -maxdepth 1 -name '*.hint' | wc -l; }

# The RESP of N SETs: *3 $3 SET $16 key:%012d $100 <12 digits + 88 characters of the pool>.
generate() {
    mawk -v n="$keys" 'BEGIN {
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        x = 42; pool = ""
        for (j = 0; j < 1024; j++) { x = (x * 16807) % 2147483647; pool = pool substr(alphabet, x % 64 + 1, 1) }
        for (i = 0; i < n; i++)
            printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$100\r\n%012d%s\r\n", i, i, substr(pool, i % 929 + 1, 88)
    }'
}

# Starts a server and waits until it answers PING. $1 is redis-aof, redis-rdb or kvdb; the
# rest is a label for the log file. Sets server_pid, port, wall (seconds from launch to the
# first PONG), info_wall (Redis: to the first loading:0) and log (the server's log file).
# Retries on a new port if the probed one was taken meanwhile.
start() { # kind label
    local kind=$1 t0 deadline reply
    log=$work/$kind-$2.log
    for _ in 1 2 3; do
        port=$(free_port) || { echo "restart.sh: no free port" >&2; exit 1; }
        : >"$log"
        t0=$EPOCHREALTIME
        case $kind in
        redis-aof)
            "$REDIS_SERVER" --bind 127.0.0.1 --port "$port" --dir "$redis_dir" --logfile "$log" \
                --daemonize no --save '' --appendonly yes --appendfsync everysec \
                --aof-use-rdb-preamble no --auto-aof-rewrite-percentage 0 >/dev/null 2>"$log.stderr" &
            ;;
        redis-rdb)
            "$REDIS_SERVER" --bind 127.0.0.1 --port "$port" --dir "$redis_dir" --logfile "$log" \
                --daemonize no --save '' --appendonly no --dbfilename dump.rdb >/dev/null 2>"$log.stderr" &
            ;;
        kvdb)
            "$KVDB" server --bind 127.0.0.1 --port "$port" --dir "$kvdb_dir" --appendfsync everysec >/dev/null 2>"$log" &
            ;;
        esac
        server_pid=$!
        wall=
        info_wall=
        deadline=$((SECONDS + START_TIMEOUT))
        while ((SECONDS < deadline)); do
            if [[ $kind == redis-* && -z $info_wall ]]; then
                reply=$(cli info persistence 2>/dev/null || true)
                # (not async_loading:0)
                [[ $reply == *$'\nloading:0\r'* ]] && info_wall=$(since "$t0")
            fi
            if [[ $kind == kvdb || -n $info_wall ]] && ping_ok "$port"; then
                wall=$(since "$t0")
                break
            fi
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.01
        done
        [[ -n $wall ]] && return
        if ! kill -0 "$server_pid" 2>/dev/null && cat "$log" "$log.stderr" 2>/dev/null | grep -qiE 'address already in use|cannot listen|could not create server tcp'; then
            wait "$server_pid" 2>/dev/null || true
            server_pid=
            continue # lost the port to someone else: try another
        fi
        break
    done
    echo "restart.sh: $kind did not start within $START_TIMEOUT s:" >&2
    tail -n 20 "$log" >&2
    [[ -s $log.stderr ]] && tail -n 20 "$log.stderr" >&2
    exit 1
}

# SHUTDOWN (Redis: NOSAVE; the AOF is still flushed) and wait for the process to exit. Sets
# stop_s.
stop() { # kind
    local t0=$EPOCHREALTIME
    if [[ $1 == kvdb ]]; then cli shutdown >/dev/null 2>&1 || true; else cli shutdown nosave >/dev/null 2>&1 || true; fi
    wait_exit "$server_pid" "$STOP_TIMEOUT"
    server_pid=
    stop_s=$(since "$t0")
}

check_dbsize() { # who
    local n
    n=$(cli dbsize 2>&1) || true
    [[ $n == "$keys" ]] || { echo "restart.sh: $1 holds $n keys, not $keys" >&2; exit 1; }
}

fill() { # who
    local t0=$EPOCHREALTIME out
    out=$(cli --pipe <"$stream" 2>&1) || { echo "restart.sh: loading $1 failed: $out" >&2; exit 1; }
    [[ $out == *"errors: 0, replies: $keys"* ]] || { echo "restart.sh: loading $1: $out" >&2; exit 1; }
    check_dbsize "$1"
    fill_s=$(since "$t0")
}

# The server's own load time, from its log; empty if the line is missing. Redis writes it just
# before it serves clients, kvdb before it listens.
log_seconds() { # kind
    local pattern
    case $1 in
    redis-aof) pattern='s/.*DB loaded from append only file: \([0-9.]*\) seconds.*/\1/p' ;;
    redis-rdb) pattern='s/.*DB loaded from disk: \([0-9.]*\) seconds.*/\1/p' ;;
    kvdb) pattern='s/.* keys loaded in \([0-9.]*\) s.*/\1/p' ;;
    esac
    sed -n "$pattern" "$log" | tail -n 1
}

rss_mb() { # kind: RSS of the running server in MB (Redis: used_memory_rss / used_memory)
    if [[ $1 == kvdb ]]; then
        sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$server_pid/status" | mawk '{ printf "%.0f MB", $1 * 1024 / 1e6 }'
    else
        cli info memory | tr -d '\r' | mawk -F: '$1 == "used_memory_rss" { r = $2 } $1 == "used_memory" { u = $2 }
            END { printf "%.0f MB (used_memory %.0f MB)", r / 1e6, u / 1e6 }'
    fi
}

# --- Data set, and each server filled once ---

echo "restart.sh: generating $keys SETs into $stream" >&2
t0=$EPOCHREALTIME
generate >"$stream"
echo "restart.sh:   $(since "$t0") s, $(file_bytes "$stream") bytes" >&2

echo "restart.sh: Redis: loading $keys keys" >&2
start redis-aof fill
fill Redis
redis_fill_s=$fill_s
t0=$EPOCHREALTIME
cli save >/dev/null
redis_save_s=$(since "$t0")
stop redis-aof
echo "restart.sh:   load $redis_fill_s s, SAVE $redis_save_s s, shutdown $stop_s s" >&2

echo "restart.sh: kvdb: loading $keys keys" >&2
start kvdb fill
fill kvdb
kvdb_fill_s=$fill_s
stop kvdb
kvdb_stop_s=$stop_s
hints=$(hint_count)
echo "restart.sh:   load $kvdb_fill_s s, shutdown $kvdb_stop_s s; $hints hint file(s), $(find "$kvdb_dir" -maxdepth 1 -name '*.seg' | wc -l) segment(s)" >&2
if ((hints == 0)); then
    echo "restart.sh: NOTE: kvdb wrote no *.hint file at shutdown (hint files not implemented yet?):" >&2
    echo "restart.sh:       measuring the restart without hint files only" >&2
else
    cp "$kvdb_dir"/*.hint "$hint_backup/"
fi
rm -f "$stream"

size_aof=$(file_bytes "$redis_dir/appendonlydir")
size_rdb=$(file_bytes "$redis_dir/dump.rdb")
size_kvdb_all=$(file_bytes "$kvdb_dir")
size_hints=$(file_bytes "$hint_backup")
size_kvdb_nohints=$((size_kvdb_all - size_hints))

# --- Restarts: each kind once per round, in turn ---

kinds="redis-aof redis-rdb kvdb-nohints"
((hints > 0)) && kinds+=" kvdb-hints"
declare -A walls logs rss
for round in $(seq "$rounds"); do
    for kind in $kinds; do
        server=$kind
        case $kind in
        kvdb-nohints)
            server=kvdb
            rm -f "$kvdb_dir"/*.hint
            ;;
        kvdb-hints)
            server=kvdb
            rm -f "$kvdb_dir"/*.hint
            cp "$hint_backup"/*.hint "$kvdb_dir/"
            ;;
        esac
        start "$server" "$kind-$round"
        secs=$(log_seconds "$server")
        check_dbsize "$kind"
        walls[$kind]+=" $wall"
        logs[$kind]+=" ${secs:--}"
        if ((round == 1)); then rss[$kind]=$(rss_mb "$server"); fi
        echo "restart.sh: round $round $kind: wall $wall s${info_wall:+ (loading:0 at $info_wall s)}, log ${secs:-?} s" >&2
        if ((round == 1)) && [[ $server == kvdb ]]; then
            grep -iE 'hint|replay|recover|segment|loaded|warn' "$log" | sed 's/^/restart.sh:   | /' >&2 || true
        fi
        stop "$server"
    done
done

median() { # numbers ("-" is skipped) -> median, or "-"
    printf '%s\n' "$@" | { grep -v '^-$' || true; } | sort -g | mawk '{ v[NR] = $1 }
        END { if (!NR) print "-"; else if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
med() { # walls|logs kind -> median of that kind's rounds
    local -n list=$1
    local -a values
    read -ra values <<<"${list[$2]}"
    median "${values[@]}"
}
mb() { mawk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1e6 }'; }
ratio() { mawk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

row() { # kind label size
    local w l
    w=$(med walls "$1")
    l=$(med logs "$1")
    printf '| %s | %s | %s | %s | %s | %s |\n' "$2" "$l" "$w" "$3" "${rss[$1]}" \
        "$(tr ' ' '\n' <<<"${walls[$1]# }" | paste -sd ' ')"
}
table() {
    local n
    n=$(mawk -v k="$keys" 'BEGIN { s = sprintf("%d", k); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }; print s o }')
    echo "| restart with $n keys (16 B keys, 100 B values) | seconds (server's log) | wall to first PING (s) | data on disk | RSS after load | wall per round (s) |"
    echo "| --- | ---: | ---: | ---: | ---: | --- |"
    row redis-aof "Redis, AOF ($n SETs, no RDB preamble)" "$(mb "$size_aof")"
    row redis-rdb "Redis, RDB (dump.rdb)" "$(mb "$size_rdb")"
    row kvdb-nohints "kvdb without hint files (scans every segment)" "$(mb "$size_kvdb_nohints")"
    if ((hints > 0)); then
        row kvdb-hints "kvdb with hint files ($hints)" "$(mb "$size_kvdb_all") ($(mb "$size_hints") of hints)"
    else
        echo "| kvdb with hint files | - | - | - | - | no .hint file written at shutdown |"
    fi
    echo
    local rdb_wall rdb_log
    rdb_wall=$(med walls redis-rdb)
    rdb_log=$(med logs redis-rdb)
    if ((hints > 0)); then
        echo "kvdb with hint files / Redis RDB: **$(ratio "$(med walls kvdb-hints)" "$rdb_wall")** wall to first PING, $(ratio "$(med logs kvdb-hints)" "$rdb_log") by the logs' seconds (target: below 1)."
    else
        echo "kvdb with hint files / Redis RDB: not measured (no hint files)."
    fi
    echo "kvdb without hint files / Redis RDB: $(ratio "$(med walls kvdb-nohints)" "$rdb_wall") wall, $(ratio "$(med logs kvdb-nohints)" "$rdb_log") by the logs."
}

elapsed=$((SECONDS - started))
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
ram=$(mawk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { printf "%.1f GiB RAM (%.1f GiB available at the end)", t / 1048576, a / 1048576 }' /proc/meminfo)
disk=$(df --output=source,fstype "$parent" | tail -n 1 | tr -s ' ')
command="benches/restart.sh${args[*]:+ ${args[*]}}"
note() {
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`$command\` ($elapsed s):"
    echo "kvdb $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (with uncommitted changes in src/)'), $("$REDIS_SERVER" --version | cut -d' ' -f1-3);"
    echo "$(nproc) x ${cpu:-unknown CPU}, $ram, Linux $(uname -r); data directories on $disk;"
    echo "load average before the run: $load_before. Median of $rounds restart(s) of each kind, taking turns,"
    echo "warm page cache. Filling took $redis_fill_s s (Redis) and $kvdb_fill_s s (kvdb) through \`redis-cli --pipe\`;"
    echo "Redis's SAVE took $redis_save_s s, kvdb's first graceful shutdown $kvdb_stop_s s."
}

section=$work/section.md
{ table; echo; note; } >"$section"
echo
cat "$section"

if $update_doc; then
    doc=docs/PERFORMANCE.md
    begin="<!-- restart-bench:begin -->"
    end="<!-- restart-bench:end -->"
    if ! grep -qxF "$begin" "$doc" || ! grep -qxF "$end" "$doc"; then
        echo "restart.sh: $doc has no $begin ... $end section: not updated (add the markers, then rerun)" >&2
        exit 0
    fi
    mawk -v begin="$begin" -v end="$end" -v section="$section" '
        $0 == begin { print; print ""; while ((getline line < section) > 0) print line; print ""; skip = 1; next }
        $0 == end { skip = 0 }
        !skip' "$doc" >"$work/doc.md"
    cat "$work/doc.md" >"$doc"
    echo "restart.sh: updated $doc" >&2
fi
