using System.CommandLine;
using System.CommandLine.Help;
using OverlapEscrow.Cli.Commands;
using OverlapEscrow.Client.Crm;
using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli;

/// <summary>
/// The command line: `upload`, `sync`, `hash` and `overlaps`. Every error ends as one line on standard error
/// ("error: …") and an exit code: 2 for wrong arguments, 1 for anything that failed while running. Stack traces
/// are never printed: they would only bury the one thing the user needs to change.
/// </summary>
public static class CliApp
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    /// <summary>Where --api-key comes from when it is not given, so the key stays out of shell history.</summary>
    public const string ApiKeyVariable = "OVERLAP_ESCROW_API_KEY";

    public static async Task<int> RunAsync(string[] args, CliEnvironment env, CancellationToken ct = default)
    {
        var root = new RootCommand("Partner-side client of OverlapEscrow: normalizes and hashes CRM exports on this machine, uploads only " +
                                   "the identifier hashes and the attribute columns you name, and shows overlap matrices.")
        {
            UploadCommand.Create(env),
            SyncCommand.Create(env),
            HashCommand.Create(env),
            OverlapsCommand.Create(env),
        };
        ParseResult parse;
        try
        {
            parse = root.Parse(args);
        }
        catch (Exception e)
        {
            WriteError(env, e.Message);
            return Usage;
        }
        if (parse.Errors.Count > 0)
        {
            var command = parse.CommandResult.Command is RootCommand ? "" : parse.CommandResult.Command.Name + " ";
            var messages = parse.Errors.Select(e => e.Message.TrimEnd('.')).Distinct();
            WriteError(env, $"{string.Join("; ", messages)} (see overlap-escrow {command}--help)");
            return Usage;
        }
        var exit = await parse.InvokeAsync(new InvocationConfiguration { Output = env.Out, Error = env.Error, EnableDefaultExceptionHandler = false }, ct);
        // The config file's fields do not fit the options table: `sync --help` lists them after it.
        if (parse.Action is HelpAction && parse.CommandResult.Command.Name == SyncCommand.Name) env.Out.Write(SyncCommand.ConfigHelp);
        return exit;
    }

    /// <summary>Runs a command's work and turns every exception into one error line and an exit code.</summary>
    internal static async Task<int> GuardAsync(CliEnvironment env, Func<Task<int>> work)
    {
        try
        {
            return await work();
        }
        catch (UsageException e)
        {
            WriteError(env, e.Message);
            return Usage;
        }
        catch (Exception e)
        {
            WriteError(env, Describe(e));
            return Failure;
        }
    }

    internal static void WriteError(CliEnvironment env, string message) =>
        env.Error.WriteLine("error: " + EscrowApiExceptionText.OneLine(message));

    private static string Describe(Exception e) => e switch
    {
        // The framework's 403 says only "Forbidden": name what the key lacks.
        EscrowApiException { Status: 403 } => $"{e.Message}: the API key's scopes do not allow this (upload and sync need populations:write, overlaps needs overlaps:read).",
        CliFailure or CrmExportException or EscrowApiException or Client.Hashing.UnicodeSupportException => e.Message,
        OperationCanceledException => "cancelled; nothing more was sent.",
        FileNotFoundException f => $"cannot read {f.FileName ?? "the file"}: no such file.",
        DirectoryNotFoundException => $"no such directory ({e.Message}).",
        UnauthorizedAccessException or IOException => $"cannot read or write a file: {e.Message}",
        HttpRequestException h => $"cannot reach the escrow: {h.Message}",
        TimeoutException => e.Message,
        _ => $"unexpected failure ({e.GetType().Name}): {e.Message}",
    };
}

/// <summary>Wrong or missing arguments: exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>A failure with a message written for the user: exit code 1.</summary>
public sealed class CliFailure(string message) : Exception(message);

internal static class EscrowApiExceptionText
{
    public static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
