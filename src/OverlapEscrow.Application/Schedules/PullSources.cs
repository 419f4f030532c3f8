using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Outbound;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Schedules;

/// <summary>
/// A run that failed for a reason worth telling the organization: <see cref="Title"/> and the message go into the
/// run history and the sync.failed event, so they name the problem and never quote data or exception text.
/// </summary>
public sealed class SyncFailure(string title, string detail, bool retryable) : Exception(detail)
{
    public string Title { get; } = title;

    /// <summary>Whether trying again later could succeed (a source that is down), as opposed to a refusal or bad data.</summary>
    public bool Retryable { get; } = retryable;
}

/// <summary>A snapshot body ready to upload, and what holds it open.</summary>
public sealed class OpenedSource(Stream body, bool gzip, IDisposable? owner) : IAsyncDisposable
{
    public Stream Body { get; } = body;
    public bool Gzip { get; } = gzip;

    public async ValueTask DisposeAsync()
    {
        await Body.DisposeAsync();
        owner?.Dispose();
    }
}

/// <summary>
/// Opens the snapshot a pull schedule fetches: an HTTP(S) URL, through <see cref="OutboundHttp"/> only (the guard
/// against server-side request forgery), or the newest matching file of a directory the operator allows.
/// </summary>
public sealed class PullSources(OutboundHttp outbound, ScheduleSecrets secrets, IOptions<ScheduleOptions> options)
{
    public Task<OpenedSource> OpenAsync(Schedule schedule, CancellationToken ct)
    {
        if (schedule.SourceUrl is not null || schedule.SealedSourceUrl is not null) return OpenUrlAsync(schedule, ct);
        if (schedule.SourceDirectory is not null) return OpenDirectoryAsync(schedule, ct);
        throw new SyncFailure("No pull source", "The schedule names neither a URL nor a directory.", retryable: false);
    }

