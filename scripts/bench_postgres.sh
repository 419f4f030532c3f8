# PostgreSQL for the benchmarks (sourced by scripts/bench, bench-ingest and bench-reads when PROVIDERS names postgres).
# PG_CS names a server to use (an Npgsql connection string whose user may create databases); without it,
# bench_pg_server starts a throwaway cluster through scripts/postgres-cluster on a free loopback port, durable
# (POSTGRES_DURABLE=1: fsync and synchronous commit on, as SQLite's synchronous=FULL), and exports PG_CS so scripts it
# starts use the same server (and BENCH_PG_DIR, its folder, for bench_pg_cpu); bench_pg_stop stops it (call it from the
# EXIT trap; a script that was given the server leaves it running). Each measurement gets an empty
# database of its own: bench_pg_database NAME creates it (dropping one of that name first) and prints its connection
# string; bench_pg_drop NAME drops it.
bench_pg_cluster=""

bench_pg_server() {
  if [ -n "${PG_CS:-}" ]; then return 0; fi
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  bench_pg_cluster="$(mktemp -u /tmp/oe-bench-pg.XXXXXX)"
  PG_CS="$(POSTGRES_DURABLE=1 bash scripts/postgres-cluster start "$bench_pg_cluster" "$port")"
  BENCH_PG_DIR="$bench_pg_cluster"
  export PG_CS BENCH_PG_DIR
}

bench_pg_stop() {
  if [ -n "$bench_pg_cluster" ]; then bash scripts/postgres-cluster stop "$bench_pg_cluster" || true; fi
  bench_pg_cluster=""
}

# bench_pg_sql DATABASE SQL: runs SQL with psql on PG_CS's server, in DATABASE (the password, if any, through PGPASSWORD).
bench_pg_sql() {
  python3 - "$PG_CS" "$1" "$2" <<'PY'
import os, subprocess, sys
cs, database, sql = sys.argv[1:]
keys = {"host": "host", "server": "host", "port": "port", "username": "user", "user id": "user", "userid": "user", "user": "user"}
parts, env = {}, dict(os.environ, PGOPTIONS="-c client_min_messages=warning")
for item in filter(None, (p.strip() for p in cs.split(";"))):
    name, _, value = item.partition("=")
    name = name.strip().lower()
    if name in keys: parts[keys[name]] = value.strip()
    elif name == "password": env["PGPASSWORD"] = value.strip()
parts["dbname"] = database
conninfo = " ".join(f"{k}='{v}'" for k, v in parts.items())
subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", conninfo, "-c", sql], check=True, env=env, stdout=subprocess.DEVNULL)
PY
}

bench_pg_database() {
  bench_pg_sql postgres "DROP DATABASE IF EXISTS $1"
  bench_pg_sql postgres "CREATE DATABASE $1"
  python3 -c 'import re, sys; cs = re.sub(r"(?i)(^|;)\s*database\s*=[^;]*", "", sys.argv[1]).strip(";"); print(f"{cs};Database={sys.argv[2]}")' "$PG_CS" "$1"
}

bench_pg_drop() { bench_pg_sql postgres "DROP DATABASE IF EXISTS $1 WITH (FORCE)" || true; }

# bench_pg_master: the throwaway cluster's postmaster process id, or nothing when the server is PG_CS's own.
bench_pg_master() {
  if [ -n "${BENCH_PG_DIR:-}" ] && [ -f "$BENCH_PG_DIR/data/postmaster.pid" ]; then head -1 "$BENCH_PG_DIR/data/postmaster.pid"; fi
}

# bench_pg_cpu: the CPU seconds the throwaway cluster's server processes have used so far (the postmaster, its live
# children, and the children it has reaped), or "-" when the server is PG_CS's and not ours.
bench_pg_cpu() {
  local master
  master="$(bench_pg_master)"
  if [ -z "$master" ]; then echo "-"; return 0; fi
  python3 - "$master" "$(getconf CLK_TCK)" <<'PY'
import os, sys
master, hz = sys.argv[1], int(sys.argv[2])
def stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f: return f.read().rsplit(")", 1)[1].split()
    except OSError: return None
total = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    s = stat(pid)
    if s is None: continue
    if pid == master: total += sum(int(x) for x in s[11:15])   # utime stime cutime cstime
    elif s[1] == master: total += int(s[11]) + int(s[12])
print(f"{total / hz:.2f}")
PY
}
