#!/usr/bin/env bash
# Compaction, kvdb vs Redis's AOF rewrite: space amplification, client latency while it runs,
# and its throughput against the disk's sequential write bandwidth.
#
# Data set: K string keys key:000000000000 .. (16 bytes, the names redis-benchmark -r K uses),
# 100-byte values; filled once through `redis-cli --pipe` (values derived from the key's number,
# none compresses), then overwritten at random with
# `redis-benchmark -t set -r K -d 100 -P 16 -c 50 -n M`, whose values are random too.
# One server runs at a time, on a free 127.0.0.1 port, `appendfsync everysec`:
#   kvdb:  `kvdb server --config FILE` (release build); in a kvdb record a key of 16 bytes and a
#          value of 100 take 151 bytes, so live data is 151 x K bytes.
#   Redis: redis-server `--appendonly yes --aof-use-rdb-preamble yes --save ''`,
#          `--auto-aof-rewrite-percentage 100 --auto-aof-rewrite-min-size 64mb` (its defaults).
#
# 1. Space amplification under a steady random-overwrite workload, default thresholds
#    (kvdb: `compaction-dead-percentage 50`, `compaction-min-dead-bytes` 64 MiB,
#    `segment-size` 128 MiB). After the fill, M = 3K overwrites while INFO persistence and the
#    data directory are sampled every second; then, once no compaction has run for 3 s (the
#    "settled" column), BGREWRITEAOF and a wait for aof_rewrites to grow and
#    aof_rewrite_in_progress to be 0. kvdb: kvdb_disk_bytes / kvdb_live_bytes, and the files'
#    apparent size (as `du -sb`) / kvdb_live_bytes, segments only (*.seg and a compaction's
#    *.seg.tmp) and the whole directory (hint files too). Redis: the files of its data
#    directory (appendonlydir, and a rewrite's temp file) / the size of the AOF that the final
#    BGREWRITEAOF makes (its RDB-preamble base file). Target for kvdb: at most 1.5, and about 1.0
#    right after a full compaction.
# 2. Client latency during a compaction: `redis-benchmark -P 1 -c 50 -r K -d 100 -n N --csv`,
#    -t set then -t get, reporting p50/p99/max in ms. kvdb restarts on the same data with
#    `auto-compaction no` and takes K more random overwrites (the log is then about 2x live,
#    half of it dead: 1.5 GB at K = 5M); a run before the compaction, then BGREWRITEAOF and the
#    same run at once. INFO persistence is polled every 0.1 s in both runs (the same load);
#    the polls give when the compaction ended, hence how much of each run overlapped it.
#    Items 1 and 2 run with kvdb's default pacing (32 MiB/s, raised to 5x the clients' write
#    rate); then again with `compaction-rate-limit 0`, full speed (after K more overwrites). Redis: the same on
#    its data set, `auto-aof-rewrite-percentage 0` (set with CONFIG SET). Target for kvdb: p99
#    during / p99 before within 2x.
# 3. Compaction throughput: the time from BGREWRITEAOF to the end of the rewrite (polled every
#    0.05-0.1 s), with the bytes read (kvdb_disk_bytes before) and written (after); the runs of
#    1 and 2, plus `kvdb compact` (server stopped, after K more overwrites). Redis: its
#    rewrites' times and the size of the AOF they wrote. Against `dd if=/dev/zero bs=1M
#    oflag=direct` and `conv=fdatasync` on the same file system (1 GiB; 256 MiB with --quick).
#
# Usage: benches/compaction.sh [--quick] [--keys K] [--update-doc]
#   --keys K      keys in the data set (default 5000000: 755 MB live in kvdb). Below 5000000,
#                 kvdb's segment-size and compaction-min-dead-bytes and Redis's
#                 auto-aof-rewrite-min-size are scaled down by K / 5000000, so that the data
#                 set keeps its size against them (the note under the tables says so)
#   --quick       K = 500000 (a tenth, thresholds scaled), latency runs of 15000 requests and a
#                 256 MiB dd: a few minutes, to try the script, not to quote
#   --update-doc  also replace the section of docs/PERFORMANCE.md between
#                 <!-- compaction-bench:begin --> and <!-- compaction-bench:end --> with the
#                 tables, the date, a note on the machine and the exact command
#
# Environment: REDIS_SERVER (default redis-server), REDIS_CLI (default redis-cli),
# REDIS_BENCHMARK (default redis-benchmark), BENCH_DIR (parent of the data directories,
# default $TMPDIR or /tmp; must be a real disk, not tmpfs; about 1 KB per key at the peak,
# plus the dd file). Redis needs about 250 bytes of RAM per key (1.3 GB at 5M).
# About 10 minutes at 5M keys on 2 busy vCPUs, 2 with --quick, plus the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

args=("$@")
update_doc=false
quick=false
keys=
FULL_KEYS=5000000
while (($# > 0)); do
    case $1 in
    --update-doc) update_doc=true ;;
    --quick) quick=true ;;
    --keys)
        keys=${2:?--keys needs a number}
        shift
        ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "compaction.sh: unknown option $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
if [[ -z $keys ]]; then
    if $quick; then keys=$((FULL_KEYS / 10)); else keys=$FULL_KEYS; fi
fi
if ! [[ $keys =~ ^[1-9][0-9]*$ ]] || ((keys < 10000)); then
    echo "compaction.sh: --keys must be an integer >= 10000" >&2
    exit 2
fi

REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
REDIS_BENCHMARK=${REDIS_BENCHMARK:-redis-benchmark}
for tool in "$REDIS_SERVER" "$REDIS_CLI" "$REDIS_BENCHMARK" mawk timeout dd; do
    command -v "$tool" >/dev/null || { echo "compaction.sh: $tool not found (apt-get install redis-server mawk)" >&2; exit 1; }
done

# --- Sizes, thresholds and time limits ---

CLIENTS=50
VALUE=100
RECORD=151                     # bytes of a kvdb record with a 16-byte key and a 100-byte value
OVERWRITE_1=$((3 * keys))      # item 1: random overwrites after the fill
OVERWRITE_2=$keys              # item 2: overwrites that make the dead half before each compaction
LAT_N=$((keys * 3 / 100))      # requests per latency run: about 2 s at -P 1 here
((LAT_N >= 10000)) || LAT_N=10000
RATE_LIMIT=0                   # compaction-rate-limit of the second latency pair: none (full speed)
DD_MIB=1024
$quick && DD_MIB=256
SEGMENT_SIZE=134217728         # kvdb's defaults, and Redis's auto-aof-rewrite-min-size
MIN_DEAD=67108864
REDIS_MIN_SIZE=67108864
scaled=false
if ((keys < FULL_KEYS)); then
    scaled=true
    SEGMENT_SIZE=$((SEGMENT_SIZE * keys / FULL_KEYS))
    MIN_DEAD=$((MIN_DEAD * keys / FULL_KEYS))
    REDIS_MIN_SIZE=$((REDIS_MIN_SIZE * keys / FULL_KEYS))
fi
START_TIMEOUT=900     # seconds a server may take to open or load its data
STOP_TIMEOUT=600      # seconds a graceful shutdown may take (kvdb writes its hint files then)
BENCH_TIMEOUT=1800    # seconds any one fill or redis-benchmark run may take
REWRITE_TIMEOUT=1800  # seconds a BGREWRITEAOF (or kvdb compact) may take
SETTLE_TIMEOUT=300    # seconds to wait for background compactions or rewrites to stop

parent=${BENCH_DIR:-${TMPDIR:-/tmp}}
if [[ $(df --output=fstype "$parent" | tail -n 1) == *tmpfs* ]]; then
    echo "compaction.sh: $parent is on tmpfs: set BENCH_DIR to a directory on a real disk" >&2
    exit 1
fi
need_kb=$((keys * 1000 / 1024 + DD_MIB * 1024))
avail_kb=$(df --output=avail -k "$parent" | tail -n 1 | tr -d ' ')
if ((avail_kb < need_kb)); then
    echo "compaction.sh: $parent has $((avail_kb / 1024)) MiB free, $((need_kb / 1024)) MiB needed for $keys keys" >&2
    exit 1
fi
need_ram_kb=$((keys * 250 / 1024))
avail_ram_kb=$(mawk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
if ((avail_ram_kb < need_ram_kb)); then
    echo "compaction.sh: $((avail_ram_kb / 1024)) MiB of RAM available, Redis needs about $((need_ram_kb / 1024)) MiB for $keys keys" >&2
    exit 1
fi

started=$SECONDS
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "compaction.sh: building kvdb (release)" >&2
cargo build --release --quiet --bin kvdb
KVDB=target/release/kvdb

work=$(mktemp -d "$parent/kvdb-compaction-bench.XXXXXX")
kvdb_dir=$work/kvdb
redis_dir=$work/redis
server_pid=
server_kind=
port=
bg_pid= # a background redis-benchmark or INFO poller
log=

stop_bg() {
    if [[ -n $bg_pid ]] && kill -0 "$bg_pid" 2>/dev/null; then
        kill -TERM "$bg_pid" 2>/dev/null || true
        wait_exit "$bg_pid" 10
    fi
    bg_pid=
}
cleanup() {
    stop_bg
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait_exit "$server_pid" 60
    fi
    server_pid=
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "compaction.sh: $*" >&2
    if [[ -n $log && -s $log ]]; then
        echo "compaction.sh: last lines of $log:" >&2
        tail -n 20 "$log" >&2
    fi
    exit 1
}

cli() { timeout 60 "$REDIS_CLI" -h 127.0.0.1 -p "$port" "$@"; }
# INFO section field... -> the fields' values on one line, "-" for each missing one (or all,
# when the server did not answer within 60 s).
info_fields() {
    local section=$1 text
    shift
    text=$(cli info "$section" 2>/dev/null | tr -d '\r') || text=
    mawk -F: -v want="$*" 'BEGIN { n = split(want, w, " ") } { v[$1] = $2 }
        END { for (i = 1; i <= n; i++) printf "%s%s", (w[i] in v ? v[w[i]] : "-"), (i < n ? " " : "\n") }' <<<"$text"
}
# Apparent size (as du -sb) of the files under a directory, optionally only those named $2..
bytes_of() { # dir [find name tests...]
    local dir=$1
    shift
    { find "$dir" -type f "$@" -printf '%s\n' 2>/dev/null || true; } | mawk '{ s += $1 } END { printf "%d\n", s }'
}
seg_bytes() { bytes_of "$kvdb_dir" \( -name '*.seg' -o -name '*.seg.tmp' \); }
mb() { mawk -v b="$1" 'BEGIN { if (b == "-" || b == "") print "-"; else printf "%.0f MB", b / 1e6 }'; }
div() { mawk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "" || b == 0) print "-"; else printf f, a / b }'; }
thousands() { mawk -v k="$1" 'BEGIN { s = sprintf("%d", k); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }; print s o }'; }

