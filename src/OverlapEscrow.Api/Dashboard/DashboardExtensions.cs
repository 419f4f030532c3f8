using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Dashboard.Populations;
using OverlapEscrow.Api.Dashboard.Reference;

namespace OverlapEscrow.Api.Dashboard;

/// <summary>
/// The web dashboard: server-rendered Razor Pages in this host, over the same use cases as the API. Members sign in
/// with a cookie session (the scheme <see cref="DashboardAuth.Scheme"/>), which only the dashboard's pages and its
/// upload endpoint accept: the API under /v1 keeps authenticating bearer tokens only, so a browser's cookie can never
/// authorize an API call (no cross-site request forgery there), and every dashboard form carries an antiforgery token.
/// </summary>
public static class DashboardExtensions
{
    public static WebApplicationBuilder AddEscrowDashboard(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DashboardOptions>()
            .Bind(builder.Configuration.GetSection(DashboardOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        var secure = builder.Configuration.GetSection(DashboardOptions.Section).Get<DashboardOptions>()?.SecureCookies ?? true;

        builder.Services.AddRazorPages(o =>
        {
            o.RootDirectory = "/Dashboard";
            // Every page names its policy (DashboardAuthorize) or is anonymous; a page that forgets falls to the
            // fallback policy, which refuses anonymous callers.
        });
        builder.Services.AddAntiforgery(o =>
        {
            // The antiforgery system refuses to run on a plain-HTTP request when its cookie policy is Always, which is
            // what the service sees behind a TLS-terminating proxy and on the loopback demo; the cookie is marked Secure
            // all the same (SecureCookieBuilder), as the session cookie is.
            o.Cookie = new SecureCookieBuilder(secure)
            {
                Name = secure ? "__Host-oe-antiforgery" : "oe-antiforgery",
                SecurePolicy = CookieSecurePolicy.SameAsRequest,
                SameSite = SameSiteMode.Strict,
                HttpOnly = true,
                Path = "/",
            };
            o.HeaderName = DashboardAuth.AntiforgeryHeader;
            o.FormFieldName = "__RequestVerificationToken";
        });

        // First in the pipeline, so every answer carries them (a challenge, a 429, an error page too).
        builder.Services.AddSingleton<IStartupFilter, SecurityHeadersFirst>();
        builder.Services.AddAuthentication().AddCookie(DashboardAuth.Scheme);
        builder.Services.AddOptions<CookieAuthenticationOptions>(DashboardAuth.Scheme)
            .Configure<IOptions<DashboardOptions>, TimeProvider>((o, dashboard, time) =>
            {
                var d = dashboard.Value;
                o.Cookie.Name = d.SecureCookies ? "__Host-oe-session" : "oe-session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SecurePolicy = d.SecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                // Lax: a link to the dashboard from a mail or a chat opens signed in; every state change is a POST
                // with an antiforgery token, which a cross-site page cannot read.
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.Path = "/";
                o.ExpireTimeSpan = TimeSpan.FromMinutes(d.SessionIdleMinutes);
                o.SlidingExpiration = true;
                o.TimeProvider = time;
                o.LoginPath = "/signin";
                o.LogoutPath = "/signout";
                o.AccessDeniedPath = "/forbidden";
                o.ReturnUrlParameter = "returnUrl";
                o.Events = new CookieAuthenticationEvents
                {
                    OnValidatePrincipal = DashboardAuth.ValidateSessionAsync,
                    OnRedirectToLogin = c => RedirectPagesOnly(c, StatusCodes.Status401Unauthorized),
                    OnRedirectToAccessDenied = c => RedirectPagesOnly(c, StatusCodes.Status403Forbidden),
                };
            });
        return builder;
    }

    /// <summary>
    /// Pages go to the sign-in or forbidden page; the endpoints the dashboard's scripts call (under /dashboard/, the
    /// browser upload) answer 401 or 403 as problem+json instead, which the script can explain. A redirect there was
    /// followed by fetch with the same method (PUT /signin: 405), and the member read "refused (405)".
    /// </summary>
    private static Task RedirectPagesOnly(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (context.Request.Path.StartsWithSegments("/dashboard", StringComparison.Ordinal)) context.Response.StatusCode = status;
        else context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    public static WebApplication MapEscrowDashboard(this WebApplication app)
    {
        app.UseStaticFiles(new StaticFileOptions
        {
            // The hashing data files (.dat, .tsv, .txt) are text; everything else keeps its usual type.
            ServeUnknownFileTypes = false,
            ContentTypeProvider = StaticTypes(),
            OnPrepareResponse = ctx => ctx.Context.Response.Headers.CacheControl = "no-cache",
        });
        app.UseAntiforgery();
        // Pages answer GET (and HEAD) and post their forms; any other method is 405 from routing. Razor Pages would
        // otherwise render a page for TRACE or OPTIONS without running its handler, on a model that assumes one ran.
        app.MapRazorPages().Add(endpoint => endpoint.Metadata.Add(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head, HttpMethods.Post])));
        app.MapDashboardUpload();
        app.MapApiReferenceAssets();
        return app;
    }

    private static Microsoft.AspNetCore.StaticFiles.FileExtensionContentTypeProvider StaticTypes()
    {
        var types = new Microsoft.AspNetCore.StaticFiles.FileExtensionContentTypeProvider();
        types.Mappings[".dat"] = "text/plain; charset=utf-8";
        types.Mappings[".tsv"] = "text/tab-separated-values; charset=utf-8";
        types.Mappings[".txt"] = "text/plain; charset=utf-8";
        return types;
    }

    /// <summary>
    /// Headers on every answer: a strict Content-Security-Policy (scripts, styles, images and connections from this
    /// service only, no inline script, no framing, forms post only here), no MIME sniffing, no referrer, and no cache
    /// of dashboard pages (they hold partner data). The API reference page loosens style-src only: its renderer
    /// (Scalar) injects style elements at run time; scripts stay 'self' only.
    /// </summary>
    internal static Task SecurityHeaders(HttpContext http, Func<Task> next)
    {
        http.Response.OnStarting(() =>
        {
            var headers = http.Response.Headers;
            var styles = http.Request.Path.StartsWithSegments(ApiReference.Path) ? "'self' 'unsafe-inline'" : "'self'";
            headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src " + styles + "; img-src 'self' data:; font-src 'self'; "
                + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            headers["Cross-Origin-Resource-Policy"] = "same-origin";
            headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()";
            // Pages, downloads and every API answer (each is one caller's view: partner data, tokens, keys) are kept by no
            // cache, the browser's or a client library's included.
            if (http.Response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true || headers.ContentDisposition.Count > 0
                || (http.Request.Path.StartsWithSegments("/v1") && headers.CacheControl.Count == 0))
                headers.CacheControl = "no-store";
            return Task.CompletedTask;
        });
        return next();
    }
}

/// <summary>A cookie marked Secure whatever the request's scheme (when the dashboard's cookies are secure).</summary>
internal sealed class SecureCookieBuilder(bool secure) : CookieBuilder
{
    public override CookieOptions Build(HttpContext context, DateTimeOffset expiresFrom)
    {
        var options = base.Build(context, expiresFrom);
        if (secure) options.Secure = true;
        return options;
    }
}

internal sealed class SecurityHeadersFirst : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(DashboardExtensions.SecurityHeaders);
        next(app);
    };
}

/// <summary>Dashboard settings, under Escrow:Dashboard.</summary>
public sealed class DashboardOptions
{
    public const string Section = EscrowOptions.Section + ":Dashboard";

    /// <summary>A session ends after this many minutes without a request.</summary>
    [Range(1, 1440)]
    public int SessionIdleMinutes { get; set; } = 30;

    /// <summary>A session ends this many hours after sign-in, however active.</summary>
    [Range(1, 168)]
    public int SessionMaxHours { get; set; } = 12;

    /// <summary>
    /// Cookies are sent over HTTPS only (and named with the __Host- prefix). Browsers treat http://localhost and
    /// http://127.0.0.1 as secure, so the demo works; turn it off only for a test over plain HTTP on another name.
    /// </summary>
    public bool SecureCookies { get; set; } = true;
}
