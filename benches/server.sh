#!/usr/bin/env bash
# Server throughput, kvdb vs Redis side by side, measured with redis-benchmark.
#
# Starts `kvdb server` and a real redis-server (`appendonly yes`, no RDB) on free loopback ports,
# both with `appendfsync everysec`, then both with `appendfsync always`, and runs the same
# redis-benchmark commands (`-c 50 -r 100000 -P {1,16} -n N --csv`) against each in turn:
#   strings:      -t set,get,incr,mset
#   collections:  -t hset,sadd,zadd, then one custom command each:
#                 HGET myhash element:__rand_int__, SISMEMBER members element:__rand_int__,
#                 ZINCRBY lb 1 m:__rand_int__, ZRANGE myzset 0 99
#                 (after loading myhash, the set members and myzset with the 100,000 elements
#                 element:000000000000 .. element:000000099999 that __rand_int__ names, so that
#                 every HGET and SISMEMBER hits and every ZRANGE returns 100 members; the set
#                 that -t sadd adds to, myset, starts empty, or its SADDs would write nothing)
#   lists:        -t lpush,rpush,lpop,rpop,lrange_100 (all on the key mylist: N LPUSHes and N
#                 RPUSHes, then N LPOPs and N RPOPs that all hit, then redis-benchmark's own
#                 fill of N LPUSHes, not reported, and LRANGE mylist 0 99), and, with -P 1
#                 only, a job queue driven by benches/queue_throughput.py (redis-py, one
#                 process per client): RPUSH producers and BLPOP consumers moving 20,000 jobs
#                 (10,000 under always) through one list, 1 producer + 1 consumer, then 4 + 4;
#                 its rows are jobs/s, not ops/s
# Each (appendfsync, pipeline) pair runs ROUNDS times, alternating which server goes first; each
# family's table gives the median ops/s of each side, their ratio kvdb/Redis, and the range of
# the per-round ratios (the two runs of a round are adjacent in time, so that range shows how
# much the machine's noise moves the ratio). Target: a ratio >= 1.0 on every row.
#
# Usage: benches/server.sh [--update-doc] [--rounds N] [--quick] [--only strings|collections|lists]
#   --update-doc  also replace, for each family run, the section of docs/PERFORMANCE.md between
#                 <!-- server-bench:begin --> and <!-- server-bench:end --> (strings),
#                 <!-- server-bench-collections:begin --> and ...:end --> (collections) or
#                 <!-- server-bench-lists:begin --> and ...:end --> (lists) with its table,
#                 the date, a note on the machine and the exact command
#   --rounds N    runs per (appendfsync, pipeline) pair and side (default 3)
#   --quick       a fifth of the requests and jobs, and one round: to try the script, not to
#                 quote
#   --only F      run one family of commands (default: all three)
#
# Environment: REDIS_SERVER (default redis-server), REDIS_BENCHMARK (default redis-benchmark),
# PYTHON (default python3, with redis-py: `pip install redis`; used by the lists family only),
# BENCH_DIR (parent of the data directories, default $TMPDIR or /tmp). The data directories
# must be on a real disk for `always` to mean anything: fsync on tmpfs returns at once.
# About 2 minutes for the strings, 7 for the collections and 6.5 for the lists on 2 busy vCPUs
# with the default 3 rounds, plus the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

update_doc=false
rounds=3
scale=1
families="strings collections lists"
while (($# > 0)); do
    case $1 in
    --update-doc) update_doc=true ;;
    --rounds)
        rounds=${2:?--rounds needs a number}
        shift
        ;;
    --quick)
        rounds=1
        scale=5
        ;;
    --only)
        families=${2:?--only needs strings, collections or lists}
        [[ $families == strings || $families == collections || $families == lists ]] ||
            { echo "server.sh: --only takes strings, collections or lists" >&2; exit 2; }
        shift
        ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "server.sh: unknown option $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "server.sh: --rounds must be a positive integer" >&2; exit 2; }

REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_BENCHMARK=${REDIS_BENCHMARK:-redis-benchmark}
for tool in "$REDIS_SERVER" "$REDIS_BENCHMARK" redis-cli; do
    command -v "$tool" >/dev/null || { echo "server.sh: $tool not found (apt-get install redis-server)" >&2; exit 1; }
done
PYTHON=${PYTHON:-python3}
if [[ $families == *lists* ]] && ! "$PYTHON" -c 'import redis' 2>/dev/null; then
    echo "server.sh: the lists family needs $PYTHON with redis-py (pip install redis)" >&2
    exit 1
fi

CLIENTS=50
KEYSPACE=100000
# The redis-benchmark runs of each family, one per line: LABEL|ARGUMENTS. An empty label takes
# each row's name from redis-benchmark's CSV (its first word: "MSET (10 keys)" is MSET).
JOBS_strings='|-t set,get,incr,mset'
JOBS_collections='|-t hset,sadd,zadd
HGET|HGET myhash element:__rand_int__
SISMEMBER|SISMEMBER members element:__rand_int__
ZINCRBY|ZINCRBY lb 1 m:__rand_int__
ZRANGE 0 99|ZRANGE myzset 0 99'
JOBS_lists='|-t lpush,rpush,lpop,rpop,lrange_100'
# The queue runs of the lists family (with -P 1 only): LABEL|PRODUCERS|CONSUMERS.
QUEUES='queue 1+1 (jobs/s)|1|1
queue 4+4 (jobs/s)|4|4'
family_jobs() { # family -> its job lines
    local var=JOBS_$1
    printf '%s\n' "${!var}"
}
# Requests per redis-benchmark run, by appendfsync and pipeline depth: each test
# takes 0.5-4 s at the rates this machine reaches (see docs/PERFORMANCE.md).
requests() {
    local n
    case $1/$2 in
    everysec/1) n=100000 ;;
    everysec/16) n=300000 ;;
    always/1) n=30000 ;;
    always/16) n=200000 ;;
    esac
    echo $((n / scale))
}
# Jobs per queue run, by appendfsync: each run takes 2-5 s here (see docs/PERFORMANCE.md).
queue_jobs() {
    local n
    case $1 in
    everysec) n=20000 ;;
    always) n=10000 ;;
    esac
    echo $((n / scale))
}

