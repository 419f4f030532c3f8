using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Tests.Shared;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>
/// The real service over a real SQLite file in a fresh temporary data directory — or, in the run that repeats the
/// storage-touching classes on PostgreSQL (<see cref="OnPostgres"/>), over a fresh PostgreSQL database. Settings can be
/// overridden per test class (limits, policies) before the first request.
/// </summary>
public sealed class EscrowApp : WebApplicationFactory<Program>
{
    private readonly bool _ownsDataDirectory;
    private readonly bool _kestrel;

    public EscrowApp() : this(new Dictionary<string, string?>()) { }

    /// <param name="kestrel">Serve over real HTTP on a loopback port instead of the in-memory test server, for tests
    /// where request bodies must stream as they do on a network (the test server buffers some of them).</param>
    /// <param name="time">The service's clock instead of the system's (a <see cref="ManualTimeProvider"/>, say).</param>
    public EscrowApp(IDictionary<string, string?> settings, string? dataDirectory = null, bool kestrel = false, TimeProvider? time = null)
    {
        _ownsDataDirectory = dataDirectory is null;
        DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));
        Settings = new Dictionary<string, string?>(FastPasswords) { ["Escrow:DataDirectory"] = DataDirectory };
        if (OnPostgres)
        {
            PostgresDatabase = TestPostgres.DatabaseOf(DataDirectory);
            Settings["Escrow:Database:Provider"] = "postgres";
            Settings["Escrow:Database:ConnectionString"] = TestPostgres.ConnectionString(PostgresDatabase);
        }
        foreach (var (key, value) in settings) Settings[key] = value;
        Time = time;
        _kestrel = kestrel;
        if (kestrel) UseKestrel(0);
    }

    /// <summary>
    /// A client as the factory's own <c>CreateClient()</c> makes it (redirects followed, cookies kept), whose answers
    /// of 500 and above carry the last unhandled exceptions in full in their reason phrase, so a test that fails on an
    /// unexpected 500 (<c>EnsureSuccessStatusCode</c>, <c>GetStringAsync</c>) says which exception it was.
    /// </summary>
    /// <remarks>Over real HTTP (<c>kestrel</c>), the factory's own client, unchanged: the server's address is known only once it has started.</remarks>
    public new HttpClient CreateClient() => _kestrel ? base.CreateClient() : CreateClient(ClientOptions);

    /// <inheritdoc cref="CreateClient()"/>
    public new HttpClient CreateClient(WebApplicationFactoryClientOptions options)
    {
        if (_kestrel) return base.CreateClient(options);
        var handlers = new List<DelegatingHandler>();
        if (options.AllowAutoRedirect) handlers.Add(new Microsoft.AspNetCore.Mvc.Testing.Handlers.RedirectHandler(options.MaxAutomaticRedirections));
        if (options.HandleCookies) handlers.Add(new Microsoft.AspNetCore.Mvc.Testing.Handlers.CookieContainerHandler());
        handlers.Add(new ServerErrorsInReason(Logs, Exceptions));
        return CreateDefaultClient(options.BaseAddress, [.. handlers]);
    }

    /// <summary>
    /// Argon2id at its smallest settings: hundreds of sign-ups and logins per run would otherwise spend minutes in
    /// 64 MiB hashes. The RFC 9106 defaults themselves are tested in PasswordHashingTests.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> FastPasswords = new Dictionary<string, string?>
    {
        ["Escrow:Passwords:MemoryKiB"] = "1024", ["Escrow:Passwords:Iterations"] = "1", ["Escrow:Passwords:Parallelism"] = "1",
    };

    public string DataDirectory { get; }
    public TimeProvider? Time { get; }

    /// <summary>
    /// This run puts every EscrowApp on PostgreSQL: scripts/test's second pass over the classes marked
    /// <c>[Trait("AlsoOn", "postgres")]</c> sets OE_TEST_API_PROVIDER=postgres beside OE_TEST_POSTGRES.
    /// </summary>
    public static bool OnPostgres => Environment.GetEnvironmentVariable("OE_TEST_API_PROVIDER") == "postgres" && TestPostgres.Server is not null;

    /// <summary>The PostgreSQL database of this app (shared by apps on the same data directory), or null on SQLite.</summary>
    public string? PostgresDatabase { get; }

    /// <summary>
    /// When set, the privacy mechanism draws its noise from a deterministic source with this seed instead of the
    /// operating system's secure generator, so a test's noise is reproducible (as long as its draws happen in the same order).
    /// </summary>
    public ulong? RandomSeed { get; init; }

    /// <summary>Replaces services after the application's own registrations (a recording event sink, say).</summary>
    public Action<IServiceCollection>? TestServices { get; init; }
    public Dictionary<string, string?> Settings { get; }
    public string DatabasePath => Path.Combine(DataDirectory, "escrow.db");

    /// <summary>Every log line the service wrote, formatted, with any exception in full.</summary>
    public ConcurrentQueue<string> Logs { get; } = new();

    /// <summary>
    /// Every unhandled exception of a request, in full (type, message, stack): kept apart from <see cref="Logs"/>, which
    /// holds only what the service logs (and is checked for stack traces), to say what an unexpected 500 was.
    /// </summary>
    public ConcurrentQueue<string> Exceptions { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Logging:LogLevel:Default", "Information");
        builder.UseSetting("Logging:LogLevel:OverlapEscrow", "Debug");
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
        builder.ConfigureLogging(logging => logging.AddProvider(new CapturingLoggerProvider(Logs)));
        // First in line of the exception handlers: keeps an unhandled exception in full in this test's memory (the service
        // itself logs only its type, no message or stack), then lets the service's own handler answer as it would.
        builder.ConfigureTestServices(services => services.Insert(0, ServiceDescriptor.Singleton<Microsoft.AspNetCore.Diagnostics.IExceptionHandler>(new ExceptionsInFull(Exceptions))));
        // Registered last, so it replaces TimeProvider.System for every service that takes a TimeProvider.
        if (Time is { } time) builder.ConfigureTestServices(services => services.AddSingleton(time));
        if (RandomSeed is { } seed)
            builder.ConfigureTestServices(services => services.AddSingleton<OverlapEscrow.Domain.Privacy.IRandomBits>(new SeededRandomBits(seed)));
        if (TestServices is { } configure) builder.ConfigureTestServices(configure);
    }

    /// <summary>A direct connection to the service's database file, for checks the API cannot make (what is at rest).</summary>
    public SqliteConnection OpenDatabase()
    {
        if (OnPostgres) throw new InvalidOperationException("This test reads the SQLite file directly: it cannot run in the PostgreSQL pass.");
        var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        return connection;
    }

    /// <summary>
    /// A direct connection to the service's database, whichever provider this run uses, for checks written in SQL both
    /// dialects share (what the log holds, a rename no endpoint offers). Bytes at rest are <see cref="OpenDatabase"/>'s.
    /// </summary>
    public System.Data.Common.DbConnection OpenAnyDatabase()
    {
        if (!OnPostgres) return OpenDatabase();
        var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString(PostgresDatabase!)) { Pooling = false }.ConnectionString);
        connection.Open();
        return connection;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        SqliteConnection.ClearAllPools();
        // A second instance on the same directory (a restart, two instances) leaves it to the one that made it.
        if (!_ownsDataDirectory) return;
        if (PostgresDatabase is not null) TestPostgres.Drop(PostgresDatabase);
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The PostgreSQL server of the test run (OE_TEST_POSTGRES) and the fresh databases the apps get on it.</summary>
public static class TestPostgres
{
    public static string? Server => Environment.GetEnvironmentVariable("OE_TEST_POSTGRES") is { Length: > 0 } s ? s : null;

