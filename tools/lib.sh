# Shell functions the benchmark and cluster scripts share: sourced (`. tools/lib.sh`), not run.

# A free TCP port on the loopback interface.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# stop_server PID NAME: SIGTERM, then wait up to $SHUTDOWN_TIMEOUT s (default 30) for the process
# to exit with status 0 (a child that has exited is a zombie until waited for, hence the look at
# /proc); SIGKILL and status 1 if it does not.
stop_server() {
  local pid=$1 name=$2 state rc=0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq $((${SHUTDOWN_TIMEOUT:-30} * 10))); do
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
    [ -z "$state" ] || [ "$state" = Z ] && break
    sleep 0.1
  done
  if [ -n "$state" ] && [ "$state" != Z ]; then
    echo "   ERROR: $name did not exit within ${SHUTDOWN_TIMEOUT:-30}s of SIGTERM; killing it (no final checkpoint)" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || echo "   ERROR: $name exited with status $rc after SIGTERM" >&2
  return "$rc"
}

# fresh_database ADMIN_URL NAME: (re)creates the database NAME on that server and prints its URL;
# fails with a message when the server is unreachable.
fresh_database() {
  local err
  if ! err=$(psql -Atq "$1" -c 'SELECT 1' 2>&1 >/dev/null); then
    echo "$(basename "$0"): PostgreSQL is unreachable at $1 (set SIDIAN_TEST_POSTGRES): $err" >&2
    return 1
  fi
  psql -q "$1" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $2" \
    -c "CREATE DATABASE $2" >/dev/null || return 1
  python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$1" "$2"
}

# warn_if_busy: prints the machine's CPU use over one second and warns above 10 % (a benchmark
# shares the cores between the load generator and the server; anything else skews it).
warn_if_busy() {
  local busy
  busy=$(python3 - <<'PY'
import time
def s():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f), f[3] + f[4]
a = s(); time.sleep(1); b = s()
print(round(100 * (1 - (b[1] - a[1]) / (b[0] - a[0])), 1))
PY
)
  echo "== machine: $(nproc) cores, $(uname -r); CPU busy before start: ${busy}%"
  if python3 -c "import sys; sys.exit(0 if float('$busy') > 10 else 1)"; then
    echo "   WARNING: the machine is not idle; numbers will be low and noisy. Busiest processes:"
    ps -eo pcpu,comm --sort=-pcpu | sed -n '2,6p' | sed 's/^/     /'
  fi
}
