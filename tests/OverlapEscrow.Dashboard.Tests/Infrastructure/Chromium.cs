namespace OverlapEscrow.Dashboard.Tests.Infrastructure;

/// <summary>
/// The system's Chromium (Debian package "chromium"), launched headless by Playwright's bundled driver. Nothing is
/// downloaded: no "playwright install". When the browser is missing every test fails with how to install it, rather
/// than being skipped.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    /// <summary>Where the browser is; OE_CHROMIUM overrides it.</summary>
    public static string ExecutablePath => Environment.GetEnvironmentVariable("OE_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
            throw new InvalidOperationException($"Chromium is not installed at {ExecutablePath}. Install it (apt-get install -y chromium, as .ci/run does) " +
                "or point OE_CHROMIUM at it. The dashboard's browser tests never skip.");
        _playwright = await Playwright.CreateAsync();
        // Playwright gives each launch a fresh, temporary profile directory (--user-data-dir): no state from an earlier
        // run or from a person's browser.
        var options = new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage"],
        };
        Browser = await _playwright.Chromium.LaunchAsync(options);
        Assertions.SetDefaultExpectTimeout(WaitMilliseconds);
    }

    /// <summary>A new, empty browser context (its own cookies), at a desktop size.</summary>
    public async Task<IBrowserContext> NewContextAsync(string baseUrl)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl,
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            AcceptDownloads = true,
        });
        // Generous waits: CI shares two cores with builds and other suites, and a wait that times out there says
        // nothing about the dashboard. Nothing here measures speed (scripts/dashboard-latency does).
        context.SetDefaultTimeout(WaitMilliseconds);
        context.SetDefaultNavigationTimeout(WaitMilliseconds);
        return context;
    }

    /// <summary>How long any wait of a browser test may take before it fails.</summary>
    public const float WaitMilliseconds = 120_000;

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
    }
}
