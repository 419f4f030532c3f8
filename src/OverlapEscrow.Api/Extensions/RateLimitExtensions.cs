using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Infrastructure;

namespace OverlapEscrow.Api.Extensions;

/// <summary>
/// Rate limits on the endpoints that take credentials or create accounts: login, signup, refresh and the OAuth token
/// endpoint. Signup, refresh and the token endpoint are limited per client address by the framework's rate-limiting
/// middleware (a route names its policy with <c>RequireRateLimiting</c>); logins per address, per email and token
/// requests per key by <see cref="AccountRateLimiter"/>, which the handlers ask once the request is read (the middleware
/// picks its partition before the body naming the account is read, and the API's login and the dashboard's sign-in must
/// draw on one bucket per address, or a password sprayer would get each in full). A refused request is 429 problem details with Retry-After and reaches no handler logic.
/// </summary>
public static class RateLimitExtensions
{
    public static WebApplicationBuilder AddEscrowRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitOptions>().Bind(builder.Configuration.GetSection(RateLimitOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RateLimitOptions>, RateLimitOptionsValidator>();
        builder.Services.AddSingleton<AccountRateLimiter>();
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>>((o, options) =>
        {
            var limits = options.Value;
            AddPerAddress(o, RateLimits.Signup, limits.SignupPerAddress);
            AddPerAddress(o, RateLimits.Refresh, limits.RefreshPerAddress);
            AddPerAddress(o, RateLimits.Token, limits.TokenPerAddress);
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = (context, _) => new ValueTask(
                RateLimits.TooManyRequests(context.HttpContext, context.Lease, "Too many requests from this address").ExecuteAsync(context.HttpContext));
        });
        return builder;
    }

    private static void AddPerAddress(RateLimiterOptions o, string policy, RateLimit limit)
    {
        var options = limit.ToLimiterOptions();
        o.AddPolicy(policy, http => RateLimitPartition.GetTokenBucketLimiter(RateLimits.AddressKey(http.Connection.RemoteIpAddress), _ => options));
    }
}

/// <summary>The rate-limiting policies (per client address) and what a refusal looks like.</summary>
public static class RateLimits
{
    /// <summary>Endpoint metadata: the handler itself is rate limited (<see cref="AccountRateLimiter"/>) and may answer 429.</summary>
    public sealed class InHandler;

    public const string Signup = "signup";
    public const string Refresh = "refresh";
    public const string Token = "token";

    /// <summary>
    /// The partition of a client address: an IPv4 address, or the /64 of an IPv6 address (one host usually holds a
    /// whole /64, so counting single IPv6 addresses would let it rotate through them). Behind a reverse proxy this is
    /// the proxy's address unless the operator configures forwarded headers (see docs/api.md).
    /// </summary>
    public static string AddressKey(IPAddress? address)
    {
        if (address is null) return "unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>429 problem details with Retry-After in whole seconds (at least 1), from the refused lease.</summary>
    public static ProblemHttpResult TooManyRequests(HttpContext http, RateLimitLease lease, string what)
    {
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 60;
        http.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RateLimits).FullName!)
            .LogWarning("Rate limit reached on {Method} {Path}: {What}", http.Request.Method, http.Request.Path, what);
        return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
            detail: $"{what}; retry after {retryAfter} seconds.", type: Problems.TypePrefix + "rate-limited");
    }
}

/// <summary>
/// Limits per account, asked by the handlers once the request is read: login attempts per email (normalized as the
/// database compares emails: trimmed, case-insensitive) and per address, token requests per API key, and partnership
/// invitations per organization. These stop guessing one
/// account's password from many addresses, which the per-address limits alone do not.
/// </summary>
public sealed class AccountRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _logins;
    private readonly PartitionedRateLimiter<string> _loginAddresses;
    private readonly PartitionedRateLimiter<string> _tokens;
    private readonly PartitionedRateLimiter<string> _invitations;

    public AccountRateLimiter(IOptions<RateLimitOptions> options)
    {
        _logins = Create(options.Value.LoginPerEmail);
        _loginAddresses = Create(options.Value.LoginPerAddress);
        _tokens = Create(options.Value.TokenPerKey);
        _invitations = Create(options.Value.InvitationsPerOrganization);
    }

    /// <summary>Null when the organization may send one more partnership invitation (API or dashboard); otherwise the 429.</summary>
    public ProblemHttpResult? Invitation(HttpContext http, string organizationId) =>
        Acquire(_invitations, organizationId, http, "Too many partnership invitations from your organization");

    /// <summary>
    /// Null when a login from this client address (its partition, <see cref="RateLimits.AddressKey"/>) may go ahead;
    /// otherwise the 429. One bucket for POST /v1/auth/login and the dashboard's sign-in.
    /// </summary>
    public ProblemHttpResult? LoginFromAddress(HttpContext http) =>
        Acquire(_loginAddresses, RateLimits.AddressKey(http.Connection.RemoteIpAddress), http, "Too many requests from this address");

    /// <summary>Null when the attempt may go ahead; otherwise the 429 to answer with.</summary>
    public ProblemHttpResult? LoginAttempt(HttpContext http, string email) =>
        Acquire(_logins, email.Trim().ToLowerInvariant(), http, "Too many login attempts for this email");

    /// <summary>Null when the token request may go ahead; otherwise the 429 to answer with.</summary>
    public ProblemHttpResult? TokenRequest(HttpContext http, string keyId) =>
        Acquire(_tokens, keyId, http, "Too many token requests for this API key");

    public void Dispose()
    {
        _logins.Dispose();
        _loginAddresses.Dispose();
        _tokens.Dispose();
        _invitations.Dispose();
    }

    private static PartitionedRateLimiter<string> Create(RateLimit limit)
    {
        var options = limit.ToLimiterOptions();
        return PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => options));
    }

    private static ProblemHttpResult? Acquire(PartitionedRateLimiter<string> limiter, string key, HttpContext http, string what)
    {
        using var lease = limiter.AttemptAcquire(key);
        return lease.IsAcquired ? null : RateLimits.TooManyRequests(http, lease, what);
    }
}

