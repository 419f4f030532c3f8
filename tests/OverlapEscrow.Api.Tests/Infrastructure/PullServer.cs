using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Outbound;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>
/// A partner's export endpoint for pull schedules: a real Kestrel server on 127.0.0.1 and a free port, answering
/// with the handler a test gives it, and keeping every request path it was asked for.
/// </summary>
public sealed class PullServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private PullServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }
    public ConcurrentQueue<string> Requests { get; } = new();

    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    public int Hits(string path) => Requests.Count(r => r == path);

    /// <param name="everyAddress">Listen on every address of the machine ([::], dual-stack), not only 127.0.0.1: for
    /// tests where a pull that slipped through the outbound guard to one of the machine's own addresses must arrive.</param>
    public static async Task<PullServer> StartAsync(Func<HttpContext, Task> handler, bool everyAddress = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(everyAddress ? "http://[::]:0" : "http://127.0.0.1:0");
        var app = builder.Build();
        PullServer? server = null;
        app.Run(async http =>
        {
            server!.Requests.Enqueue(http.Request.Path.Value ?? "");
            await handler(http);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new PullServer(app, new Uri(address).Port);
        return server;
    }

    /// <summary>A server that answers no request: each waits until its client gives up (a source or receiver that hangs).</summary>
    public static Task<PullServer> StartHangingAsync() => StartAsync(async http =>
    {
        try
        {
            await Task.Delay(Timeout.Infinite, http.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
    });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Keeps the events the service publishes (in place of the outbox), as the JSON a webhook would carry.</summary>
public sealed class RecordingEvents : IEventPublisher
{
    public ConcurrentQueue<(string OrganizationId, string Type, string Payload)> Published { get; } = new();

    public Task PublishAsync(IUnitOfWork uow, string organizationId, string type, object payload, DateTimeOffset at, CancellationToken ct)
    {
        uow.AfterCommit(() => Published.Enqueue((organizationId, type, JsonSerializer.Serialize(payload, Application.Events.EscrowJson.Options))));
        return Task.CompletedTask;
    }
}