started=$SECONDS
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "server.sh: building kvdb (release)" >&2
cargo build --release --quiet --bin kvdb
KVDB=target/release/kvdb

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/kvdb-server-bench.XXXXXX")
kvdb_pid=
redis_pid=
stop() { # pid: SIGTERM (both servers then fsync and exit cleanly), wait for it
    if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
cleanup() {
    stop "$kvdb_pid"
    stop "$redis_pid"
    kvdb_pid=
    redis_pid=
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_kvdb() { # appendfsync -> sets kvdb_pid, kvdb_port
    local dir=$work/kvdb-$1 log=$work/kvdb-$1.log
    "$KVDB" server --port 0 --dir "$dir" --appendfsync "$1" 2>"$log" &
    kvdb_pid=$!
    for _ in $(seq 200); do
        kvdb_port=$(sed -n 's/.*ready to accept connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
        [[ -n $kvdb_port ]] && return
        kill -0 "$kvdb_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "server.sh: kvdb did not start:" >&2
    cat "$log" >&2
    exit 1
}

start_redis() { # appendfsync -> sets redis_pid, redis_port
    local dir=$work/redis-$1
    mkdir -p "$dir"
    for _ in 1 2 3; do
        redis_port=$(free_port) || break
        "$REDIS_SERVER" --bind 127.0.0.1 --port "$redis_port" --save '' \
            --appendonly yes --appendfsync "$1" --dir "$dir" --logfile "$dir/redis.log" \
            --daemonize no &
        redis_pid=$!
        for _ in $(seq 100); do
            if [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]]; then return; fi
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.05
        done
        stop "$redis_pid" # lost the port to someone else: try another
    done
    echo "server.sh: redis-server did not start:" >&2
    cat "$dir/redis.log" >&2
    exit 1
}

# Loads what the collection commands read: myhash, members and myzset with the KEYSPACE
# elements element:000000000000 .. (redis-benchmark's __rand_int__ is 12 zero-padded digits),
# 100 per command; hash values are 3 bytes, as redis-benchmark's default -d.
populate() { # side port
    local replies
    replies=$(mawk -v n="$KEYSPACE" 'BEGIN {
        split("HSET SADD ZADD", cmd, " "); split("myhash members myzset", key, " ")
        for (c = 1; c <= 3; c++)
            for (first = 0; first < n; first += 100) {
                last = first + 100 > n ? n : first + 100
                per = c == 2 ? 1 : 2
                printf "*%d\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", 2 + per * (last - first),
                    length(cmd[c]), cmd[c], length(key[c]), key[c]
                for (i = first; i < last; i++) {
                    if (c == 3) printf "$%d\r\n%d\r\n", length(i ""), i
                    printf "$20\r\nelement:%012d\r\n", i
                    if (c == 1) printf "$3\r\nxxx\r\n"
                }
            }
    }' | redis-cli -h 127.0.0.1 -p "$2" --pipe 2>&1) || {
        echo "server.sh: loading the collections into $1 failed: $replies" >&2
        exit 1
    }
    local sizes
    sizes=$(printf 'HLEN myhash\nSCARD members\nZCARD myzset\n' | redis-cli -h 127.0.0.1 -p "$2" | tr '\n' ' ')
    [[ $sizes == "$KEYSPACE $KEYSPACE $KEYSPACE " ]] || {
        echo "server.sh: $1 holds $sizes elements after loading, not $KEYSPACE each: $replies" >&2
        exit 1
    }
}

results=$work/results.tsv # family, appendfsync, pipeline, round, side, test, ops/s
bench() {                 # family side port appendfsync pipeline round
    local out=$work/bench.csv n label args expected rows=0
    n=$(requests "$4" "$5")
    while IFS='|' read -r label args; do
        if [[ $label ]]; then expected=1; else
            expected=$(($(tr -cd , <<<"$args" | wc -c) + 1))
        fi
        # Word splitting of $args is wanted: it is a list of arguments, with no glob characters.
        # shellcheck disable=SC2086
        if ! "$REDIS_BENCHMARK" -h 127.0.0.1 -p "$3" -c "$CLIENTS" -r "$KEYSPACE" \
            -P "$5" -n "$n" --csv $args </dev/null >"$out" 2>"$work/bench.err"; then
            echo "server.sh: redis-benchmark $args against $2 failed:" >&2
            cat "$work/bench.err" >&2
            exit 1
        fi
        # "SET","43365.13",... and "MSET (10 keys)","34662.05",...; the row of the LPUSHes
        # that -t lrange_100 makes to fill mylist, "LPUSH (needed to benchmark LRANGE)", is not
        # one of the commands asked for.
        mawk -F'","' -v prefix="$1\t$4\t$5\t$6\t$2" -v label="$label" 'NR > 1 && !/needed to benchmark/ {
            test = $1; sub(/^"/, "", test); sub(/ .*/, "", test)
            print prefix "\t" (label == "" ? test : label) "\t" $2
        }' "$out" >>"$results"
        if (($(tail -n "$expected" "$results" | mawk -F'\t' -v side="$2" -v job="$4$5$6" \
            '$5 == side && $2 $3 $4 == job' | wc -l) != expected)); then
            echo "server.sh: could not parse the output of redis-benchmark $args:" >&2
            cat "$out" "$work/bench.err" >&2
            exit 1
        fi
        rows=$((rows + expected))
    done < <(family_jobs "$1")
    if [[ $1 == lists && $5 == 1 ]]; then
        local producers consumers
        while IFS='|' read -r label producers consumers; do
            if ! "$PYTHON" benches/queue_throughput.py --port "$3" --jobs "$(queue_jobs "$4")" \
                --producers "$producers" --consumers "$consumers" \
                --queue "bench:queue:$6:$producers" </dev/null >"$out" 2>"$work/bench.err"; then
                echo "server.sh: benches/queue_throughput.py ($label) against $2 failed:" >&2
                cat "$out" "$work/bench.err" >&2
                exit 1
            fi
            # jobs_per_s=6589.8 seconds=3.035 jobs=20000
            mawk -v prefix="$1\t$4\t$5\t$6\t$2" -v label="$label" '
                sub(/^jobs_per_s=/, "") { print prefix "\t" label "\t" $1 + 0; found = 1 }
                END { exit !found }' "$out" >>"$results" || {
                echo "server.sh: could not parse the output of benches/queue_throughput.py:" >&2
                cat "$out" "$work/bench.err" >&2
                exit 1
            }
            rows=$((rows + 1))
        done <<<"$QUEUES"
    fi
    printf '  %-8s %-5s -P %-2s round %s: %s\n' "$4" "$2" "$5" "$6" \
        "$(tail -n "$rows" "$results" | mawk -F'\t' '{ printf "%s %.0f  ", $6, $7 }')" >&2
}

