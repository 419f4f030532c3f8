using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>
/// Sends an HTTP/1.1 request written out as text over a socket, so a test shows the exact bytes a client library
/// sends (HttpClient would add, reorder or validate headers). Adds only what depends on the test server: Host,
/// Content-Length and Connection: close.
/// </summary>
public static class RawHttp
{
    public sealed record Response(int Status, IReadOnlyList<(string Name, string Value)> Headers, string Body)
    {
        public string? Header(string name) => Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

        /// <summary>The media type of Content-Type, without parameters.</summary>
        public string? MediaType => Header("Content-Type")?.Split(';')[0].Trim();

        public JsonObject Json => JsonNode.Parse(Body)!.AsObject();

        public override string ToString() => $"{Status} {string.Join("; ", Headers.Select(h => $"{h.Name}: {h.Value}"))}\n{Body}";
    }

    /// <param name="request">Request line, headers, a blank line and the body, with \n or \r\n line ends.</param>
    public static async Task<Response> SendAsync(Uri server, string request)
    {
        var text = request.ReplaceLineEndings("\n");
        var split = text.IndexOf("\n\n", StringComparison.Ordinal);
        var head = (split < 0 ? text : text[..split]).Split('\n').ToList();
        var body = Encoding.UTF8.GetBytes(split < 0 ? "" : text[(split + 2)..]);
        head.Insert(1, $"Host: {server.Authority}");
        head.Add($"Content-Length: {body.Length}");
        head.Add("Connection: close");

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(string.Join("\r\n", head) + "\r\n\r\n"));
        await stream.WriteAsync(body);
        await stream.FlushAsync();

        using var received = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await stream.CopyToAsync(received, timeout.Token);
        return Parse(received.ToArray());
    }

    /// <summary>A response as read off a socket (by <see cref="RawUpload"/>, say): status, headers and the body, de-chunked.</summary>
    public static Response Parse(string raw) => Parse(Encoding.UTF8.GetBytes(raw));

    private static Response Parse(byte[] raw)
    {
        var end = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        var lines = Encoding.ASCII.GetString(raw, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1]);
        var headers = lines.Skip(1).Select(l => (Name: l[..l.IndexOf(':')], Value: l[(l.IndexOf(':') + 1)..].Trim())).ToList();
        var content = raw.AsSpan(end + 4).ToArray();
        if (headers.Any(h => h.Name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && h.Value.Contains("chunked")))
            content = Dechunk(content);
        return new Response(status, headers, Encoding.UTF8.GetString(content));
    }

    private static byte[] Dechunk(byte[] chunked)
    {
        using var body = new MemoryStream();
        var at = 0;
        while (true)
        {
            var lineEnd = chunked.AsSpan(at).IndexOf("\r\n"u8) + at;
            var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked, at, lineEnd - at).Split(';')[0], 16);
            if (size == 0) return body.ToArray();
            body.Write(chunked, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
