using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>
/// The real service over a real SQLite file in a fresh temporary data directory. Settings can be overridden
/// per test class (limits, policies) before the first request.
/// </summary>
public sealed class EscrowApp : WebApplicationFactory<Program>
{
    public EscrowApp() : this(new Dictionary<string, string?>()) { }

    public EscrowApp(IDictionary<string, string?> settings, string? dataDirectory = null)
    {
        DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));
        Settings = new Dictionary<string, string?>(settings) { ["Escrow:DataDirectory"] = DataDirectory };
    }

    public string DataDirectory { get; }
    public Dictionary<string, string?> Settings { get; }
    public string DatabasePath => Path.Combine(DataDirectory, "escrow.db");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Logging:LogLevel:OverlapEscrow", "Debug");
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
    }

    /// <summary>A direct connection to the service's database file, for checks the API cannot make (what is at rest).</summary>
    public SqliteConnection OpenDatabase()
    {
        var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        return connection;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