: >"$results"
for fsync in everysec always; do
    echo "server.sh: appendfsync $fsync" >&2
    start_kvdb "$fsync"
    start_redis "$fsync"
    if [[ $families == *collections* ]]; then
        populate kvdb "$kvdb_port"
        populate redis "$redis_port"
    fi
    for round in $(seq "$rounds"); do
        for pipeline in 1 16; do
            for family in $families; do
                if ((round % 2)); then
                    bench "$family" kvdb "$kvdb_port" "$fsync" "$pipeline" "$round"
                    bench "$family" redis "$redis_port" "$fsync" "$pipeline" "$round"
                else
                    bench "$family" redis "$redis_port" "$fsync" "$pipeline" "$round"
                    bench "$family" kvdb "$kvdb_port" "$fsync" "$pipeline" "$round"
                fi
            done
        done
    done
    stop "$kvdb_pid"
    stop "$redis_pid"
    kvdb_pid=
    redis_pid=
done

# The markdown table of one family's rows, in the order they were measured.
table() { # family
    mawk -F'\t' -v family="$1" -v rounds="$rounds" '
    function median(list, n,   v, i, j, t) {
        split(list, v, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
            t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
        }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function thousands(x,   s, out) {
        s = sprintf("%.0f", x); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        return s out
    }
    $1 == family {
        row = $2 "\t" $3 "\t" $6
        if (!(row in seen)) { seen[row] = 1; order[++rows] = row }
        all[row, $5] = all[row, $5] " " $7
        rps[row, $4, $5] = $7
    }
    END {
        print "| appendfsync | pipeline | command | kvdb ops/s | Redis ops/s | kvdb/Redis | per-round ratios |"
        print "| --- | ---: | --- | ---: | ---: | ---: | --- |"
        for (i = 1; i <= rows; i++) {
            row = order[i]
            split(row, f, "\t")
            k = median(all[row, "kvdb"], rounds)
            r = median(all[row, "redis"], rounds)
            lo = ""; hi = ""
            for (n = 1; n <= rounds; n++) {
                q = rps[row, n, "kvdb"] / rps[row, n, "redis"]
                if (lo == "" || q < lo) lo = q
                if (hi == "" || q > hi) hi = q
            }
            ratio = sprintf("%.2f", k / r)
            shown = ratio + 0 < 1 ? "**" ratio "**" : ratio
            spread = rounds > 1 ? sprintf("%.2f-%.2f", lo, hi) : "-"
            printf "| %s | %s | %s | %s | %s | %s | %s |\n", f[1], "-P " f[2], f[3], thousands(k), thousands(r), shown, spread
        }
    }' "$results"
}

elapsed=$((SECONDS - started))
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
disk=$(df --output=source,fstype "$work" | tail -n 1 | tr -s ' ')
command="benches/server.sh"
if ((scale != 1)); then
    command+=" --quick"
elif ((rounds != 3)); then
    command+=" --rounds $rounds"
fi
[[ $families == *" "* ]] || command+=" --only $families"
$update_doc && command+=" --update-doc"

# What was measured, how and on what: printed under each family's table.
note() { # family
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`$command\` ($elapsed s):"
    echo "kvdb $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (with uncommitted changes in src/)'), $("$REDIS_SERVER" --version | cut -d' ' -f1-3);"
    echo "$(nproc) x ${cpu:-unknown CPU}, Linux $(uname -r); data directories on $disk;"
    echo "load average before the run: $load_before."
    case $1 in
    strings)
        echo "\`redis-benchmark -t set,get,incr,mset -c $CLIENTS -r $KEYSPACE -P <pipeline> -n <N> --csv\`, N ="
        ;;
    collections)
        echo "\`redis-benchmark -c $CLIENTS -r $KEYSPACE -P <pipeline> -n <N> --csv\` followed by"
        echo "\`-t hset,sadd,zadd\`, then by each of \`HGET myhash element:__rand_int__\`,"
        echo "\`SISMEMBER members element:__rand_int__\`, \`ZINCRBY lb 1 m:__rand_int__\` and"
        echo "\`ZRANGE myzset 0 99\`, after loading myhash, members and myzset with the $KEYSPACE"
        echo "elements that \`element:__rand_int__\` names (every HGET and SISMEMBER hits); N ="
        ;;
    lists)
        echo "\`redis-benchmark -t lpush,rpush,lpop,rpop,lrange_100 -c $CLIENTS -r $KEYSPACE -P <pipeline> -n <N> --csv\`"
        echo "(all on the key mylist; every LPOP and RPOP hits, LRANGE_100 is \`LRANGE mylist 0 99\`"
        echo "after N more LPUSHes), N ="
        ;;
    esac
    echo "$(requests everysec 1) / $(requests everysec 16) (everysec, -P 1 / -P 16) and $(requests always 1) / $(requests always 16) (always);"
    case $1 in
    strings) echo "median of $rounds run(s) per side; MSET sets 10 keys per command. Bold: below the 1.0 target." ;;
    collections) echo "median of $rounds run(s) per side. Bold: below the 1.0 target." ;;
    lists)
        echo "queue rows: \`$PYTHON benches/queue_throughput.py --jobs <J> --producers <P> --consumers <P>\`"
        echo "(redis-py $("$PYTHON" -c 'import redis; print(redis.__version__)'), $("$PYTHON" --version 2>&1), a process per client: one RPUSH per"
        echo "job, consumers on \`BLPOP queue 5\`), J = $(queue_jobs everysec) (everysec) and $(queue_jobs always) (always), run with"
        echo "-P 1 only; median of $rounds run(s) per side. Bold: below the 1.0 target."
        ;;
    esac
}

doc=docs/PERFORMANCE.md
for family in $families; do
    section=$work/section-$family.md
    { table "$family"; echo; note "$family"; } >"$section"
    echo
    echo "== $family"
    echo
    cat "$section"
    $update_doc || continue
    case $family in
    strings) marker=server-bench ;;
    collections) marker=server-bench-collections ;;
    lists) marker=server-bench-lists ;;
    esac
    begin="<!-- $marker:begin -->"
    end="<!-- $marker:end -->"
    if ! grep -qF "$begin" "$doc" || ! grep -qF "$end" "$doc"; then
        echo "server.sh: $doc has no $begin ... $end section to replace" >&2
        exit 1
    fi
    mawk -v begin="$begin" -v end="$end" -v section="$section" '
        $0 == begin { print; print ""; while ((getline line < section) > 0) print line; print ""; skip = 1; next }
        $0 == end { skip = 0 }
        !skip' "$doc" >"$work/doc.md"
    cat "$work/doc.md" >"$doc"
    echo "server.sh: updated $doc ($family)" >&2
done
