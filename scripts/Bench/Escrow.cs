using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OverlapEscrow.Application;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Data;

namespace OverlapEscrow.Bench;

/// <summary>Command-line options: --name value pairs.</summary>
public sealed class Options(Dictionary<string, string> values)
{
    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2) values[args[i].TrimStart('-')] = args[i + 1];
        return new Options(values);
    }

    public string Work => values.TryGetValue("work", out var w) ? w : throw new ArgumentException("--work is required");
    public int Records => values.TryGetValue("records", out var r) ? int.Parse(r, CultureInfo.InvariantCulture) : 1_000_000;
    public string? Targets => values.GetValueOrDefault("targets");

    /// <summary>Where the targets read as the issue's ratios to its same-run baselines go (scripts/bench's second summary).</summary>
    public string? Ratios => values.GetValueOrDefault("ratios");
    public bool Flag(string name) => values.TryGetValue(name, out var v) && v == "true";
    public string? Get(string name) => values.GetValueOrDefault(name);
}

/// <summary>
/// The escrow's application and storage over a data directory, wired as the service wires them (without the web host
/// or background services). A new instance over the same directory has empty caches: what a restarted service has.
/// </summary>
public sealed class Escrow : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    /// <summary>The PostgreSQL database every escrow of this process stores in (--postgres), or null: SQLite in the data directory.</summary>
    public static string? Postgres { get; set; }

    /// <summary>The database's name as the figures print it.</summary>
    public static string Database => Postgres is null ? "SQLite" : "PostgreSQL";

    private Escrow(ServiceProvider services) => _services = services;

    public static async Task<Escrow> OpenAsync(string dataDirectory, int cacheMiB = 4096)
    {
        Directory.CreateDirectory(dataDirectory);
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        if (Postgres is { } connectionString) services.AddPostgresStorage(connectionString, Path.Combine(dataDirectory, "postgres"));
        else services.AddSqliteStorage(Path.Combine(dataDirectory, "escrow.db"));
        services.AddSingleton(new EscrowSecrets(Path.Combine(dataDirectory, "secrets")));
        services.AddEscrowApplication();
        services.AddOptions<CacheOptions>().Configure(o => o.CacheBudgetMiB = cacheMiB);
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IStorageMigrations>().MigrateAsync(CancellationToken.None);
        // What every start of the service runs before it accepts a request, so a new escrow here is a started service, not a
        // process that has done nothing yet: a bare process paid ~40 ms for the keyring in its first load's data keys
        // (docs/performance.md, "Overlaps from stored columns", "A restart's first overlap").
        await StartSteps.RunAsync(provider, CancellationToken.None);
        return new Escrow(provider);
    }

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Runs <paramref name="sql"/> on the escrow's database (either provider), outside the stores.</summary>
    public async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var db = await Get<IDbConnectionFactory>().OpenAsync();
        await Dapper.SqlMapper.ExecuteAsync(db, sql, parameters);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}

/// <summary>Figures as the bench prints them, and the targets file scripts/bench summarizes.</summary>
public static class Report
{
    public static void Figure(string name, string value, string? baseline = null, string? ratio = null) =>
        Console.WriteLine($"  {name,-58} {value,14}" + (baseline is null ? "" : $"   baseline {baseline}") + (ratio is null ? "" : $"   ({ratio})"));

    public static void Target(Options options, string name, bool holds, string detail)
    {
        var line = $"{name}{(Escrow.Postgres is null ? "" : " on postgres")}: {(holds ? "HOLDS" : "MISSED")} ({detail})";
        Console.WriteLine("  target " + line);
        if (options.Targets is { } file) File.AppendAllText(file, line + Environment.NewLine);
    }

    /// <summary>
    /// A target read as the issue set it: its figures were measured beside a baseline in the same run ("ratios measured
    /// in one run on this machine"), so the target is also judged as that ratio to the same baseline measured now.
    /// </summary>
    public static void Ratio(Options options, string name, bool holds, string detail)
    {
        var line = $"{name}{(Escrow.Postgres is null ? "" : " on postgres")}: {(holds ? "HOLDS" : "MISSED")} ({detail})";
        Console.WriteLine("  ratio " + line);
        if (options.Ratios is { } file) File.AppendAllText(file, line + Environment.NewLine);
    }

    public static string Ms(double ms) => ms.ToString(ms < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " ms";

    public static string Times(double x) => x.ToString("0.0", CultureInfo.InvariantCulture) + "x";

    public static string Times2(double x) => x.ToString("0.00", CultureInfo.InvariantCulture) + "x";
}