# --- Servers ---

write_conf() { # file auto-compaction(yes|no) rate-limit("default": kvdb's own)
    {
        echo "appendfsync everysec"
        echo "auto-compaction $2"
        if [[ $3 != default ]]; then echo "compaction-rate-limit $3"; fi
        if $scaled; then
            echo "segment-size $SEGMENT_SIZE"
            echo "compaction-min-dead-bytes $MIN_DEAD"
        fi
    } >"$1"
}

start_kvdb() { # config label
    local deadline
    log=$work/kvdb-$2.log
    "$KVDB" server --bind 127.0.0.1 --port 0 --dir "$kvdb_dir" --config "$1" >/dev/null 2>"$log" &
    server_pid=$!
    server_kind=kvdb
    port=
    deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        port=$(sed -n 's/.*ready to accept connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
        [[ -n $port ]] && ping_ok "$port" && return
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    die "kvdb did not start within $START_TIMEOUT s"
}

start_redis() { # label
    local deadline reply
    log=$work/redis-$1.log
    mkdir -p "$redis_dir"
    for _ in 1 2 3; do
        port=$(free_port) || die "no free port"
        : >"$log"
        "$REDIS_SERVER" --bind 127.0.0.1 --port "$port" --dir "$redis_dir" --logfile "$log" \
            --daemonize no --save '' --appendonly yes --appendfsync everysec \
            --aof-use-rdb-preamble yes --auto-aof-rewrite-percentage 100 \
            --auto-aof-rewrite-min-size "$REDIS_MIN_SIZE" >/dev/null 2>"$log.stderr" &
        server_pid=$!
        server_kind=redis
        deadline=$((SECONDS + START_TIMEOUT))
        while ((SECONDS < deadline)); do
            reply=$(info_fields persistence loading)
            [[ $reply == 0 ]] && return
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.05
        done
        if ! kill -0 "$server_pid" 2>/dev/null && cat "$log" "$log.stderr" 2>/dev/null | grep -qiE 'address already in use|could not create server tcp'; then
            wait "$server_pid" 2>/dev/null || true
            server_pid=
            continue # lost the port to someone else: try another
        fi
        break
    done
    die "redis-server did not start within $START_TIMEOUT s"
}

# SHUTDOWN (Redis: NOSAVE; the AOF is still flushed) and wait for the process to exit.
stop_server() {
    local t0=$EPOCHREALTIME
    if [[ $server_kind == kvdb ]]; then cli shutdown >/dev/null 2>&1 || true; else cli shutdown nosave >/dev/null 2>&1 || true; fi
    wait_exit "$server_pid" "$STOP_TIMEOUT"
    server_pid=
    echo "compaction.sh:   $server_kind stopped in $(since "$t0") s" >&2
}

# --- Workloads ---

# The RESP of K SETs: *3 $3 SET $16 key:%012d $100 <12 digits + 88 characters of the pool>.
generate() {
    mawk -v n="$keys" 'BEGIN {
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        x = 42; pool = ""
        for (j = 0; j < 1024; j++) { x = (x * 16807) % 2147483647; pool = pool substr(alphabet, x % 64 + 1, 1) }
        for (i = 0; i < n; i++)
            printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$100\r\n%012d%s\r\n", i, i, substr(pool, i % 929 + 1, 88)
    }'
}

fill() {
    local t0=$EPOCHREALTIME out n
    out=$(generate | timeout "$BENCH_TIMEOUT" "$REDIS_CLI" -h 127.0.0.1 -p "$port" --pipe 2>&1) ||
        die "loading $server_kind failed: $out"
    [[ $out == *"errors: 0, replies: $keys"* ]] || die "loading $server_kind: $out"
    n=$(cli dbsize 2>&1) || true
    [[ $n == "$keys" ]] || die "$server_kind holds $n keys after the fill, not $keys"
    echo "compaction.sh:   filled $keys keys in $(since "$t0") s" >&2
}

# Random overwrites with redis-benchmark -P 16 (in the background, so that the caller can
# sample meanwhile: it waits with overwrite_wait).
overwrite_start() { # requests
    timeout "$BENCH_TIMEOUT" "$REDIS_BENCHMARK" -h 127.0.0.1 -p "$port" -t set -r "$keys" -d "$VALUE" \
        -P 16 -c "$CLIENTS" -n "$1" --csv </dev/null >"$work/overwrite.csv" 2>"$work/overwrite.err" &
    bg_pid=$!
    overwrite_t0=$EPOCHREALTIME
}
overwrite_wait() {
    local rc=0
    wait "$bg_pid" || rc=$?
    bg_pid=
    ((rc == 0)) || die "redis-benchmark -t set against $server_kind failed (status $rc): $(cat "$work/overwrite.err")"
    overwrite_rps=$(tr -d '"' <"$work/overwrite.csv" | mawk -F, '$1 == "SET" { printf "%.0f", $2 }')
    echo "compaction.sh:   overwrites done in $(since "$overwrite_t0") s (${overwrite_rps:-?} SET/s)" >&2
}
overwrite() { # requests
    overwrite_start "$1"
    overwrite_wait
}

