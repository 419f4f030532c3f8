# Sourced by scripts/bench and scripts/bench-growth: builds the benchmark console (scripts/Bench) into "$1" and defines
# bench() to run it. BENCH_FORM=shipped (default) publishes it ReadyToRun for this machine, as the Dockerfile publishes
# the service; BENCH_FORM=build measures `dotnet build` output (JIT only).
bench_console_build() {
  local out="$1" arch
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
  if [ "${BENCH_FORM:-shipped}" = build ]; then
    dotnet build scripts/Bench/OverlapEscrow.Bench.csproj -c Release -nologo -v quiet -o "$out" >/dev/null
  else
    dotnet publish scripts/Bench/OverlapEscrow.Bench.csproj -c Release --os linux --arch "$arch" --self-contained false \
      -nologo -v quiet -o "$out" >/dev/null
  fi
  bench_console_dir="$out"
  echo "the bench's console: ${BENCH_FORM:-shipped} (shipped: published ReadyToRun as the service is; build: dotnet build output)"
}
bench() { dotnet "$bench_console_dir/overlap-escrow-bench.dll" "$@"; }
