using OverlapEscrow.Domain;
using System.Net;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Outbound;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Matching;

namespace OverlapEscrow.Application.Schedules;

/// <summary>A schedule as created or replaced. <see cref="Pull"/> is required for action "pull" and absent for "refresh".</summary>
public sealed record ScheduleInput(string? Name, string? Cron, string? TimeZone, bool? Enabled, string? Action, PullInput? Pull);

/// <summary>
/// Where a pull gets its snapshot: <see cref="Url"/> (with an optional secret header) or <see cref="Directory"/>
/// and <see cref="Pattern"/>, never both.
/// </summary>
/// <see cref="HashingSpec"/> is the hashing specification version the source is hashed under ("v2"), as an upload's
/// Hashing-Spec header; absent is v1.
public sealed record PullInput(string? PopulationId, string? Format, string? OnError, string? Url, SecretHeaderInput? SecretHeader, string? Directory, string? Pattern,
    string? HashingSpec = null);

/// <summary>A header sent with every pull request, e.g. Authorization. On replace, leave out <see cref="Value"/> to keep the stored one.</summary>
public sealed record SecretHeaderInput(string? Name, string? Value);

/// <summary>A request that passed validation, normalized; the secret value is still in the clear here and sealed by the caller.</summary>
public sealed record ValidSchedule(
    string Name,
    CronSchedule Cron,
    bool Enabled,
    ScheduleKind Kind,
    string? PopulationId,
    string? Format,
    string? OnError,
    string? Url,
    string? SecretHeaderName,
    string? NewSecretValue,
    bool KeepSecret,
    string? Directory,
    string? Pattern,
    int HashingSpec = HashingSpecs.Oldest);

/// <summary>Checks a schedule request field by field; every problem is reported under its JSON path.</summary>
public sealed class ScheduleValidation(IPopulationRepository populations, IOptions<ScheduleOptions> schedules, IOptions<OutboundOptions> outbound)
{
    public const int MaxNameLength = 100;
    public const int MaxUrlLength = 2048;
    public const int MaxSecretLength = 4096;

