using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Api.Extensions;

/// <summary>
/// <c>/readyz</c>, for a load balancer in front of several instances (docs/operations.md, "Several instances"): 200 when
/// this instance may take requests — its database answers and holds every migration this build has — and 503 otherwise,
/// and from the moment the instance begins to stop (it stops listening <see cref="EscrowOptions.ShutdownDrainSeconds"/>
/// later: <see cref="ShutdownDrain"/>). <c>/healthz</c> stays the liveness check (is the process alive and its database reachable); a restart does
/// not cure a schema that is behind.
/// </summary>
public static class Readiness
{
    /// <summary>The drain before the listener closes (Escrow:ShutdownDrainSeconds), with a shutdown timeout that covers it.</summary>
    public static WebApplicationBuilder AddShutdownDrain(this WebApplicationBuilder builder)
    {
        builder.Services.AddHostedService<ShutdownDrain>();
        builder.Services.AddOptions<HostOptions>().Configure<IOptions<EscrowOptions>>((host, escrow) =>
            host.ShutdownTimeout += TimeSpan.FromSeconds(escrow.Value.ShutdownDrainSeconds));
        return builder;
    }

    public static IEndpointConventionBuilder MapReadiness(this IEndpointRouteBuilder app) =>
        app.MapGet("/readyz", CheckAsync)
            .WithName("Readiness").WithTags("Health").WithSummary("Readiness for a load balancer").AllowAnonymous()
            .WithDescription("200 when the database answers and every migration of this build is applied; 503 (problem details) when the " +
                             "database is unavailable, migrations are missing, or the instance is shutting down.")
            .ProducesProblem(503);

    internal static async Task<Results<Ok<HealthResponse>, ProblemHttpResult>> CheckAsync(
        IStorageMigrations migrations, IHostApplicationLifetime lifetime, ILoggerFactory logs, CancellationToken ct)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested) return NotReady("The instance is shutting down");
        IReadOnlyList<string> pending;
        try
        {
            pending = await migrations.PendingAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The type only: a driver's message can quote the connection's host or user.
            logs.CreateLogger(typeof(Readiness)).LogWarning("Readiness: the database did not answer ({ExceptionType})", e.GetType().Name);
            return NotReady("The database is unavailable");
        }
        return pending.Count == 0
            ? TypedResults.Ok(new HealthResponse("ready"))
            : NotReady("The database schema is behind this build", $"{pending.Count} migrations are not applied; the instance applies them when it starts.");
    }

    private static ProblemHttpResult NotReady(string title, string? detail = null) =>
        TypedResults.Problem(statusCode: 503, title: title, detail: detail, type: Problems.TypePrefix + "unavailable");
}

/// <summary>
/// Holds a stopping instance's listener open for Escrow:ShutdownDrainSeconds. The host signals ApplicationStopping (so
/// <c>/readyz</c> answers 503 from then on), then runs every lifecycle service's StoppingAsync, then stops the server:
/// waiting here keeps the port serving requests, old and new, while the balancer's probes see the instance leave.
/// </summary>
internal sealed class ShutdownDrain(IOptions<EscrowOptions> options, ILogger<ShutdownDrain> logger) : IHostedLifecycleService
{
    public async Task StoppingAsync(CancellationToken ct)
    {
        var seconds = options.Value.ShutdownDrainSeconds;
        if (seconds <= 0) return;
        logger.LogInformation("Stopping: /readyz answers 503; requests are served for {Seconds} s more", seconds);
        try { await Task.Delay(TimeSpan.FromSeconds(seconds), ct); }
        catch (OperationCanceledException) { } // the host's shutdown timeout ran out: stop now
    }

    public Task StartingAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StartAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken ct) => Task.CompletedTask;
}
