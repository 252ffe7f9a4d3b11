# shellcheck shell=bash
# Shell helpers shared by the benchmark scripts (sourced, not run).

# A port nobody listens on: bind port 0 and read what the kernel gave, else probe at random.
free_port() {
    if command -v python3 >/dev/null &&
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null; then
        return
    fi
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

# One PING over a raw socket (no process started): true on +PONG.
ping_ok() { # port
    local reply=
    { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    # shellcheck disable=SC2016 # RESP, not a variable
    printf '*1\r\n$4\r\nPING\r\n' >&3 2>/dev/null || { exec 3>&-; return 1; }
    IFS= read -r -t 5 reply <&3 || true
    exec 3>&-
    [[ $reply == $'+PONG\r' ]]
}

# Seconds since the $EPOCHREALTIME value $1, to the millisecond.
since() { mawk -v t0="$1" -v t1="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t1 - t0 }'; }

# Waits up to $2 seconds for process $1 to exit, then kills it.
wait_exit() {
    local deadline=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    if kill -0 "$1" 2>/dev/null; then
        echo "${0##*/}: pid $1 still running after $2 s: killing it" >&2
        kill -KILL "$1" 2>/dev/null || true
    fi
    wait "$1" 2>/dev/null || true
}