# One line of the sampled state, for item 1.
#   kvdb:  time disk live dead segments compactions seg_files dir_files
#   Redis: time dir_files aof_rewrites in_progress
sample() {
    local t=$EPOCHREALTIME f
    if [[ $server_kind == kvdb ]]; then
        f=$(info_fields persistence kvdb_disk_bytes kvdb_live_bytes kvdb_dead_bytes kvdb_segments kvdb_compactions)
        echo "$t $f $(seg_bytes) $(bytes_of "$kvdb_dir")"
    else
        f=$(info_fields persistence aof_rewrites aof_rewrite_in_progress)
        echo "$t $(bytes_of "$redis_dir") $f"
    fi
}

# Samples every second until the background redis-benchmark exits.
sample_during_overwrite() { # file
    local deadline=$((SECONDS + BENCH_TIMEOUT + 60))
    while kill -0 "$bg_pid" 2>/dev/null && ((SECONDS < deadline)); do
        sample >>"$1"
        sleep 1
    done
    overwrite_wait
}

# Waits until background work stops: kvdb, kvdb_compactions unchanged over 3 s; Redis, no
# AOF rewrite in progress or scheduled. Samples into $1 meanwhile.
settle() { # file
    local deadline=$((SECONDS + SETTLE_TIMEOUT)) last='' same=0 line c
    while ((SECONDS < deadline)); do
        line=$(sample)
        echo "$line" >>"$1"
        if [[ $server_kind == kvdb ]]; then
            c=$(cut -d' ' -f6 <<<"$line")
            if [[ $c == "$last" ]]; then same=$((same + 1)); else same=0; fi
            last=$c
            ((same >= 3)) && return
        else
            [[ $(info_fields persistence aof_rewrite_in_progress aof_rewrite_scheduled) == "0 0" ]] && return
        fi
        sleep 1
    done
    echo "compaction.sh: NOTE: $server_kind still compacting or rewriting after $SETTLE_TIMEOUT s" >&2
}

# Sends BGREWRITEAOF and records rewrite_t0, rewrites_before. The caller waits with
# rewrite_wait.
rewrite_start() {
    local reply deadline=$((SECONDS + SETTLE_TIMEOUT))
    while [[ $(info_fields persistence aof_rewrite_in_progress) != 0 ]] && ((SECONDS < deadline)); do sleep 0.1; done
    rewrites_before=$(info_fields persistence aof_rewrites)
    [[ $rewrites_before =~ ^[0-9]+$ ]] || die "$server_kind: no aof_rewrites in INFO persistence"
    if [[ $server_kind == kvdb ]]; then
        rewrite_disk_before=$(info_fields persistence kvdb_disk_bytes)
    fi
    log_lines_before=$(wc -l <"$log")
    rewrite_t0=$EPOCHREALTIME
    reply=$(cli bgrewriteaof 2>&1) || true
    [[ $reply == *"rewriting started"* || $reply == *"rewriting scheduled"* ]] ||
        die "$server_kind: BGREWRITEAOF replied: $reply"
}
# Polls every 0.05 s until aof_rewrites has grown and no rewrite is in progress; sets
# rewrite_s (seconds since BGREWRITEAOF was sent) and rewrite_t1, and for kvdb rewrite_read,
# rewrite_written and rewrite_runs from its log lines ("compacted N segment(s) into F: R bytes
# read, W written, ...").
rewrite_wait() {
    local deadline=$((SECONDS + REWRITE_TIMEOUT)) f n busy status
    while ((SECONDS < deadline)); do
        f=$(info_fields persistence aof_rewrites aof_rewrite_in_progress aof_last_bgrewrite_status)
        read -r n busy status <<<"$f"
        if [[ $n =~ ^[0-9]+$ ]] && ((n > rewrites_before)) && [[ $busy == 0 ]]; then
            rewrite_t1=$EPOCHREALTIME
            rewrite_s=$(mawk -v a="$rewrite_t0" -v b="$rewrite_t1" 'BEGIN { printf "%.2f", b - a }')
            [[ $status == ok ]] || die "$server_kind: the rewrite failed: $f"
            if [[ $server_kind == kvdb ]]; then
                read -r rewrite_read rewrite_written rewrite_runs < <(tail -n +"$((log_lines_before + 1))" "$log" |
                    mawk '/compacted .* bytes read, / { sub(/.*: /, ""); r += $1; w += $4; n++ }
                        END { if (n) printf "%d %d %d\n", r, w, n; else print "- - 0" }')
                if [[ $rewrite_read == - ]]; then
                    echo "compaction.sh: NOTE: no 'compacted' line in kvdb's log for this rewrite: bytes read from INFO" >&2
                    rewrite_read=$rewrite_disk_before
                    rewrite_written=$(info_fields persistence kvdb_disk_bytes)
                fi
            fi
            return
        fi
        sleep 0.05
    done
    die "$server_kind: BGREWRITEAOF not done after $REWRITE_TIMEOUT s: $f"
}

# Redis deletes the files a rewrite replaced in a background thread: waits (up to 30 s) until
# appendonlydir holds only the manifest, one base and one incr file.
redis_settle_files() {
    local deadline=$((SECONDS + 30))
    while (($(find "$redis_dir" -type f | wc -l) > 3)) && ((SECONDS < deadline)); do sleep 0.1; done
}
redis_base_bytes() { bytes_of "$redis_dir" -name '*.base.*'; }

# --- Item 2: latency runs ---

# Polls INFO persistence every 0.1 s into $1 (time of the reply, in_progress, rewrites) until
# killed; runs
# during both latency runs of a pair, so that both carry the same extra load.
poller() { # file
    local f
    while :; do
        f=$(info_fields persistence aof_rewrite_in_progress aof_rewrites)
        echo "$EPOCHREALTIME $f" >>"$1"
        sleep 0.1
    done
}

# One latency run: -t set, then -t get. Sets lat[LABEL,TEST] = "rps p50 p99 max t0 t1".
declare -A lat
latency_run() { # label
    local test out=$work/lat.csv t0 t1 row
    for test in set get; do
        t0=$EPOCHREALTIME
        timeout "$BENCH_TIMEOUT" "$REDIS_BENCHMARK" -h 127.0.0.1 -p "$port" -t "$test" -r "$keys" \
            -d "$VALUE" -P 1 -c "$CLIENTS" -n "$LAT_N" --csv </dev/null >"$out" 2>"$work/lat.err" ||
            die "redis-benchmark -t $test against $server_kind failed: $(cat "$work/lat.err")"
        t1=$EPOCHREALTIME
        # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        row=$(tr -d '"' <"$out" | mawk -F, 'NR > 1 && NF >= 8 { print $2, $5, $7, $8 }')
        [[ -n $row ]] || die "could not parse redis-benchmark's CSV: $(cat "$out" "$work/lat.err")"
        lat[$1,$test]="$row $t0 $t1"
        echo "compaction.sh:   $1 ${test^^}: rps p50 p99 max = ${row}" >&2
    done
}

# A pair: a run with no compaction, then BGREWRITEAOF and the same run at once. Sets, under
# LABEL: the rewrite's time and bytes, and when it ended (from the poller).
declare -A pair
latency_pair() { # label
    local polls=$work/polls-$1.txt end first
    : >"$polls"
    poller "$polls" &
    bg_pid=$!
    latency_run "$1,before"
    stop_bg
    : >"$polls"
    poller "$polls" &
    bg_pid=$!
    rewrite_start
    latency_run "$1,during"
    rewrite_wait
    stop_bg
    # The end of the rewrite: the first poll that saw it done, else when rewrite_wait did (which
    # starts polling only after the runs).
    end=$(mawk -v n="$rewrites_before" -v t0="$rewrite_t0" '$1 > t0 && $2 == 0 && $3 > n { print $1; exit }' "$polls")
    first=$(mawk -v t0="$rewrite_t0" '$1 > t0 && $2 != "-" { print $2; exit }' "$polls")
    pair[$1,end]=${end:-$rewrite_t1}
    pair[$1,first_poll]=${first:--}
    pair[$1,s]=$(mawk -v a="$rewrite_t0" -v b="${pair[$1,end]}" 'BEGIN { printf "%.2f", b - a }')
    if [[ $server_kind == kvdb ]]; then
        pair[$1,in]=$rewrite_read
        pair[$1,out]=$rewrite_written
        pair[$1,runs]=$rewrite_runs
    else
        redis_settle_files
        pair[$1,in]=-
        pair[$1,out]=$(redis_base_bytes)
    fi
    echo "compaction.sh:   $1: rewrite took ${pair[$1,s]} s (first poll after BGREWRITEAOF saw aof_rewrite_in_progress:${pair[$1,first_poll]})" >&2
}

# Percentage of a run (t0..t1) before the rewrite ended.
overlap() { # label test
    local t0 t1
    read -r _ _ _ _ t0 t1 <<<"${lat[$1,during,$2]}"
    mawk -v a="$t0" -v b="$t1" -v e="${pair[$1,end]}" 'BEGIN {
        x = (e - a) / (b - a); if (x < 0) x = 0; if (x > 1) x = 1; printf "%.0f%%", 100 * x }'
}

