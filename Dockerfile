# OverlapEscrow: multi-stage build of the API host; runs as a non-root user with its data directory as a volume.
# The secrets (token, master and signing keys) are created under /data/secrets on first start unless
# Escrow__SecretsDirectory points elsewhere — mount a separate volume there to keep them off database backups.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TARGETARCH
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props OverlapEscrow.sln ./
COPY src/ src/
# Published for the image's runtime only (linux on the target architecture), so the output carries one native
# SQLite library instead of one per platform; framework-dependent on the aspnet base image. With a runtime identifier
# the Api's csproj publishes ReadyToRun (PublishReadyToRun): the project's and its packages' assemblies carry
# precompiled code, so a new container does not JIT-compile them first (docs/performance.md, "The service as shipped").
# scripts/check-publish runs this line as written (no Docker engine needed) and starts what it publishes; the
# benchmarks measure this line's output (scripts/build_service.sh). Keep it on one line for them.
RUN dotnet publish src/OverlapEscrow.Api/OverlapEscrow.Api.csproj --configuration Release --os linux --arch ${TARGETARCH:-amd64} --self-contained false --output /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    Escrow__DataDirectory=/data \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
RUN mkdir -p /data && chown app:app /data
VOLUME ["/data"]
USER app
EXPOSE 8080
ENTRYPOINT ["dotnet", "OverlapEscrow.Api.dll"]
