using System.Net.Sockets;
using System.Text;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>
/// Sends an upload as a raw chunked HTTP/1.1 request over a socket, in two parts with an action between them,
/// optionally dropping the connection after the first part. HttpClient buffers small bodies before sending, so
/// it cannot stage "the server has half of the upload"; a socket can.
/// </summary>
public static class RawUpload
{
    public sealed record Result(bool BetweenResult, string Response);

    public static async Task<Result> SendAsync(HttpClient authorized, string path, byte[] body, int split, Func<Task<bool>> between,
        bool abortAfterFirstPart = false, string contentType = "application/x-ndjson", IReadOnlyDictionary<string, string>? headers = null)
    {
        var server = authorized.BaseAddress!;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        var head = $"PUT {path} HTTP/1.1\r\nHost: {server.Authority}\r\nAuthorization: {authorized.DefaultRequestHeaders.Authorization}\r\n" +
                   $"Content-Type: {contentType}\r\nTransfer-Encoding: chunked\r\n" +
                   string.Concat((headers ?? new Dictionary<string, string>()).Select(h => $"{h.Key}: {h.Value}\r\n")) + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await WriteChunk(stream, body.AsMemory(0, split));
        await stream.FlushAsync();
        var result = await between();
        if (abortAfterFirstPart)
        {
            tcp.Client.LingerState = new LingerOption(true, 0); // close with a reset, as a dropped connection does
            tcp.Close();
            return new Result(result, "");
        }
        await WriteChunk(stream, body.AsMemory(split));
        await stream.WriteAsync("0\r\n\r\n"u8.ToArray());
        await stream.FlushAsync();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = new StringBuilder();
        var buffer = new char[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!response.ToString().Contains("\r\n0\r\n\r\n") && !timeout.IsCancellationRequested)
        {
            var n = await reader.ReadAsync(buffer, timeout.Token);
            if (n == 0) break;
            response.Append(buffer, 0, n);
        }
        return new Result(result, response.ToString());
    }

    private static async Task WriteChunk(NetworkStream stream, ReadOnlyMemory<byte> data)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{data.Length:x}\r\n"));
        await stream.WriteAsync(data);
        await stream.WriteAsync("\r\n"u8.ToArray());
    }
}
