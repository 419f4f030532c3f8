using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Tests.Infrastructure;

namespace OverlapEscrow.Api.Tests;

/// <summary>Escrow:Database is checked before anything starts, and no message or log line repeats the connection string.</summary>
public sealed class DatabaseSettingsTests
{
    private const string Password = "hunter2-not-for-logs";

    private static (Exception Failure, EscrowApp App) StartWith(string? provider, string? connectionString)
    {
        var app = new EscrowApp(new Dictionary<string, string?>
        {
            ["Escrow:Database:Provider"] = provider, ["Escrow:Database:ConnectionString"] = connectionString,
        });
        var failure = Assert.ThrowsAny<Exception>(() => app.CreateClient());
        return (failure is AggregateException { InnerException: { } inner } ? inner : failure, app);
    }

    private static string Everything(Exception failure, EscrowApp app) => failure + "\n" + string.Join('\n', app.Logs);

    [Fact]
    public void AnUnknownProviderStopsTheServiceAtStartUpNamingTheSetting()
    {
        var (failure, app) = StartWith("mysql", null);
        using var _ = app;
        var validation = Assert.IsType<OptionsValidationException>(failure);
        Assert.Contains("Escrow:Database:Provider must be 'sqlite' (the default) or 'postgres'", validation.Message);
    }

    [Fact]
    public void PostgresWithoutAConnectionStringStopsTheServiceAtStartUp()
    {
        var (failure, app) = StartWith("postgres", null);
        using var _ = app;
        Assert.Contains("Escrow:Database:ConnectionString is required", Assert.IsType<OptionsValidationException>(failure).Message);
    }

    [Fact]
    public void AConnectionStringWithoutThePostgresProviderStopsTheStartInsteadOfQuietlyStayingOnSqlite()
    {
        var (failure, app) = StartWith(null, $"Host=db.example;Database=escrow;Password={Password}");
        using var _ = app;
        var validation = Assert.IsType<OptionsValidationException>(failure);
        Assert.Contains("Escrow:Database:ConnectionString is set but Escrow:Database:Provider is not 'postgres'", validation.Message);
        Assert.DoesNotContain(Password, Everything(failure, app));
    }

    [Theory]
    [InlineData($"Host=db.example;Database=escrow;Password={Password};Frobnicate=yes")]
    [InlineData($"Host=db.example;Database=escrow;Port=not-a-port;Password={Password}")]
    [InlineData($"Database=escrow;Password={Password}")]
    [InlineData($"Host=db.example;Password={Password}")]
    public void AnUnusableConnectionStringStopsTheStartWithoutRepeatingIt(string connectionString)
    {
        var (failure, app) = StartWith("postgres", connectionString);
        using var _ = app;
        Assert.Contains("Escrow:Database:ConnectionString", Assert.IsType<OptionsValidationException>(failure).Message);
        Assert.DoesNotContain(Password, Everything(failure, app));
        Assert.DoesNotContain("db.example", failure.Message);
    }

    [Fact]
    public void AnUnreachableServerFailsTheStartWithoutThePasswordInTheErrorOrTheLogs()
    {
        // Port 1 on the loopback interface: nothing listens, the connection is refused at once.
        var (failure, app) = StartWith("Postgres", $"Host=127.0.0.1;Port=1;Database=escrow;Username=escrow;Password={Password};Timeout=5");
        using var _ = app;
        Assert.IsNotType<OptionsValidationException>(failure);
        Assert.DoesNotContain(Password, Everything(failure, app));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("", true)]
    [InlineData("SQLite", true)]
    [InlineData("sqlite", true)]
    [InlineData("postgresql", false)]
    [InlineData("pg", false)]
    public void SqliteIsTheDefaultAndTheProviderNameIgnoresCase(string? provider, bool usable)
    {
        var options = new DatabaseOptions { Provider = provider };
        Assert.Equal(usable, options.Problems(_ => null).Count == 0);
        Assert.False(options.IsPostgres);
        Assert.True(new DatabaseOptions { Provider = " POSTGRES ", ConnectionString = "Host=h;Database=d" }.IsPostgres);
    }

    [Theory]
    [InlineData("sqlite", $"Host=db.example;Database=escrow;Password={Password}", "The service did not start: Escrow:Database:ConnectionString is set but")]
    [InlineData("postgres", $"Host=127.0.0.1;Port=1;Database=escrow;Username=escrow;Password={Password}", "The service stopped: NpgsqlException")]
    public async Task TheServicesProcessStopsWithOneLineAndNoStackTrace(string provider, string connectionString, string line)
    {
        // As an operator starts it: a setting that is wrong, or a database that cannot be reached, is one line on the
        // console and exit code 1 — not an unhandled exception with its stack trace (an abort, for the database).
        var directory = Directory.CreateTempSubdirectory("oe-start-").FullName;
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo(ServiceProcess.DotnetHost())
            {
                WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            start.ArgumentList.Add(ServiceProcess.ApiAssembly());
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add("http://127.0.0.1:0");
            start.Environment["Escrow__DataDirectory"] = directory;
            start.Environment["Escrow__Database__Provider"] = provider;
            start.Environment["Escrow__Database__ConnectionString"] = connectionString;
            using var process = System.Diagnostics.Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
            var output = await stdout + "\n" + await stderr;
            Assert.True(process.ExitCode == 1, $"exit {process.ExitCode}: {output}");
            Assert.Equal([line], (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[..Math.Min(line.Length, l.Length)]));
            Assert.DoesNotContain("   at ", output);
            Assert.DoesNotContain("Unhandled exception", output);
            Assert.DoesNotContain(Password, output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