    public static string ConnectionString(string database) =>
        new Npgsql.NpgsqlConnectionStringBuilder(Server!) { Database = database }.ConnectionString;

    /// <summary>The database of a data directory: made (empty, randomly named) by the first app on it, found by the others.</summary>
    public static string DatabaseOf(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var marker = Path.Combine(dataDirectory, "test-postgres-database");
        if (File.Exists(marker)) return File.ReadAllText(marker).Trim();
        var name = "oe_api_" + Guid.NewGuid().ToString("N");
        Admin($"CREATE DATABASE {name}");
        File.WriteAllText(marker, name);
        return name;
    }

    public static void Drop(string database)
    {
        try { Admin($"DROP DATABASE IF EXISTS {database} WITH (FORCE)"); }
        catch (Npgsql.NpgsqlException) { } // the server went first (the run is ending): the cluster is thrown away anyway
    }

    private static void Admin(string sql)
    {
        using var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(Server!) { Pooling = false }.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

/// <summary>Keeps log lines in memory so tests can check what the service writes to its logs.</summary>
/// <summary>Records an unhandled exception in full (<see cref="EscrowApp.Exceptions"/>), and leaves the answer to the service's handler.</summary>
public sealed class ExceptionsInFull(ConcurrentQueue<string> exceptions) : Microsoft.AspNetCore.Diagnostics.IExceptionHandler
{
    public ValueTask<bool> TryHandleAsync(Microsoft.AspNetCore.Http.HttpContext http, Exception exception, CancellationToken ct)
    {
        exceptions.Enqueue($"{http.Request.Method} {http.Request.Path}: {exception}");
        return ValueTask.FromResult(false);
    }
}

/// <summary>Puts the last unhandled exceptions (or, if none was kept, the service's last logged errors) into the reason phrase of an answer of 500 and above (see <see cref="EscrowApp.CreateClient()"/>).</summary>
public sealed class ServerErrorsInReason(ConcurrentQueue<string> logs, ConcurrentQueue<string> exceptions) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if ((int)response.StatusCode < 500) return response;
        // The exceptions in full (ExceptionsInFull) where there are any, else whatever errors were logged.
        var errors = exceptions.TakeLast(2).ToList();
        if (errors.Count == 0) errors = logs.Where(l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal)).TakeLast(2).ToList();
        var text = string.Join(" | ", errors).ReplaceLineEndings(" / ");
        if (text.Length > 6000) text = text[..6000];
        response.ReasonPhrase = $"{response.ReasonPhrase}; service log: {(text.Length == 0 ? "no error logged" : text)}";
        return response;
    }
}

public sealed class CapturingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, sink);

    public void Dispose() { }

    private sealed class Logger(string category, ConcurrentQueue<string> sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
