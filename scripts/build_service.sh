# How scripts build the service they start (sourced by scripts/bench-ingest, scripts/bench-reads and
# scripts/check-publish).
# build_service SOURCE OUTPUT FORM builds the API host of the checkout at SOURCE (its root folder) into OUTPUT:
# - FORM "shipped": the service as the Docker image carries it: the Dockerfile's own `RUN dotnet publish …` line of
#   that checkout, run as it is written (read from SOURCE/Dockerfile, not copied here, so a change to the line changes
#   what is measured), with this machine's architecture for ${TARGETARCH} and OUTPUT for `--output /app`.
#   Framework-dependent for linux; ReadyToRun wherever that revision's csproj asks for it (from the commit that added
#   this file on).
# - FORM "build": `dotnet build` output, as `dotnet run` (scripts/run, the README) and the tests start it: every method
#   of the project's assemblies and its packages is compiled by the JIT when first called.
# The Dockerfile's line is the one of a single `RUN dotnet publish` instruction; anything else stops with a message.
build_service() {
  local source="$1" output="$2" form="$3" line arch log
  log="$(mktemp)"
  case "$form" in
    build)
      dotnet build "$source/src/OverlapEscrow.Api" --configuration Release --nologo --verbosity quiet --output "$output" \
        >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; echo "build_service: dotnet build of $source failed" >&2; exit 1; }
      ;;
    shipped)
      line="$(sed -n 's/^RUN \(dotnet publish .*\)$/\1/p' "$source/Dockerfile")"
      if [ -z "$line" ] || [ "$(wc -l <<<"$line")" -ne 1 ] || [[ "$line" == *\\ ]]; then
        echo "build_service: $source/Dockerfile has no single-line 'RUN dotnet publish …' to build the shipped form with" >&2
        exit 2
      fi
      case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
      line="${line//'${TARGETARCH:-amd64}'/$arch}"
      line="${line//'${TARGETARCH}'/$arch}"
      local args=()
      read -ra args <<<"$line"
      local i found=""
      for i in "${!args[@]}"; do
        if [ "${args[$i]}" = /app ] && [ "${args[$((i - 1))]:-}" = --output ]; then args[i]="$output"; found=1; fi
      done
      [ -n "$found" ] || { echo "build_service: the Dockerfile's publish line has no '--output /app'" >&2; exit 2; }
      (cd "$source" && "${args[@]}" --nologo --verbosity quiet >"$log" 2>&1) \
        || { cat "$log" >&2; rm -f "$log"; echo "build_service: the Dockerfile's publish of $source failed" >&2; exit 1; }
      ;;
    *)
      echo "the service's form is shipped (the Dockerfile's publish) or build (dotnet build), not '$form'" >&2
      exit 2
      ;;
  esac
  rm -f "$log"
}
