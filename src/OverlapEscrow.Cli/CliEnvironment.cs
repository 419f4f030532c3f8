using System.Net;
using System.Reflection;
using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli;

/// <summary>
/// What a run of the command line talks to: its output streams, the environment, and how it reaches the escrow.
/// The process uses the console and a real HttpClient; tests substitute writers and an in-process server.
/// </summary>
public sealed class CliEnvironment
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    /// <summary>Standard output as bytes, for NDJSON written by `hash` without --output.</summary>
    public required Func<Stream> OpenStandardOutput { get; init; }

    public Func<string, string?> GetVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>
    /// An HttpClient whose BaseAddress is the escrow's URL, its requests passing through the given handlers (the
    /// first outermost) before the transport. Commands add handlers only for what the API client does not know
    /// about, such as the X-Sync-Schedule header of `sync`.
    /// </summary>
    public Func<Uri, DelegatingHandler[], HttpClient> CreateHttpClient { get; init; } = DefaultHttpClient;

    /// <summary>Whether standard error is a terminal: progress bars are drawn only then.</summary>
    public bool ErrorIsTerminal { get; init; }

    /// <summary>Whether standard output is a terminal (tables then use its width and colours).</summary>
    public bool OutIsTerminal { get; init; }

    /// <summary>Retry settings of the API client (tests shorten the delays).</summary>
    public EscrowClientOptions ClientOptions { get; init; } = new();

    public static CliEnvironment FromConsole() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        OpenStandardOutput = Console.OpenStandardOutput,
        ErrorIsTerminal = !Console.IsErrorRedirected,
        OutIsTerminal = !Console.IsOutputRedirected,
    };

    private static HttpClient DefaultHttpClient(Uri server, DelegatingHandler[] handlers)
    {
        var version = typeof(CliEnvironment).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";
        HttpMessageHandler handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.All,
            ConnectTimeout = TimeSpan.FromSeconds(15),
            // Never followed: a redirect elsewhere would take the API key (the token request's client_secret) and the
            // hashed accounts with it. A 3xx answers as an error naming the status.
            AllowAutoRedirect = false,
        };
        for (var i = handlers.Length - 1; i >= 0; i--)
        {
            handlers[i].InnerHandler = handler;
            handler = handlers[i];
        }
        var http = new HttpClient(handler)
        {
            BaseAddress = server,
            // Uploads last as long as the file takes to send; the API client bounds every other call itself.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.UserAgent.ParseAdd($"overlap-escrow/{version}");
        return http;
    }
}
