using System.ComponentModel.DataAnnotations;

namespace OverlapEscrow.Api.Extensions;

/// <summary>
/// The host's settings under the "Escrow" configuration section (environment: Escrow__Name). The use cases' settings
/// (uploads, caches, history, webhooks, schedules, outbound HTTP) are bound from their own sections in StorageExtensions.
/// </summary>
public sealed class EscrowOptions
{
    public const string Section = "Escrow";

    /// <summary>Where the database and, unless <see cref="SecretsDirectory"/> says otherwise, the secrets live.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>Where the token, master and signing keys live; defaults to DataDirectory/secrets.
    /// Keep it off the database's backup path so that a stolen backup cannot be re-keyed.</summary>
    public string? SecretsDirectory { get; set; }

    /// <summary>
    /// Where organizations' data keys live (wrapped by the master key); defaults to SecretsDirectory/keyring. Keep it,
    /// like the secrets, off the path database backups take: destroying an organization's keys here is what erases it
    /// from every backup (docs/operations.md).
    /// </summary>
    public string? KeyringDirectory { get; set; }

    [Range(1, 1440)]
    public int AccessTokenMinutes { get; set; } = 15;

    [Range(1, 365)]
    public int RefreshTokenDays { get; set; } = 30;

    /// <summary>The directory of the secrets, as configured or by default.</summary>
    public string SecretsPath => SecretsDirectory ?? Path.Combine(DataDirectory, "secrets");

    /// <summary>The directory of the keyring, as configured or by default.</summary>
    public string KeyringPath => KeyringDirectory ?? Path.Combine(SecretsPath, "keyring");

    /// <summary>
    /// Seconds an instance that is told to stop keeps serving, with <c>/readyz</c> answering 503, before it stops
    /// listening: a load balancer's readiness probe sees it leave and sends no new request to a closed port
    /// (docs/operations.md, "The balancer's checks"). 0, the default, stops at once; behind a balancer set it to the
    /// probe interval times its failure threshold. The host's shutdown timeout is raised to cover it.
    /// </summary>
    [Range(0, 300)]
    public int ShutdownDrainSeconds { get; set; }

    public DemoOptions Demo { get; set; } = new();

    /// <summary>Escrow:Database: SQLite in the data directory (the default) or PostgreSQL.</summary>
    public DatabaseOptions Database { get; set; } = new();
}

public sealed class DemoOptions
{
    /// <summary>Load the demo organizations at start-up (the --demo switch sets it).</summary>
    public bool Enabled { get; set; }

    /// <summary>The password of the demo members; only used when Enabled.</summary>
    public string Password { get; set; } = "demo-password-1";
}
