# Sourced by scripts/privacy-attacks and scripts/privacy-tradeoff: builds the service (Release), starts it on a
# temporary data directory and a loopback port with the escrow's default privacy settings, many signups allowed
# from one address and access tokens that outlive the run, and waits until it answers. Sets $port and $pid; the
# EXIT trap stops the service (keeping its log in $PRIVACY_LOG when set) and removes the directory.
work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "${PRIVACY_LOG:-}" ]; then cp "$work/service.log" "$PRIVACY_LOG" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

dotnet build src/OverlapEscrow.Api --configuration Release --nologo --verbosity quiet --output "$work/app" >&2
port="${PRIVACY_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"

# The built assembly directly (not `dotnet run`), so that $pid is the service itself.
Escrow__DataDirectory="$work/data" Escrow__AccessTokenMinutes=1440 \
  Escrow__RateLimits__SignupPerAddress__PermitLimit=1000000 Escrow__RateLimits__LoginPerAddress__PermitLimit=1000000 \
  dotnet "$work/app/OverlapEscrow.Api.dll" --urls "http://127.0.0.1:$port" >"$work/service.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/service.log" >&2; exit 1; }
  sleep 0.5
done
