using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>A request the receiver got: path, the three Standard Webhooks headers, and the body as sent.</summary>
public sealed record ReceivedWebhook(string Path, string Id, string Timestamp, string Signature, string Body)
{
    public JsonObject Json => JsonNode.Parse(Body)!.AsObject();
    public string Type => Json["type"]!.GetValue<string>();
}

/// <summary>
/// A real HTTP server on 127.0.0.1 that records every request and answers with the status codes it is told
/// to (200 by default), so deliveries travel over a real socket through the escrow's outbound guard.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<int> _answers = new();

    private WebhookReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<ReceivedWebhook> Requests { get; } = new();

    /// <summary>http://127.0.0.1:port (http://[::]:port when listening on every address)</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>The next requests get these status codes, in order; after them, 200.</summary>
    public void AnswerWith(params int[] statusCodes)
    {
        foreach (var code in statusCodes) _answers.Enqueue(code);
    }

    public IEnumerable<ReceivedWebhook> On(string path) => Requests.Where(r => r.Path == path);

    /// <param name="everyAddress">Listen on every address of the machine ([::], dual-stack), not only 127.0.0.1: for
    /// tests where a request that slipped through the outbound guard to one of the machine's own addresses must arrive.</param>
    public static async Task<WebhookReceiver> StartAsync(bool everyAddress = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(everyAddress ? "http://[::]:0" : "http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        // A redirect to another host name of the same machine: the escrow must refuse to follow it.
        app.MapPost("/redirect-elsewhere", (HttpContext http) =>
        {
            var port = http.Connection.LocalPort;
            return Results.Redirect($"http://localhost:{port}/elsewhere", permanent: false, preserveMethod: true);
        });
        app.MapPost("/{**path}", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            receiver.Requests.Enqueue(new ReceivedWebhook(http.Request.Path, http.Request.Headers["webhook-id"].ToString(),
                http.Request.Headers["webhook-timestamp"].ToString(), http.Request.Headers["webhook-signature"].ToString(), body));
            return Results.StatusCode(receiver._answers.TryDequeue(out var code) ? code : 200);
        });
        await app.StartAsync();
        receiver.BaseUrl = app.Urls.First().TrimEnd('/');
        return receiver;
    }

    /// <summary>
    /// Verifies a request's signature the way a receiver would, independently of the escrow's code: HMAC-SHA256 under
    /// the bytes of the "whsec_" secret over "{id}.{timestamp}.{body}", compared with the "v1," signatures in the header.
    /// </summary>
    public static bool SignatureIsValid(ReceivedWebhook request, string secret)
    {
        Assert.StartsWith("whsec_", secret);
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var expected = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{request.Id}.{request.Timestamp}.{request.Body}")));
        return request.Signature.Split(' ').Any(s => s.StartsWith("v1,", StringComparison.Ordinal)
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s[3..]), Encoding.ASCII.GetBytes(expected)));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
