using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Polly;
using Polly.Retry;

namespace OverlapEscrow.Client.Upload;

/// <summary>
/// The escrow's HTTP API as a partner's machine uses it, authenticated with an API key (docs/api.md). The
/// <see cref="HttpClient"/> is given, with its <see cref="HttpClient.BaseAddress"/> set to the escrow's URL, so
/// that callers choose its handler (proxies, certificates, or an in-process test server).
/// </summary>
/// <remarks>
/// Every call goes through one retry pipeline (Polly): transport errors, timeouts, 408, 429, 5xx and 409
/// "Upload in progress" are retried with exponential backoff and jitter, honouring Retry-After; other 4xx
/// answers are final and become an <see cref="EscrowApiException"/>. Retrying an upload is safe because every
/// attempt carries the same Idempotency-Key: the escrow applies the upload once and answers later attempts with
/// the stored result. The key goes to the token endpoint in HTTP Basic, which a handler clears on a redirect; an answer
/// from another server than the base address (a handler that followed a redirect) is refused, not retried. Give the
/// HttpClient a handler with AllowAutoRedirect = false, as the CLI does, so that a redirect is an error before anything
/// is sent on.
/// </remarks>
public sealed class EscrowClient
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http;
    private readonly string _apiKey;
    private readonly EscrowClientOptions _options;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly SemaphoreSlim _tokenLock = new(1, 1);
    private CachedToken? _token;

    private sealed record CachedToken(string Value, DateTimeOffset RenewAt);

    public EscrowClient(HttpClient http, string apiKey, EscrowClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.BaseAddress is null) throw new ArgumentException("The HttpClient needs a BaseAddress: the escrow's URL.", nameof(http));
        if (string.IsNullOrWhiteSpace(apiKey)) throw new ArgumentException("An API key is required.", nameof(apiKey));
        // Relative paths resolve under the base address only when it ends with '/' (an escrow behind /escrow/ keeps its prefix).
        if (!http.BaseAddress.AbsolutePath.EndsWith('/')) http.BaseAddress = new Uri(http.BaseAddress + "/");
        _http = http;
        _apiKey = apiKey.Trim();
        _options = options ?? new EscrowClientOptions();
        _pipeline = BuildPipeline(_options);
    }

    /// <summary>Times the escrow's token endpoint was called (tokens are cached until shortly before they expire).</summary>
    public int TokensIssued { get; private set; }

    /// <summary>An access token for the API key (OAuth 2.0 client credentials), cached until shortly before it expires.</summary>
    public async Task<string> GetTokenAsync(CancellationToken ct = default)
    {
        using var response = await _pipeline.ExecuteAsync(async token =>
        {
            var (_, failure) = await AcquireTokenAsync(token);
            return failure ?? new HttpResponseMessage(HttpStatusCode.OK);
        }, ct);
        if (!response.IsSuccessStatusCode) throw await EscrowApiException.FromResponseAsync(response, ct);
        return _token!.Value;
    }

    public async Task<IReadOnlyList<Population>> GetPopulationsAsync(CancellationToken ct = default) =>
        await GetAsync<List<Population>>("v1/populations", ct);

    /// <summary>My population with this id, else the one with exactly this name; null when there is none.</summary>
    public async Task<Population?> ResolvePopulationAsync(string nameOrId, CancellationToken ct = default)
    {
        var populations = await GetPopulationsAsync(ct);
        return populations.FirstOrDefault(p => p.Id == nameOrId) ?? populations.FirstOrDefault(p => p.Name == nameOrId);
    }

    /// <summary>Creates a population (hidden from every partner until shared).</summary>
    public Task<Population> CreatePopulationAsync(string name, string type, CancellationToken ct = default) =>
        SendJsonAsync<Population>(() => new HttpRequestMessage(HttpMethod.Post, "v1/populations") { Content = JsonContent.Create(new { name, type }, options: Json) }, ct);

    /// <summary>
    /// Uploads a population's records as gzip-compressed NDJSON. <paramref name="writeBody"/> writes the
    /// uncompressed NDJSON and is called again for every attempt, so the body is never buffered; it must write
    /// the same lines each time. One Idempotency-Key (a new GUID unless given) covers all attempts.
    /// </summary>
    public Task<UploadResult> UploadAsync(string populationId, UploadMode mode, Func<Stream, Task> writeBody, string? idempotencyKey = null,
        CancellationToken ct = default) =>
        UploadAsync(populationId, mode, (stream, _) => writeBody(stream), idempotencyKey, ct);

    /// <inheritdoc cref="UploadAsync(string, UploadMode, Func{Stream, Task}, string?, CancellationToken)"/>
    public async Task<UploadResult> UploadAsync(string populationId, UploadMode mode, Func<Stream, CancellationToken, Task> writeBody,
        string? idempotencyKey = null, CancellationToken ct = default)
    {
        var key = idempotencyKey ?? Guid.NewGuid().ToString("N");
        if (!IsValidIdempotencyKey(key)) throw new ArgumentException("An Idempotency-Key is 1–255 visible ASCII characters.", nameof(idempotencyKey));
        var method = mode == UploadMode.Snapshot ? HttpMethod.Put : HttpMethod.Post;
        // onError=reject whatever the server's default: a partner's upload is applied whole or not at all.
        var path = $"v1/populations/{Uri.EscapeDataString(populationId)}/records?onError=reject";
        using var response = await SendAsync(() =>
        {
            var request = new HttpRequestMessage(method, path) { Content = new GzipNdjsonContent(writeBody) };
            request.Headers.Add("Idempotency-Key", key);
            request.Headers.Add(HashingSpecHeader, Hashing.IdentifierHashes.SpecVersion);
            return request;
        }, bounded: false, ct);
        if (!response.IsSuccessStatusCode) throw await EscrowApiException.FromResponseAsync(response, ct);
        var result = await response.Content.ReadFromJsonAsync<UploadResult>(Json, ct)
            ?? throw new EscrowApiException((int)response.StatusCode, "The escrow answered the upload without a result");
        var replayed = response.Headers.TryGetValues("Idempotent-Replayed", out var values) && values.Contains("true", StringComparer.OrdinalIgnoreCase);
        return result with { Replayed = replayed };
    }

    /// <summary>
    /// The request header that names the hashing specification version an upload was hashed with (docs/hashing.md,
    /// "Versioning"). A header rather than a field, because NDJSON rows refuse unknown fields and CSV columns are
    /// identifier types; servers that do not know it ignore it.
    /// </summary>
    public const string HashingSpecHeader = "Hashing-Spec";

    public static bool IsValidIdempotencyKey(string key) => key.Length is >= 1 and <= 255 && key.All(c => c is >= '!' and <= '~');

    /// <summary>Every partnership of my organization, any status, newest first.</summary>
    public async Task<IReadOnlyList<Partnership>> GetPartnershipsAsync(CancellationToken ct = default) =>
        await GetAsync<List<Partnership>>("v1/partnerships", ct);

    /// <summary>The overlap matrix of an active partnership: my populations × the partner's visible populations.</summary>
    public Task<OverlapMatrix> GetMatrixAsync(string partnershipId, CancellationToken ct = default) =>
        GetAsync<OverlapMatrix>($"v1/partnerships/{Uri.EscapeDataString(partnershipId)}/overlaps", ct);

    /// <summary>One page of my overlapping records in a cell; pass the previous page's <see cref="OverlapListPage.NextCursor"/>.</summary>
    public Task<OverlapListPage> GetOverlapListPageAsync(string partnershipId, string myPopulationId, string partnerPopulationId,
        int limit = 1000, string? cursor = null, CancellationToken ct = default)
    {
        var path = $"v1/partnerships/{Uri.EscapeDataString(partnershipId)}/overlaps/{Uri.EscapeDataString(myPopulationId)}/{Uri.EscapeDataString(partnerPopulationId)}?limit={limit}";
        if (cursor is not null) path += "&cursor=" + Uri.EscapeDataString(cursor);
        return GetAsync<OverlapListPage>(path, ct);
    }

    /// <summary>All my overlapping records in a cell, following nextCursor page by page.</summary>
    public async IAsyncEnumerable<OverlapItem> GetOverlapListAsync(string partnershipId, string myPopulationId, string partnerPopulationId,
        int pageSize = 1000, [EnumeratorCancellation] CancellationToken ct = default)
    {
        string? cursor = null;
        do
        {
            var page = await GetOverlapListPageAsync(partnershipId, myPopulationId, partnerPopulationId, pageSize, cursor, ct);
            foreach (var item in page.Items) yield return item;
            cursor = page.NextCursor;
        } while (cursor is not null);
    }

    private Task<T> GetAsync<T>(string path, CancellationToken ct) => SendJsonAsync<T>(() => new HttpRequestMessage(HttpMethod.Get, path), ct);

    private async Task<T> SendJsonAsync<T>(Func<HttpRequestMessage> create, CancellationToken ct)
    {
        using var response = await SendAsync(create, bounded: true, ct);
        if (!response.IsSuccessStatusCode) throw await EscrowApiException.FromResponseAsync(response, ct);
        return await response.Content.ReadFromJsonAsync<T>(Json, ct)
            ?? throw new EscrowApiException((int)response.StatusCode, "The escrow answered without a body");
    }

    /// <summary>Sends an authorized request through the retry pipeline; the last answer is returned whatever its status.</summary>
    private Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, bool bounded, CancellationToken ct) =>
        _pipeline.ExecuteAsync(async token =>
        {
            var (accessToken, failure) = await AcquireTokenAsync(token);
            if (failure is not null) return failure;
            var response = await SendOnceAsync(create, accessToken, bounded, token);
            if (response.StatusCode != HttpStatusCode.Unauthorized) return response;
            // A token can stop working before it expires (the key was rotated, the escrow's signing key changed):
            // get a new one once. A key that was revoked then fails at the token endpoint with a clear message.
            response.Dispose();
            Invalidate(accessToken!);
            (accessToken, failure) = await AcquireTokenAsync(token);
            return failure ?? await SendOnceAsync(create, accessToken, bounded, token);
        }, ct).AsTask();

    /// <summary>The cached token, or a new one; a non-success answer of the token endpoint is returned as the failure.</summary>
    private async Task<(string? Token, HttpResponseMessage? Failure)> AcquireTokenAsync(CancellationToken ct)
    {
        await _tokenLock.WaitAsync(ct);
        try
        {
            var now = _options.TimeProvider.GetUtcNow();
            if (_token is { } cached && now < cached.RenewAt) return (cached.Value, null);
            // The key goes in HTTP Basic (client_secret_basic, RFC 6749 §2.3.1), not in the body: a handler that follows a
            // redirect clears the Authorization header, so a redirect to another host never takes the key along (a body
            // does go along with a 307 or 308).
            var response = await SendOnceAsync(() => new HttpRequestMessage(HttpMethod.Post, "v1/auth/token")
            {
                Content = new FormUrlEncodedContent([new("grant_type", "client_credentials")]),
                Headers = { Authorization = ClientCredentials(_apiKey) },
            }, null, bounded: true, ct);
            if (!response.IsSuccessStatusCode) return (null, response);
            using (response)
            {
                using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
                var value = doc.RootElement.GetProperty("access_token").GetString()!;
                var lifetime = TimeSpan.FromSeconds(doc.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var s) ? s : 300);
                var margin = TimeSpan.FromTicks(Math.Min(_options.TokenRenewalMargin.Ticks, lifetime.Ticks / 2));
                _token = new CachedToken(value, now + lifetime - margin);
                TokensIssued++;
                return (value, null);
            }
        }
        finally
        {
            _tokenLock.Release();
        }
    }

    /// <summary>
    /// HTTP Basic with the form-urlencoded client_id and client_secret (RFC 6749 §2.3.1, Appendix B): the key id, which
    /// the key names ("oek_&lt;key id&gt;.&lt;secret&gt;"), and the whole key.
    /// </summary>
    private static AuthenticationHeaderValue ClientCredentials(string apiKey)
    {
        const string prefix = "oek_";
        var rest = apiKey.StartsWith(prefix, StringComparison.Ordinal) ? apiKey[prefix.Length..] : "";
        var keyId = rest.IndexOf('.') is > 0 and var dot ? rest[..dot] : "";
        var pair = $"{WebUtility.UrlEncode(keyId)}:{WebUtility.UrlEncode(apiKey)}";
        return new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(pair)));
    }

    private void Invalidate(string token)
    {
        if (_token?.Value == token) _token = null;
    }

    private async Task<HttpResponseMessage> SendOnceAsync(Func<HttpRequestMessage> create, string? accessToken, bool bounded, CancellationToken ct)
    {
        using var request = create();
        if (accessToken is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (bounded) abort.CancelAfter(_options.RequestTimeout);
        if (request.Content is GzipNdjsonContent body) body.OnWriterFailure = () => _ = abort.CancelAsync();
        try
        {
            var response = await _http.SendAsync(request, abort.Token);
            // A handler that follows redirects (the HttpClient is the caller's) may have taken the request elsewhere: its
            // access token and key are cleared on the way, but an upload's body is not. Refused, and not retried.
            if (response.RequestMessage?.RequestUri is { } answeredAt && _http.BaseAddress is { } escrow
                && Uri.Compare(answeredAt, escrow, UriComponents.SchemeAndServer, UriFormat.SafeUnescaped, StringComparison.OrdinalIgnoreCase) != 0)
            {
                response.Dispose();
                throw new EscrowApiException((int)HttpStatusCode.MisdirectedRequest, "Redirected to another server",
                    $"The escrow at {escrow.GetLeftPart(UriPartial.Authority)} redirected this request to {answeredAt.GetLeftPart(UriPartial.Authority)}. "
                    + "The client follows no redirect to another server: give its HttpClient a handler with AllowAutoRedirect = false, and the URL the escrow answers at as its BaseAddress.");
            }
            return response;
        }
        catch (Exception) when (request.Content is GzipNdjsonContent { WriterFailure: { } failure })
        {
            // The body writer failed (a malformed CRM export, say): that is no reason to retry, and its own
            // message says more than the exception of the aborted request.
            ExceptionDispatchInfo.Throw(failure);
            throw;
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new TimeoutException($"The escrow did not answer within {_options.RequestTimeout.TotalSeconds:0} s.");
        }
    }

    private static ResiliencePipeline<HttpResponseMessage> BuildPipeline(EscrowClientOptions options)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = options.TimeProvider };
        if (options.MaxRetryAttempts <= 0) return builder.Build();
        return builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
        {
            MaxRetryAttempts = options.MaxRetryAttempts,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = options.RetryBaseDelay,
            MaxDelay = options.MaxRetryDelay,
            ShouldHandle = args => IsTransientAsync(args.Outcome, args.Context.CancellationToken),
            DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, options.MaxRetryDelay, options.TimeProvider)),
            OnRetry = args =>
            {
                options.OnRetry?.Invoke(new RetryNotice(args.AttemptNumber + 1, options.MaxRetryAttempts + 1, Reason(args.Outcome), args.RetryDelay));
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    private static async ValueTask<bool> IsTransientAsync(Outcome<HttpResponseMessage> outcome, CancellationToken ct)
    {
        if (outcome.Exception is { } e) return !ct.IsCancellationRequested && e is HttpRequestException or TimeoutException;
        var status = (int)outcome.Result!.StatusCode;
        if (status is 408 or 429 or >= 500) return true;
        // 409 also means "a duplicate" or "the partnership is not active"; only "Upload in progress" (another attempt
        // of this very upload still holds the Idempotency-Key) goes away by waiting.
        return status == 409 && await TitleAsync(outcome.Result, ct) == "Upload in progress";
    }

    private static async Task<string?> TitleAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("title", out var t) ? t.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeSpan max, TimeProvider time)
    {
        var header = response?.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - time.GetUtcNow() : null);
        if (delay is null) return null;
        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay > max ? max : delay;
    }

    private static string Reason(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } e
            ? EscrowApiException.OneLine(e.Message)
            : $"{(int)outcome.Result!.StatusCode} {outcome.Result.ReasonPhrase}".TrimEnd();
}