# --- Item 3: the disk ---

echo "compaction.sh: sequential write bandwidth of $parent ($DD_MIB MiB with dd)" >&2
dd_rate() { # dd flags -> MB/s
    local out
    out=$(LC_ALL=C dd if=/dev/zero of="$work/dd.tmp" bs=1M count="$DD_MIB" "$@" 2>&1) || die "dd failed: $out"
    rm -f "$work/dd.tmp"
    # 1073741824 bytes (1.1 GB, 1.0 GiB) copied, 4.39 s, 245 MB/s
    mawk '/ copied, / { split($0, p, ", "); s = p[length(p) - 1]; sub(/ s$/, "", s); printf "%.0f %.2f\n", $1 / s / 1e6, s }' <<<"$out"
}
read -r dd_direct_mbs dd_direct_s < <(dd_rate oflag=direct)
read -r dd_sync_mbs dd_sync_s < <(dd_rate conv=fdatasync)
echo "compaction.sh:   oflag=direct $dd_direct_mbs MB/s ($dd_direct_s s), conv=fdatasync $dd_sync_mbs MB/s ($dd_sync_s s)" >&2

# --- kvdb ---

echo "compaction.sh: kvdb, 1. space amplification: fill $keys keys, then $OVERWRITE_1 random overwrites" >&2
write_conf "$work/kvdb-1.conf" yes default
start_kvdb "$work/kvdb-1.conf" amplification
kvdb_settings=$(for name in segment-size compaction-dead-percentage compaction-min-dead-bytes; do
    # shellcheck disable=SC2016 # markdown code, not an expansion
    printf '`%s %s` ' "$name" "$(cli config get "$name" | sed -n 2p)"
done)
fill
kvdb_fill=$(sample)
samples_kvdb=$work/samples-kvdb.txt
overwrite_start "$OVERWRITE_1"
sample_during_overwrite "$samples_kvdb"
kvdb_overwrite_rps=$overwrite_rps
kvdb_settle=$work/settle-kvdb.txt
settle "$kvdb_settle"
kvdb_settled=$(tail -n 1 "$kvdb_settle")
echo "compaction.sh:   settled: $kvdb_settled" >&2
rewrite_start
rewrite_wait
kvdb_rw1=("$rewrite_s" "$rewrite_read" "$rewrite_written" "$rewrite_runs")
kvdb_after=$(sample)
echo "compaction.sh:   BGREWRITEAOF: $rewrite_s s; after: $kvdb_after" >&2
stop_server

