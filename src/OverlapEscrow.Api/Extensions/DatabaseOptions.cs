using Microsoft.Extensions.Options;

namespace OverlapEscrow.Api.Extensions;

/// <summary>
/// Escrow:Database: which database the escrow keeps its state in (docs/operations.md, "Choosing the database"). SQLite,
/// the default, is a file in the data directory; PostgreSQL is a server named by a connection string, which several
/// instances of the service may share.
/// </summary>
public sealed class DatabaseOptions
{
    public const string Section = EscrowOptions.Section + ":Database";

    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    /// <summary><c>sqlite</c> (the default: DataDirectory/escrow.db) or <c>postgres</c>.</summary>
    public string? Provider { get; set; }

    /// <summary>
    /// PostgreSQL only: an Npgsql connection string (Host, Port, Database, Username, Password, SSL Mode…). It usually holds a
    /// password: give it through the environment (Escrow__Database__ConnectionString) or a secrets file, never the repository.
    /// </summary>
    public string? ConnectionString { get; set; }

    public bool IsPostgres => string.Equals(Provider?.Trim(), Postgres, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// What is wrong with the settings, as messages naming the setting; empty when they are usable. No message ever
    /// repeats the connection string (or any part of it): it may hold a password. <paramref name="connectionStringProblem"/>
    /// judges the connection string itself (the data layer knows the driver's syntax).
    /// </summary>
    public IReadOnlyList<string> Problems(Func<string, string?> connectionStringProblem)
    {
        var provider = Provider?.Trim();
        if (!string.IsNullOrEmpty(provider) && !provider.Equals(Sqlite, StringComparison.OrdinalIgnoreCase) && !IsPostgres)
            return [$"{Section}:Provider must be '{Sqlite}' (the default) or '{Postgres}'."];
        if (!IsPostgres)
            return string.IsNullOrWhiteSpace(ConnectionString)
                ? []
                : [$"{Section}:ConnectionString is set but {Section}:Provider is not '{Postgres}': set the provider to '{Postgres}', or remove the " +
                   "connection string to keep the SQLite file in the data directory."];
        if (string.IsNullOrWhiteSpace(ConnectionString))
            return [$"{Section}:ConnectionString is required when {Section}:Provider is '{Postgres}' (Escrow__Database__ConnectionString in the environment)."];
        return connectionStringProblem(ConnectionString) is { } problem ? [$"{Section}:ConnectionString {problem}"] : [];
    }

    /// <summary>Stops the start with every problem of <see cref="Problems"/>, like the other settings validated at start-up.</summary>
    public void ThrowIfInvalid(Func<string, string?> connectionStringProblem)
    {
        if (Problems(connectionStringProblem) is { Count: > 0 } problems) throw new OptionsValidationException(Section, typeof(DatabaseOptions), problems);
    }
}