    private async Task<OpenedSource> OpenUrlAsync(Schedule schedule, CancellationToken ct)
    {
        // The URL is opened here, to fetch, and its plaintext not kept beyond the run.
        schedule = await secrets.OpenSourceAsync(schedule, ct);
        var url = new Uri(schedule.SourceUrl!);
        var secret = schedule is { SecretHeaderName: not null, SecretValue: not null }
            ? await secrets.OpenAsync(schedule.OrganizationId, schedule.Id, schedule.SecretValue, ct)
            : null;
        HttpResponseMessage response;
        try
        {
            response = await outbound.SendAsync(target =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, target);
                request.Headers.TryAddWithoutValidation("Accept", "application/x-ndjson, text/csv, application/gzip, */*;q=0.5");
                // OutboundHttp follows redirects to the same host only; on top of that the secret never travels over
                // plain http when the configured URL is https.
                if (secret is not null && (target.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp))
                    request.Headers.TryAddWithoutValidation(schedule.SecretHeaderName!, secret);
                return request;
            }, url, ct);
        }
        catch (Exception e) when (OutboundHttp.RefusalIn(e) is { } refused)
        {
            // A host name is retried either way, as one that does not resolve is (which names exist inside is not told).
            throw new SyncFailure(refused.ByName ? "The pull source could not be reached" : "The pull source was refused", refused.Message, retryable: refused.ByName);
        }
        catch (HttpRequestException e)
        {
            throw new SyncFailure("The pull source could not be reached", $"The request failed ({e.HttpRequestError}).", retryable: true);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new SyncFailure("The pull source did not answer in time", "No response headers arrived within the outbound timeout.", retryable: true);
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            response.Dispose();
            throw new SyncFailure("The pull source answered with an error", $"The source answered HTTP {status}.",
                retryable: status >= 500 || status is 408 or 429);
        }
        try
        {
            var (body, gzip) = await SniffGzipAsync(await response.Content.ReadAsStreamAsync(ct), ct);
            return new OpenedSource(body, gzip, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }


    private async Task<OpenedSource> OpenDirectoryAsync(Schedule schedule, CancellationToken ct)
    {
        var allowed = PullDirectories.Resolve(schedule.SourceDirectory!, options.Value.PullDirectories, schedule.OrganizationId)
            ?? throw new SyncFailure("The pull directory is not allowed",
                "The directory is no longer inside a directory the operator allows (Escrow:Schedules:PullDirectories).", retryable: false);
        if (!PullDirectories.FreeOfLinks(allowed.Root, allowed.Path))
            throw new SyncFailure("The pull directory is not allowed", "The directory path passes through a symbolic link; links are not followed.", retryable: false);
        var directory = new DirectoryInfo(allowed.Path);
        if (!directory.Exists)
            throw new SyncFailure("The pull directory does not exist", "The directory was not found on the server.", retryable: true);
        var newest = directory
            .EnumerateFiles(schedule.SourcePattern!, new EnumerationOptions { MatchType = MatchType.Simple, IgnoreInaccessible = true, RecurseSubdirectories = false })
            .Where(f => f.LinkTarget is null)
            .OrderByDescending(f => f.LastWriteTimeUtc).ThenByDescending(f => f.Name, StringComparer.Ordinal)
            .FirstOrDefault()
            ?? throw new SyncFailure("No file to pull", "No file in the directory matches the pattern.", retryable: true);
        FileStream stream;
        try
        {
            stream = new FileStream(newest.FullName, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, Options = FileOptions.Asynchronous | FileOptions.SequentialScan });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SyncFailure("The pull file could not be opened", $"Opening the newest matching file failed ({e.GetType().Name}).", retryable: true);
        }
        var (body, gzip) = await SniffGzipAsync(stream, ct);
        return new OpenedSource(body, gzip, null);
    }

    /// <summary>gzip is recognized by its magic bytes (RFC 1952), which neither NDJSON nor CSV text can start with.</summary>
    private static async Task<(Stream Body, bool Gzip)> SniffGzipAsync(Stream stream, CancellationToken ct)
    {
        var head = new byte[2];
        var n = 0;
        while (n < head.Length)
        {
            var read = await stream.ReadAsync(head.AsMemory(n), ct);
            if (read == 0) break;
            n += read;
        }
        return (new PrefixedStream(head.AsMemory(0, n), stream), n == 2 && head[0] == 0x1f && head[1] == 0x8b);
    }
}

/// <summary>
/// Where directory pulls may read: inside the organization's own folder, named by its id, under one of the
/// operator's <see cref="ScheduleOptions.PullDirectories"/> (&lt;root&gt;/&lt;organization id&gt;/…). Without the
/// per-organization folder, one organization could pull another's export into its own population and read it.
/// </summary>
public static class PullDirectories
{
    private static StringComparison PathComparison => OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>
    /// The full path of <paramref name="path"/> and the allowed directory it lies in, or null when it is not an
    /// absolute path inside one. ".." segments are resolved first, so they cannot climb out.
    /// </summary>
    public static (string Path, string Root)? Resolve(string path, IEnumerable<string> allowedDirectories, string organizationId)
    {
        if (string.IsNullOrWhiteSpace(path) || !Path.IsPathFullyQualified(path) || path.Contains('\0')) return null;
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        foreach (var allowed in allowedDirectories)
        {
            if (string.IsNullOrWhiteSpace(allowed) || !Path.IsPathFullyQualified(allowed)) continue;
            var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Path.Combine(allowed, organizationId)));
            var prefix = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
            if (string.Equals(full, root, PathComparison) || full.StartsWith(prefix, PathComparison)) return (full, root);
        }
        return null;
    }

    /// <summary>
    /// Whether no directory between the allowed root (exclusive) and <paramref name="path"/> (inclusive) is a
    /// symbolic link. Whoever can write inside an allowed directory must not be able to point a pull elsewhere;
    /// the operator's own directories may themselves be links.
    /// </summary>
    public static bool FreeOfLinks(string root, string path)
    {
        for (var current = path; current.Length > root.Length; current = Path.GetDirectoryName(current) ?? root)
            if (new DirectoryInfo(current).LinkTarget is not null) return false;
        return true;
    }
}