echo "compaction.sh: kvdb, 2. latency: auto-compaction no, $OVERWRITE_2 overwrites, then GET/SET runs before and during BGREWRITEAOF" >&2
write_conf "$work/kvdb-2.conf" no default
start_kvdb "$work/kvdb-2.conf" latency
overwrite "$OVERWRITE_2"
latency_pair kvdb
echo "compaction.sh: kvdb, 3. kvdb compact (server stopped) after $OVERWRITE_2 overwrites" >&2
overwrite "$OVERWRITE_2"
stop_server
offline_in=$(seg_bytes)
t0=$EPOCHREALTIME
offline_stdout=$(timeout "$REWRITE_TIMEOUT" "$KVDB" -d "$kvdb_dir" compact 2>"$work/compact.err") ||
    die "kvdb compact failed: $(cat "$work/compact.err")"
offline_s=$(since "$t0")
offline_line=$(head -n 1 <<<"$offline_stdout")
offline_disk=$(sed -n 2p <<<"$offline_stdout")
offline_out=$(seg_bytes)
echo "compaction.sh:   $offline_line; $offline_disk (wall $offline_s s)" >&2
echo "compaction.sh: kvdb, 2. latency with compaction-rate-limit $RATE_LIMIT, after $OVERWRITE_2 overwrites" >&2
write_conf "$work/kvdb-3.conf" no "$RATE_LIMIT"
start_kvdb "$work/kvdb-3.conf" full-speed
overwrite "$OVERWRITE_2"
latency_pair kvdb-limited
stop_server
kvdb_problems=$(cat "$work"/kvdb-*.log | grep -ciE 'warn|error|panic' || true)
if ((kvdb_problems > 0)); then
    echo "compaction.sh: NOTE: kvdb logged $kvdb_problems warning or error line(s):" >&2
    grep -hiE 'warn|error|panic' "$work"/kvdb-*.log | head -n 20 >&2
fi
kvdb_compaction_lines=$(cat "$work"/kvdb-*.log | grep -c 'compacted' || true)
rm -rf "$kvdb_dir"

# --- Redis ---

echo "compaction.sh: Redis, 1. space amplification: fill $keys keys, then $OVERWRITE_1 random overwrites" >&2
start_redis amplification
fill
redis_fill=$(sample)
samples_redis=$work/samples-redis.txt
overwrite_start "$OVERWRITE_1"
sample_during_overwrite "$samples_redis"
redis_overwrite_rps=$overwrite_rps
redis_settle=$work/settle-redis.txt
settle "$redis_settle"
redis_settled=$(tail -n 1 "$redis_settle")
rewrite_start
rewrite_wait
redis_settle_files
redis_base=$(redis_base_bytes)
redis_after=$(sample)
redis_rw1=("$rewrite_s" "$redis_base")
redis_auto_rewrites=$((rewrites_before))
echo "compaction.sh:   BGREWRITEAOF: $rewrite_s s; base file $redis_base bytes; after: $redis_after" >&2
redis_used=$(info_fields memory used_memory_dataset)

echo "compaction.sh: Redis, 2. latency: auto-aof-rewrite-percentage 0, $OVERWRITE_2 overwrites, then GET/SET runs before and during BGREWRITEAOF" >&2
cli config set auto-aof-rewrite-percentage 0 >/dev/null
overwrite "$OVERWRITE_2"
latency_pair redis
stop_server
rm -rf "$redis_dir"

# --- Tables ---

# max, mean and last of column $2 / column $3 of a samples file (numbers only); $4 = a fixed
# denominator instead of a column.
amp_stats() { # file num_col den_col|0 [denominator]
    mawk -v a="$2" -v b="$3" -v d="${4:-0}" '
        { den = b ? $b : d }
        $a ~ /^[0-9]+$/ && den + 0 > 0 { r = $a / den; n++; s += r; if (r > m) m = r; last = r }
        END { if (n) printf "%.2f %.2f %.2f %d\n", m, s / n, last, n; else print "- - - 0" }' "$1"
}
col() { cut -d' ' -f"$2" <<<"$1"; }
amp_row() { # label num_col den_col|0 [denominator]
    local fill_line=$kvdb_fill settled=$kvdb_settled after=$kvdb_after file=$samples_kvdb d=${4:-}
    if [[ -n $d ]]; then fill_line=$redis_fill settled=$redis_settled after=$redis_after file=$samples_redis; fi
    local den_f=$d den_s=$d den_a=$d
    if [[ -z $d ]]; then
        den_f=$(col "$fill_line" "$3")
        den_s=$(col "$settled" "$3")
        den_a=$(col "$after" "$3")
    fi
    read -r max mean last n < <(amp_stats "$file" "$2" "$3" "$d")
    printf '| %s | %s | **%s** | %s | %s | %s | %s |\n' "$1" \
        "$(div "$(col "$fill_line" "$2")" "$den_f")" "$max" "$mean" "$last" \
        "$(div "$(col "$settled" "$2")" "$den_s")" "$(div "$(col "$after" "$2")" "$den_a")"
}