/// <summary>Settings under Escrow:RateLimits (environment: Escrow__RateLimits__LoginPerEmail__PermitLimit).</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Escrow:RateLimits";

    /// <summary>Login attempts per email, from any address: what stops guessing one member's password (10 at once,
    /// then one every 6 minutes: 240 a day).</summary>
    public RateLimit LoginPerEmail { get; set; } = new(10, 3600);

    public RateLimit LoginPerAddress { get; set; } = new(60, 600);

    public RateLimit SignupPerAddress { get; set; } = new(10, 3600);

    /// <summary>Refresh tokens are 256 random bits, so this is against load rather than guessing; it is generous because
    /// every open dashboard refreshes every few minutes and an office may share one address.</summary>
    public RateLimit RefreshPerAddress { get; set; } = new(300, 600);

    /// <summary>Token requests per API key; clients cache a token for its lifetime, so a key needs few.</summary>
    public RateLimit TokenPerKey { get; set; } = new(60, 600);

    public RateLimit TokenPerAddress { get; set; } = new(120, 600);

    /// <summary>Partnership invitations an organization sends (each attempt, to any slug): 20 at once, then one every
    /// 72 minutes — plenty for a partner program, and it stops one tenant flooding another's partnership list, audit
    /// log and webhooks with invitations, or probing slugs.</summary>
    public RateLimit InvitationsPerOrganization { get; set; } = new(20, 86_400);

    public IEnumerable<(string Name, RateLimit Limit)> All() =>
    [
        (nameof(LoginPerEmail), LoginPerEmail), (nameof(LoginPerAddress), LoginPerAddress), (nameof(SignupPerAddress), SignupPerAddress),
        (nameof(RefreshPerAddress), RefreshPerAddress), (nameof(TokenPerKey), TokenPerKey), (nameof(TokenPerAddress), TokenPerAddress),
        (nameof(InvitationsPerOrganization), InvitationsPerOrganization),
    ];
}

/// <summary>
/// At most <see cref="PermitLimit"/> requests at once, coming back evenly over <see cref="WindowSeconds"/>: a token
/// bucket of that size refilled one permit every WindowSeconds / PermitLimit. A sustained rate of PermitLimit per
/// window without the burst at a fixed window's edge, and a Retry-After that is the time to the next permit.
/// </summary>
public sealed class RateLimit
{
    public const int MaxPermitLimit = 1_000_000;
    public const int MaxWindowSeconds = 86_400;

    public RateLimit() { }

    public RateLimit(int permitLimit, int windowSeconds)
    {
        PermitLimit = permitLimit;
        WindowSeconds = windowSeconds;
    }

    public int PermitLimit { get; set; }

    public int WindowSeconds { get; set; }

    public bool IsValid => PermitLimit is >= 1 and <= MaxPermitLimit && WindowSeconds is >= 1 and <= MaxWindowSeconds;

    public TokenBucketRateLimiterOptions ToLimiterOptions()
    {
        // The partitioned limiter replenishes on a 100 ms heartbeat, adding TokensPerPeriod each time a period has
        // passed; a period under a second becomes one second with as many permits as the rate gives in it.
        var perPermit = TimeSpan.FromSeconds((double)WindowSeconds / PermitLimit);
        var (period, tokens) = perPermit >= TimeSpan.FromSeconds(1)
            ? (perPermit, 1)
            : (TimeSpan.FromSeconds(1), (int)Math.Ceiling((double)PermitLimit / WindowSeconds));
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = PermitLimit,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = false,
        };
    }
}

/// <summary>Names each limit that is out of range, so a start-up failure says which setting to fix.</summary>
public sealed class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        var failures = options.All().Where(l => l.Limit is null || !l.Limit.IsValid)
            .Select(l => $"{RateLimitOptions.Section}:{l.Name} needs PermitLimit 1-{RateLimit.MaxPermitLimit} and WindowSeconds 1-{RateLimit.MaxWindowSeconds}.")
            .ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
