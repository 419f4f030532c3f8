using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>
/// The service as a separate operating-system process (<c>dotnet OverlapEscrow.Api.dll</c>) on a loopback port, for
/// tests that must really kill it: nothing of a killed process survives but what it wrote to the database.
/// </summary>
public sealed partial class ServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServiceProcess(Process process) => _process = process;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>False once the process has exited (or was killed).</summary>
    public bool IsRunning => !_process.HasExited;

    /// <summary>What the process wrote to stdout and stderr, for the message of a failing test.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Starts the service on <paramref name="dataDirectory"/> with settings given as environment variables
    /// (<c>Escrow__Uploads__SegmentRecords</c>, say) and waits until it answers /healthz.</summary>
    /// <param name="assembly">The service's assembly to run (a copy installed in another folder, say); by default the one beside the tests.</param>
    public static async Task<ServiceProcess> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string> environment, string? assembly = null)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = dataDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(assembly ?? ApiAssembly());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add("http://127.0.0.1:0"); // the port is read back from the log: no race for a free port
        start.Environment["Escrow__DataDirectory"] = dataDirectory;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in EscrowApp.FastPasswords) start.Environment[name.Replace(":", "__")] = value;
        foreach (var (name, value) in environment) start.Environment[name] = value;

        var service = new ServiceProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start."));
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        service._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            service._output.Enqueue(e.Data);
            if (ListeningOn().Match(e.Data) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
        };
        service._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) service._output.Enqueue(e.Data); };
        service._process.BeginOutputReadLine();
        service._process.BeginErrorReadLine();
        try
        {
            service.BaseAddress = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
            using var http = service.CreateClient();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await http.GetAsync("/healthz")).StatusCode != HttpStatusCode.OK)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("The service did not become healthy.");
                await Task.Delay(50);
            }
            return service;
        }
        catch (Exception e)
        {
            service.Dispose();
            throw new InvalidOperationException($"The service did not start: {e.Message}\n{service.Output}", e);
        }
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Signs an organization up, as <see cref="EscrowClient.SignupAsync"/> does in process.</summary>
    public async Task<Org> SignupAsync(string slug)
    {
        var http = CreateClient();
        var response = await http.PostAsJsonAsync("/v1/signup", new
        {
            organizationName = slug + " Inc.", organizationSlug = slug, email = $"admin@{slug}.example", password = EscrowClient.Password,
        });
        await EscrowClient.Expect(response, HttpStatusCode.Created);
        var body = await EscrowClient.Json(response);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body["tokens"]!["accessToken"]!.GetValue<string>());
        return new Org(body["organization"]!["id"]!.GetValue<string>(), slug, http, body["tokens"]!["refreshToken"]!.GetValue<string>());
    }

    /// <summary>Asks the service to stop, as an orchestrator does (SIGTERM): its shutdown code runs.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Waits for the process to exit by itself; false when it is still running after <paramref name="timeout"/>.</summary>
    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    /// <summary>Kills the process and everything it started, as an out-of-memory killer or a power cut would: no shutdown code runs.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    /// <summary>The dotnet host running the tests (the SDK sets DOTNET_HOST_PATH for the processes it starts).</summary>
    internal static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>The service's assembly: copied next to the tests by the project reference, else the repository's Release build.</summary>
    internal static string ApiAssembly()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "OverlapEscrow.Api.dll");
        if (File.Exists(beside)) return beside;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var built = Path.Combine(dir.FullName, "src", "OverlapEscrow.Api", "bin", "Release", "net10.0", "OverlapEscrow.Api.dll");
            if (File.Exists(built)) return built;
        }
        throw new FileNotFoundException("OverlapEscrow.Api.dll was not found; build the solution first.");
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningOn();
}

/// <summary>
/// The operator's command line (<c>dotnet OverlapEscrow.Api.dll admin …</c>) as a separate process on a data directory,
/// for tests that kill it midway (an interrupted key rotation).
/// </summary>
public sealed class AdminProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly SemaphoreSlim _lines = new(0);

    private AdminProcess(Process process) => _process = process;

    public string Output => string.Join('\n', _output);

    public static AdminProcess Start(string dataDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(ServiceProcess.DotnetHost())
        {
            WorkingDirectory = dataDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(ServiceProcess.ApiAssembly());
        start.ArgumentList.Add("admin");
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["Escrow__DataDirectory"] = dataDirectory;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        var admin = new AdminProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start."));
        admin._process.OutputDataReceived += (_, e) => { if (e.Data is not null) { admin._output.Enqueue(e.Data); admin._lines.Release(); } };
        admin._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { admin._output.Enqueue(e.Data); admin._lines.Release(); } };
        admin._process.BeginOutputReadLine();
        admin._process.BeginErrorReadLine();
        return admin;
    }

    /// <summary>Waits until a line matches; false when the process ended or the time ran out first.</summary>
    public async Task<bool> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_output.Any(match)) return true;
            if (_process.HasExited && !_output.Any(match)) return false;
            await _lines.WaitAsync(TimeSpan.FromMilliseconds(200));
        }
        return _output.Any(match);
    }

    /// <summary>Runs a command to its end: its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string dataDirectory, params string[] args)
    {
        using var admin = Start(dataDirectory, args);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await admin._process.WaitForExitAsync(timeout.Token);
        admin._process.WaitForExit(); // drains the redirected output
        return (admin._process.ExitCode, admin.Output);
    }

    /// <summary>Kills the process as a power cut would: no shutdown code runs.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        _lines.Dispose();
    }
}