table_amplification() {
    local live samples compactions unanswered
    live=$(col "$kvdb_after" 3)
    samples=$(wc -l <"$samples_kvdb")
    unanswered=$(cat "$samples_kvdb" "$kvdb_settle" "$samples_redis" "$redis_settle" | grep -c ' - ' || true)
    compactions=$(($(col "$kvdb_settled" 6) - $(col "$kvdb_fill" 6)))
    echo "**1. Space amplification** under \`redis-benchmark -t set -r $(thousands "$keys") -d $VALUE -P 16 -c $CLIENTS -n $(thousands "$OVERWRITE_1")\` after a fill of every key; sampled every second ($samples samples on kvdb, $(wc -l <"$samples_redis") on Redis)."
    echo
    echo "| disk / live | after the fill | overwrites: max | mean | at the end | settled | after BGREWRITEAOF |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    amp_row "kvdb: kvdb_disk_bytes / kvdb_live_bytes (INFO)" 2 3
    amp_row "kvdb: segment files (*.seg, *.seg.tmp) / live" 7 3
    amp_row "kvdb: whole data directory (hint files too) / live" 8 3
    amp_row "Redis: data directory (appendonlydir, rewrite temp file) / fresh AOF" 2 0 "$redis_base"
    echo
    echo "kvdb: live data $(mb "$live") ($(thousands "$keys") keys x $RECORD B), $compactions compaction(s) from the fill to the settled state, overwrites at $(thousands "${kvdb_overwrite_rps:-0}") SET/s; settled = no new compaction for 3 s after the overwrites; $(col "$kvdb_settled" 5) segments settled, $(col "$kvdb_after" 5) after BGREWRITEAOF."
    echo "Redis: the fresh AOF (after BGREWRITEAOF, RDB preamble) is $(mb "$redis_base") (used_memory_dataset $(mb "$redis_used")); $redis_auto_rewrites automatic rewrite(s) before it, overwrites at $(thousands "${redis_overwrite_rps:-0}") SET/s."
    ((unanswered == 0)) || echo "$unanswered sample(s) got no INFO reply within 60 s (left out of the figures)."
}

lat_cells() { # label,phase test -> "ops/s | p50 | p99 | max"
    local rps p50 p99 max
    read -r rps p50 p99 max _ <<<"${lat[$1,$2]}"
    printf '%s | %s | %s | %s' "$(thousands "$rps")" "$p50" "$p99" "$max"
}
p99_ratio() { # label test
    local before during
    before=$(col "${lat[$1,before,$2]}" 3)
    during=$(col "${lat[$1,during,$2]}" 3)
    local r
    r=$(div "$during" "$before")
    mawk -v r="$r" 'BEGIN { if (r != "-" && r + 0 > 2) printf "**%s**", r; else printf "%s", r }'
}
lat_rows() { # label server-name what
    printf '| %s | no compaction | %s | %s | - |\n' "$2" "$(lat_cells "$1,before" set)" "$(lat_cells "$1,before" get)"
    printf '| %s | %s | %s | %s | SET %s, GET %s |\n' "$2" "$3" "$(lat_cells "$1,during" set)" "$(lat_cells "$1,during" get)" \
        "$(overlap "$1" set)" "$(overlap "$1" get)"
}
rewrite_what() { # label -> "BGREWRITEAOF: X s, A MB -> B MB"
    if [[ ${pair[$1,in]} == - ]]; then
        echo "during BGREWRITEAOF (${pair[$1,s]} s, $(mb "${pair[$1,out]}") AOF)"
    else
        echo "during BGREWRITEAOF (${pair[$1,s]} s, $(mb "${pair[$1,in]}") -> $(mb "${pair[$1,out]}"))"
    fi
}
table_latency() {
    echo "**2. Client latency during a compaction**: \`redis-benchmark -P 1 -c $CLIENTS -r $(thousands "$keys") -d $VALUE -n $(thousands "$LAT_N") --csv\`, \`-t set\` then \`-t get\`; latencies in ms."
    echo
    echo "| server | run | SET ops/s | SET p50 | SET p99 | SET max | GET ops/s | GET p50 | GET p99 | GET max | share of the run under compaction |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    lat_rows kvdb "kvdb, default pacing" "$(rewrite_what kvdb)"
    lat_rows kvdb-limited "kvdb, compaction-rate-limit 0 (full speed)" "$(rewrite_what kvdb-limited)"
    lat_rows redis Redis "$(rewrite_what redis)"
    echo
    echo "p99 during / p99 before (target for kvdb: at most 2): kvdb SET $(p99_ratio kvdb set), GET $(p99_ratio kvdb get);"
    echo "full-speed kvdb (compaction-rate-limit 0) SET $(p99_ratio kvdb-limited set), GET $(p99_ratio kvdb-limited get); Redis SET $(p99_ratio redis set), GET $(p99_ratio redis get)."
    echo "The last column is the share of each run's wall time before the rewrite ended (INFO polled every 0.1 s); below 100% the rewrite ended during the run."
}

