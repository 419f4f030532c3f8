using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Matching;

namespace OverlapEscrow.Api.Dashboard.Syncs;

/// <summary>A schedule as its form holds it; field names are the API's JSON paths, so validation errors land next to their field.</summary>
public sealed class ScheduleForm
{
    public string? Name { get; set; }
    public string? Cron { get; set; } = "30 2 * * *";
    public string? TimeZone { get; set; } = "UTC";
    public bool Enabled { get; set; } = true;
    public string Action { get; set; } = "pull";
    public string? PopulationId { get; set; }
    public string Format { get; set; } = "ndjson";
    public string OnError { get; set; } = "reject";
    public string Source { get; set; } = "url";
    public string? Url { get; set; }
    public string? SecretHeaderName { get; set; }
    public string? SecretHeaderValue { get; set; }
    public bool SecretConfigured { get; set; }
    public string? Directory { get; set; }
    public string? Pattern { get; set; }

    /// <summary>The hashing specification version of the source; a new schedule assumes the current client's.</summary>
    public string HashingSpec { get; set; } = HashingSpecs.Wire(HashingSpecs.Current);

    public static ScheduleForm Read(IFormCollection f) => new()
    {
        Name = f["name"], Cron = f["cron"], TimeZone = f["timeZone"], Enabled = f["enabled"] == "true", Action = f["action"].ToString() is { Length: > 0 } a ? a : "pull",
        PopulationId = f["pull.populationId"], Format = f["pull.format"].ToString() is { Length: > 0 } fm ? fm : "ndjson",
        OnError = f["pull.onError"].ToString() is { Length: > 0 } oe ? oe : "reject", Source = f["source"] == "directory" ? "directory" : "url",
        Url = f["pull.url"], SecretHeaderName = f["pull.secretHeader.name"], SecretHeaderValue = f["pull.secretHeader.value"],
        Directory = f["pull.directory"], Pattern = f["pull.pattern"], HashingSpec = f["pull.hashingSpec"].ToString(),
    };

    public static ScheduleForm From(Schedule s) => new()
    {
        Name = s.Name, Cron = s.Cron, TimeZone = s.TimeZone, Enabled = s.Enabled, Action = s.Kind == ScheduleKind.Pull ? "pull" : "refresh",
        PopulationId = s.PopulationId, Format = s.Format ?? "ndjson", OnError = s.OnError ?? "reject", Source = s.SourceDirectory is null ? "url" : "directory",
        Url = s.SourceUrl, SecretHeaderName = s.SecretHeaderName, SecretConfigured = s.SecretValue is not null, Directory = s.SourceDirectory, Pattern = s.SourcePattern,
        HashingSpec = HashingSpecs.Wire(s.HashingSpec),
    };

    /// <summary>The use case's input: an empty secret value keeps the stored one (as leaving it out does in the API).</summary>
    public ScheduleInput ToInput() => new(Name, Cron, TimeZone, Enabled, Action, Action != "pull" ? null : new PullInput(
        string.IsNullOrEmpty(PopulationId) ? null : PopulationId, Format, OnError,
        Source == "url" ? Empty(Url) ?? "" : null,
        Source == "url" && !string.IsNullOrWhiteSpace(SecretHeaderName) ? new SecretHeaderInput(SecretHeaderName, Empty(SecretHeaderValue)) : null,
        Source == "directory" ? Empty(Directory) ?? "" : null,
        Source == "directory" ? Empty(Pattern) : null,
        HashingSpec));

    public ScheduleForm WithEnabled(bool enabled)
    {
        var copy = (ScheduleForm)MemberwiseClone();
        copy.Enabled = enabled;
        return copy;
    }

    private static string? Empty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
