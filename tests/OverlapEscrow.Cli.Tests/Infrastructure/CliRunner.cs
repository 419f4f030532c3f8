using System.Text;
using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli.Tests.Infrastructure;

/// <summary>What a run of the command line printed, and its exit code.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error, byte[] StandardOutputBytes)
{
    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
}

/// <summary>Runs the command line in-process, with its HTTP calls going to an in-process escrow.</summary>
public static class CliRunner
{
    /// <summary>A run that makes no HTTP calls.</summary>
    public static Task<CliResult> RunAsync(params string[] args) => RunWithHandlersAsync(null, null, args);

    /// <summary>A run against the in-process escrow, with an optional API key in OVERLAP_ESCROW_API_KEY.</summary>
    public static Task<CliResult> RunAsync(EscrowApp app, string? apiKeyVariable, params string[] args) =>
        RunWithHandlersAsync(app.CreateDefaultClient,
            apiKeyVariable is null ? null : new Dictionary<string, string> { [CliApp.ApiKeyVariable] = apiKeyVariable }, args);

    /// <summary>A run whose HTTP client the test builds; for commands that add no handlers of their own.</summary>
    public static Task<CliResult> RunWithHttpAsync(Func<Uri, HttpClient> http, IDictionary<string, string>? environment, params string[] args) =>
        RunWithHandlersAsync((uri, handlers) => handlers.Length == 0
            ? http(uri)
            : throw new InvalidOperationException("The command adds HTTP handlers; build the client with RunWithHandlersAsync."), environment, args);

    /// <summary>A run whose HTTP client the test builds around the handlers the command adds (e.g. `sync`'s X-Sync-Schedule).</summary>
    public static async Task<CliResult> RunWithHandlersAsync(Func<Uri, DelegatingHandler[], HttpClient>? http, IDictionary<string, string>? environment,
        params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var bytes = new MemoryStream();
        var env = new CliEnvironment
        {
            Out = stdout,
            Error = stderr,
            OpenStandardOutput = () => new NonClosingStream(bytes),
            GetVariable = name => environment?.TryGetValue(name, out var value) == true ? value : null,
            CreateHttpClient = http ?? ((_, _) => throw new InvalidOperationException("This test makes no HTTP calls.")),
            ClientOptions = new EscrowClientOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1), MaxRetryDelay = TimeSpan.FromMilliseconds(10) },
        };
        var exit = await CliApp.RunAsync(args, env);
        return new CliResult(exit, stdout.ToString(), stderr.ToString(), bytes.ToArray());
    }

    /// <summary>The partner sample files (tests/data/partners), found above the test binaries.</summary>
    public static string PartnerFile(string partner, string population) => RepositoryFile("tests", "data", "partners", partner, population + ".csv");

    /// <summary>A file of the repository, found above the test binaries.</summary>
    public static string RepositoryFile(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine([dir.FullName, .. parts]);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"{string.Join('/', parts)} not found above the test binaries.");
    }

    /// <summary>The column options for the partner sample's header.</summary>
    public static readonly string[] SampleColumns =
    [
        "--id-column", "Account ID", "--domain-column", "Website", "--email-column", "Primary Contact Email",
        "--name-column", "Account Name", "--country-column", "Billing Country",
        "--attribute", "Account Name", "--attribute", "Owner", "--attribute", "Stage",
    ];

    /// <summary>A temporary file with the given content, deleted with the returned handle.</summary>
    public static TempFile Temp(string content, string extension = ".csv", bool bom = false) => new(content, extension, bom);

    public sealed class TempFile : IDisposable
    {
        public TempFile(string content, string extension, bool bom)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"oe-cli-{Guid.NewGuid():N}{extension}");
            File.WriteAllText(Path, content, new UTF8Encoding(bom));
        }

        public string Path { get; }

        public void Dispose() => File.Delete(Path);
    }

    /// <summary>A temporary directory, deleted with everything in it with the returned handle.</summary>
    public static TempDirectory TempDir() => new();

    public sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"oe-cli-{Guid.NewGuid():N}")).FullName;

        /// <summary>Writes a file under the directory (creating its sub-directories) and returns its full path.</summary>
        public string Write(string relativePath, string content)
        {
            var full = System.IO.Path.Combine(Path, relativePath);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content, new UTF8Encoding(false));
            return full;
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