tp_row() { # label in out seconds runs
    local rd wr
    rd=$(mawk -v b="$2" -v s="$4" 'BEGIN { if (b == "-" || s <= 0) print "-"; else printf "%.0f", b / s / 1e6 }')
    wr=$(mawk -v b="$3" -v s="$4" 'BEGIN { if (b == "-" || s <= 0) print "-"; else printf "%.0f", b / s / 1e6 }')
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "${5:--}" "$(mb "$2")" "$(mb "$3")" "$4" "$rd" "$wr" \
        "$(mawk -v k="$keys" -v s="$4" 'BEGIN { printf "%.2f M", k / s / 1e6 }')"
}
table_throughput() {
    echo "**3. Compaction throughput** against the disk's sequential writes ($DD_MIB MiB of \`dd if=/dev/zero bs=1M\` on the same file system: **$dd_direct_mbs MB/s** with \`oflag=direct\`, $dd_sync_mbs MB/s with \`conv=fdatasync\`)."
    echo
    echo "| rewrite of $(thousands "$keys") keys | runs | read | written | seconds | MB/s read | MB/s written | keys/s |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    tp_row "kvdb BGREWRITEAOF, idle, after item 1 (settled)" "${kvdb_rw1[1]}" "${kvdb_rw1[2]}" "${kvdb_rw1[0]}" "${kvdb_rw1[3]}"
    tp_row "kvdb BGREWRITEAOF under the item 2 runs" "${pair[kvdb,in]}" "${pair[kvdb,out]}" "${pair[kvdb,s]}" "${pair[kvdb,runs]}"
    tp_row "kvdb BGREWRITEAOF, compaction-rate-limit 0 (full speed), under the item 2 runs" "${pair[kvdb-limited,in]}" "${pair[kvdb-limited,out]}" "${pair[kvdb-limited,s]}" "${pair[kvdb-limited,runs]}"
    tp_row "\`kvdb compact\`, server stopped (segment files before / after)" "$offline_in" "$offline_out" "$offline_s" "$(sed -n 's/.* in \([0-9]*\) run(s).*/\1/p' <<<"$offline_line")"
    tp_row "Redis BGREWRITEAOF, idle, after item 1" - "${redis_rw1[1]}" "${redis_rw1[0]}"
    tp_row "Redis BGREWRITEAOF under the item 2 runs" - "${pair[redis,out]}" "${pair[redis,s]}"
    echo
    echo "kvdb compaction read rate / dd oflag=direct: $(div "$(div "${kvdb_rw1[1]}" "${kvdb_rw1[0]}" '%.0f')" "$((dd_direct_mbs * 1000000))") (idle BGREWRITEAOF), $(div "$(div "$offline_in" "$offline_s" '%.0f')" "$((dd_direct_mbs * 1000000))") (\`kvdb compact\`)."
    echo "Seconds are wall time from sending BGREWRITEAOF until INFO shows aof_rewrites grown and aof_rewrite_in_progress:0 (polled every 0.05 s idle, 0.1 s under the runs);"
    echo "\`kvdb compact\` is the command's wall time, and it printed: \`$offline_line\`, \`$offline_disk\`."
}

elapsed=$((SECONDS - started))
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
ram=$(mawk '/^MemTotal:/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)
disk=$(df --output=source,fstype "$parent" | tail -n 1 | tr -s ' ')
command="benches/compaction.sh${args[*]:+ ${args[*]}}"
note() {
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`$command\` ($elapsed s):"
    echo "kvdb $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (with uncommitted changes in src/)'), $("$REDIS_SERVER" --version | cut -d' ' -f1-3);"
    echo "$(nproc) x ${cpu:-unknown CPU}, $ram, Linux $(uname -r); data directories on $disk;"
    echo "load average before the run: $load_before. One server at a time, \`appendfsync everysec\`."
    echo "kvdb item 1: $kvdb_settings(CONFIG GET)$($scaled && echo ", scaled down by $keys / $FULL_KEYS from the defaults (128 MiB, 64 MiB)"); items 2-3: \`auto-compaction no\`, then \`compaction-rate-limit $RATE_LIMIT\`."
    echo "Redis: \`--appendonly yes --aof-use-rdb-preamble yes --auto-aof-rewrite-percentage 100 --auto-aof-rewrite-min-size $REDIS_MIN_SIZE\`$($scaled && echo " (64mb scaled the same way)"), \`--save ''\`; item 2 after \`CONFIG SET auto-aof-rewrite-percentage 0\`."
    echo "Before each latency pair and before \`kvdb compact\`: $(thousands "$OVERWRITE_2") more random overwrites (\`-P 16\`), so about half the log is dead. kvdb logged $kvdb_compaction_lines compaction line(s) and $kvdb_problems warning/error line(s)."
}

section=$work/section.md
{
    table_amplification
    echo
    table_latency
    echo
    table_throughput
    echo
    note
} >"$section"
echo
cat "$section"

if $update_doc; then
    doc=docs/PERFORMANCE.md
    begin="<!-- compaction-bench:begin -->"
    end="<!-- compaction-bench:end -->"
    if ! grep -qxF "$begin" "$doc" || ! grep -qxF "$end" "$doc"; then
        echo "compaction.sh: $doc has no $begin ... $end section: not updated (add the markers, then rerun)" >&2
        exit 0
    fi
    mawk -v begin="$begin" -v end="$end" -v section="$section" '
        $0 == begin { print; print ""; while ((getline line < section) > 0) print line; print ""; skip = 1; next }
        $0 == end { skip = 0 }
        !skip' "$doc" >"$work/doc.md"
    cat "$work/doc.md" >"$doc"
    echo "compaction.sh: updated $doc" >&2
fi