    /// <summary>Headers that would change how the request is framed or routed, not authenticate it.</summary>
    private static readonly HashSet<string> ForbiddenHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "TE", "Trailer",
        "Proxy-Authorization", "Proxy-Connection", "Expect", "Content-Encoding", "Accept-Encoding",
    };

    /// <param name="existing">The schedule being replaced, whose stored secret may be kept.</param>
    public async Task<ValidSchedule?> ValidateAsync(ScheduleInput request, string organizationId, Schedule? existing, FieldErrors errors, CancellationToken ct)
    {
        var name = request.Name?.Trim();
        errors.Check(!string.IsNullOrEmpty(name) && name.Length <= MaxNameLength && PlainText.IsPlain(name),
            "name", $"name is 1-{MaxNameLength} printable characters.");
        if (CronSchedule.ExpressionError(request.Cron) is { } cronError) errors.Add("cron", cronError);
        if (CronSchedule.TimeZoneError(request.TimeZone) is { } zoneError) errors.Add("timeZone", zoneError);
        var action = request.Action;
        if (action is not ("pull" or "refresh"))
        {
            errors.Add("action", "action is pull (fetch a snapshot and upload it) or refresh (recompute the organization's overlaps).");
            return null;
        }

        string? populationId = null, format = null, onError = null, url = null, headerName = null, newSecret = null, directory = null, pattern = null;
        var keepSecret = false;
        var hashingSpec = HashingSpecs.Oldest;
        var kind = action == "pull" ? ScheduleKind.Pull : ScheduleKind.Refresh;
        if (kind == ScheduleKind.Refresh)
        {
            errors.Check(request.Pull is null, "pull", "Only a pull schedule has a pull source.");
        }
        else if (request.Pull is not { } pull)
        {
            errors.Add("pull", "A pull schedule needs pull.populationId and either pull.url or pull.directory.");
        }
        else
        {
            populationId = pull.PopulationId;
            if (string.IsNullOrEmpty(populationId) || await populations.GetAsync(organizationId, populationId, ct) is null)
                errors.Add("pull.populationId", "No population with that id is visible to you.");
            format = pull.Format ?? "ndjson";
            errors.Check(format is "ndjson" or "csv", "pull.format", "pull.format is ndjson or csv (gzip is recognized by itself).");
            onError = pull.OnError ?? "reject";
            errors.Check(onError is "reject" or "skip", "pull.onError", "pull.onError is reject or skip.");
            var (spec, specError) = HashingSpecs.Parse(pull.HashingSpec);
            if (specError is not null) errors.Add("pull.hashingSpec", specError.Replace(HashingSpecs.Header, "pull.hashingSpec", StringComparison.Ordinal));
            hashingSpec = spec;

            if ((pull.Url is null) == (pull.Directory is null))
                errors.Add("pull.url", "Give either pull.url or pull.directory (with pull.pattern).");
            else if (pull.Url is not null)
            {
                url = CheckUrl(pull.Url, errors);
                errors.Check(pull.Pattern is null, "pull.pattern", "pull.pattern goes with pull.directory only.");
                if (pull.SecretHeader is { } header)
                {
                    headerName = header.Name?.Trim();
                    errors.Check(!string.IsNullOrEmpty(headerName) && headerName.Length <= 100 && headerName.All(IsTokenChar) && !ForbiddenHeaders.Contains(headerName)
                            && !headerName.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase),
                        "pull.secretHeader.name", "pull.secretHeader.name is an HTTP header name such as Authorization or X-Api-Key (not a framing or proxy header).");
                    if (header.Value is not null)
                    {
                        newSecret = header.Value;
                        errors.Check(newSecret.Length is > 0 and <= MaxSecretLength && newSecret.All(c => c is '\t' or (>= ' ' and <= '~')),
                            "pull.secretHeader.value", $"pull.secretHeader.value is 1-{MaxSecretLength} visible ASCII characters.");
                    }
                    else if (existing?.SecretValue is not null && url is not null && SameOrigin(existing.SourceUrl, url)
                             && string.Equals(existing.SecretHeaderName, headerName, StringComparison.OrdinalIgnoreCase))
                        keepSecret = true;
                    else
                        // A kept secret must not follow the URL to another host, nor move to another header (one the
                        // source may echo or log): whoever edits the schedule would receive a credential they were
                        // never shown.
                        errors.Add("pull.secretHeader.value", existing?.SecretValue is null
                            ? "pull.secretHeader.value is required."
                            : "Send the secret header's value again: it is kept only while the header's name and the URL's scheme, host and port stay the same.");
                }
            }
            else
            {
                var resolved = PullDirectories.Resolve(pull.Directory!, schedules.Value.PullDirectories, organizationId);
                if (resolved is null)
                    errors.Add("pull.directory", "pull.directory is an absolute path inside your organization's folder (named by its id) of a directory the operator allows for pulls (Escrow:Schedules:PullDirectories).");
                directory = resolved?.Path;
                pattern = pull.Pattern;
                errors.Check(!string.IsNullOrEmpty(pattern) && pattern.Length <= 255 && pattern.IndexOfAny(['/', '\\', '\0']) < 0 && pattern is not ("." or "..")
                        && !pattern.Any(char.IsControl),
                    "pull.pattern", "pull.pattern is a file name pattern with * and ? (no directories), e.g. \"customers-*.ndjson.gz\".");
                errors.Check(pull.SecretHeader is null, "pull.secretHeader", "Only a URL source sends a secret header.");
            }
        }
        if (errors.Any) return null;
        return new ValidSchedule(name!, CronSchedule.Create(request.Cron!, request.TimeZone!), request.Enabled ?? true, kind, populationId, format, onError,
            url, headerName, newSecret, keepSecret, directory, pattern, hashingSpec);
    }

    private string? CheckUrl(string value, FieldErrors errors)
    {
        if (value.Length > MaxUrlLength || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
        {
            errors.Add("pull.url", $"pull.url is an absolute http or https URL of at most {MaxUrlLength} characters.");
            return null;
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            // The URL is returned by the API and written to no secret store; credentials go in the secret header.
            errors.Add("pull.url", "Credentials do not belong in pull.url; send them in pull.secretHeader.");
            return null;
        }
        // Names are checked when connecting (after DNS); an address literal or localhost can be refused right away.
        if (!outbound.Value.AllowPrivateNetworks
            && ((IPAddress.TryParse(uri.DnsSafeHost, out var address) && !OutboundHttp.IsPublic(address))
                || uri.DnsSafeHost.Equals("localhost", StringComparison.OrdinalIgnoreCase) || uri.DnsSafeHost.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)))
        {
            errors.Add("pull.url", "pull.url points to a loopback, private, link-local or other special-purpose address, which the escrow does not connect to.");
            return null;
        }
        return uri.AbsoluteUri;
    }

    private static bool SameOrigin(string? a, string b) =>
        a is not null && Uri.TryCreate(a, UriKind.Absolute, out var x) && Uri.TryCreate(b, UriKind.Absolute, out var y)
        && Uri.Compare(x, y, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0;

    /// <summary>RFC 9110 §5.6.2 token characters.</summary>
    private static bool IsTokenChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
}
