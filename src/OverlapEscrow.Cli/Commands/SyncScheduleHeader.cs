namespace OverlapEscrow.Cli.Commands;

/// <summary>
/// Adds <c>X-Sync-Schedule: &lt;id&gt;</c> to upload requests (PUT or POST …/records), so the escrow records the
/// upload as a run of that sync schedule. Token and population requests go without it. Every attempt of a retried
/// upload passes through here, so each carries the header.
/// </summary>
internal sealed class SyncScheduleHeader(string scheduleId) : DelegatingHandler
{
    public const string Name = "X-Sync-Schedule";

    /// <summary>A schedule id fits in a header as written: 1–255 visible ASCII characters, no spaces.</summary>
    public static bool IsValidId(string id) => id.Length is >= 1 and <= 255 && id.All(c => c is >= '!' and <= '~');

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Mark(request);
        return base.SendAsync(request, cancellationToken);
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Mark(request);
        return base.Send(request, cancellationToken);
    }

    private void Mark(HttpRequestMessage request)
    {
        var isUpload = (request.Method == HttpMethod.Put || request.Method == HttpMethod.Post)
                       && request.RequestUri?.AbsolutePath.EndsWith("/records", StringComparison.Ordinal) == true;
        if (!isUpload) return;
        request.Headers.Remove(Name);
        request.Headers.Add(Name, scheduleId);
    }
}
