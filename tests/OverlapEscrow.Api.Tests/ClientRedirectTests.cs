using System.Collections.Concurrent;
using System.Net;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Client.Upload;
using EscrowClient = OverlapEscrow.Client.Upload.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The client library is given the caller's <see cref="HttpClient"/>, whose handler may follow redirects (the default).
/// A redirect to another server (a moved domain, a rewriting proxy, anything that can make the escrow's URL answer 307)
/// must not take the API key there, and must end the call rather than be retried.
/// </summary>
public sealed class ClientRedirectTests
{
    private const string ApiKey = "oek_key_0123456789abcdef.c2VjcmV0LW5vdC10by1iZS1zaGFyZWQtd2l0aC1hbnlvbmU";

    [Fact]
    public async Task ARedirectToAnotherServerTakesNeitherTheKeyNorATokenAlongAndIsNotRetried()
    {
        var received = new ConcurrentQueue<string>();
        await using var elsewhere = await PullServer.StartAsync(async http =>
        {
            using var reader = new StreamReader(http.Request.Body);
            received.Enqueue($"{http.Request.Method} {http.Request.Path} {string.Join(" ", http.Request.Headers.Select(h => $"{h.Key}={h.Value}"))} {await reader.ReadToEndAsync()}");
            http.Response.StatusCode = 401;
        });
        await using var escrow = await PullServer.StartAsync(http =>
        {
            http.Response.StatusCode = 307;
            http.Response.Headers.Location = elsewhere.Url(http.Request.Path.Value ?? "/");
            return Task.CompletedTask;
        });
        using var http = new HttpClient { BaseAddress = new Uri(escrow.Url("/")) }; // follows redirects, as HttpClient does by default
        var client = new EscrowClient(http, ApiKey, new EscrowClientOptions { MaxRetryAttempts = 3 });

        var error = await Assert.ThrowsAsync<EscrowApiException>(() => client.GetTokenAsync());

        Assert.Contains("redirected this request to", error.Message);
        Assert.Contains($"127.0.0.1:{elsewhere.Port}", error.Message);
        var request = Assert.Single(received); // followed once by the handler, not retried
        Assert.StartsWith("POST /v1/auth/token", request);
        Assert.DoesNotContain("c2VjcmV0", request); // the key's secret part, in any form
        Assert.DoesNotContain(Uri.EscapeDataString(ApiKey), request);
        Assert.DoesNotContain("Authorization", request, StringComparison.OrdinalIgnoreCase);
    }
}
