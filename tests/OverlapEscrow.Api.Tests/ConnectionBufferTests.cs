using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Extensions;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Kestrel receives a request body into blocks of the connection's memory pool, one block per receive; the service
/// supplies a pool of larger blocks (<c>Escrow:Server:ReceiveBlockKiB</c>, Hosting/ConnectionMemoryPool.cs) so that a
/// large upload arrives in a sixteenth of the system calls (docs/performance.md, "Uploads"). A handler reading a body
/// sees the transport's blocks themselves, so the largest piece of a buffered body is the block size the server
/// actually receives into.
/// <para>
/// Over a real socket, on a web application built as Program.cs builds the service (<c>WebApplication.CreateBuilder</c>,
/// then <see cref="ServiceDefaults.AddServiceDefaults"/>), not on the test factory: the factory's own UseKestrel
/// registers Kestrel's pool factory again after the service's, which a service process never does.
/// </para>
/// </summary>
public sealed class ConnectionBufferTests
{
    /// <summary>Reads the body until at least 200 KB are buffered, notes its largest piece, reads the rest, answers the piece's length.</summary>
    private static async Task<IResult> LargestPieceAsync(HttpRequest request)
    {
        var reader = request.BodyReader;
        var largest = 0L;
        while (true)
        {
            var read = await reader.ReadAsync();
            if (read.Buffer.Length >= 200_000 || read.IsCompleted)
            {
                foreach (var piece in read.Buffer) largest = Math.Max(largest, piece.Length);
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted) break;
                while (!(await ReadAndDropAsync(reader))) { }
                break;
            }
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End); // keep it all buffered, wait for more
        }
        return Results.Text(largest.ToString(CultureInfo.InvariantCulture));

        static async Task<bool> ReadAndDropAsync(System.IO.Pipelines.PipeReader reader)
        {
            var rest = await reader.ReadAsync();
            reader.AdvanceTo(rest.Buffer.End);
            return rest.IsCompleted;
        }
    }

    private static async Task<int> LargestBodyPieceAsync(string? blockKiB)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (blockKiB is not null) builder.Configuration["Escrow:Server:ReceiveBlockKiB"] = blockKiB;
        builder.Configuration["Escrow:DataDirectory"] = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));
        builder.AddServiceDefaults();
        await using var app = builder.Build();
        app.MapPost("/body", LargestPieceAsync);
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
            using var response = await http.PostAsync("/body", new ByteArrayContent(new byte[256 * 1024]));
            response.EnsureSuccessStatusCode();
            return int.Parse(await response.Content.ReadAsStringAsync(), CultureInfo.InvariantCulture);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task ByDefaultARequestBodyIsReceivedInto64KiBBlocks() =>
        Assert.Equal(64 * 1024, await LargestBodyPieceAsync(null));

    [Fact]
    public async Task TheReceiveBlockSizeFollowsTheSetting() =>
        Assert.Equal(16 * 1024, await LargestBodyPieceAsync("16"));

    [Fact]
    public async Task ZeroKeepsTheFrameworksPoolOf4KiBBlocks() =>
        Assert.Equal(4096, await LargestBodyPieceAsync("0"));
}
