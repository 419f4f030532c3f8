using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;

namespace OverlapEscrow.Cli.Tests.Infrastructure;

/// <summary>
/// The real escrow service, in-process, over a real SQLite file in a fresh temporary data directory (the same
/// set-up as the API's integration tests, reduced to what the command line needs).
/// </summary>
public sealed class EscrowApp : WebApplicationFactory<Program>
{
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "oe-cli-tests", Guid.NewGuid().ToString("N"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Escrow:DataDirectory", DataDirectory);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        // Argon2id at its smallest settings: the tests sign up and log in often.
        builder.UseSetting("Escrow:Passwords:MemoryKiB", "1024");
        builder.UseSetting("Escrow:Passwords:Iterations", "1");
        builder.UseSetting("Escrow:Passwords:Parallelism", "1");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
