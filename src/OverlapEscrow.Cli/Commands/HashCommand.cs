using System.CommandLine;
using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli.Commands;

/// <summary>
/// `hash`: the transformation of `upload` without the upload. It writes exactly the NDJSON lines an upload would
/// send, so a security reviewer can see what leaves the company: record ids, identifier hashes and the named
/// attribute columns, nothing else.
/// </summary>
internal static class HashCommand
{
    public static Command Create(CliEnvironment env)
    {
        var account = new AccountOptions();
        var output = new Option<string?>("--output", "-o") { Description = "Where to write the NDJSON; standard output when omitted. The summary goes to standard error." };
        var command = new Command("hash", "Write the NDJSON an upload would send (record ids, hashes, named attributes), without sending anything.");
        account.AddTo(command);
        command.Add(output);
        command.SetAction((parse, ct) => CliApp.GuardAsync(env, async () =>
        {
            var (path, columns) = account.Read(parse);
            var target = parse.GetValue(output);
            await AccountExport.CheckColumnsAsync(path, columns, ct);
            var writer = string.IsNullOrEmpty(target)
                ? await ToStandardOutputAsync(env, path, columns, ct)
                : await ToFileAsync(env, path, columns, target, ct);
            Reporting.WriteSummary(env.Error, path, writer.Stats);
            if (!string.IsNullOrEmpty(target)) env.Error.WriteLine($"written:          {target}");
            return CliApp.Ok;
        }));
        return command;
    }

    private static async Task<UploadRowWriter> ToStandardOutputAsync(CliEnvironment env, string path, AccountColumns columns, CancellationToken ct)
    {
        await using var stdout = env.OpenStandardOutput();
        var writer = await AccountExport.WriteNdjsonAsync(path, columns, stdout, null, ct);
        await stdout.FlushAsync(ct);
        return writer;
    }

    private static async Task<UploadRowWriter> ToFileAsync(CliEnvironment env, string path, AccountColumns columns, string target, CancellationToken ct)
    {
        // Written beside the target and moved into place at the end, so a failed run never leaves a partial
        // file that looks like a complete one.
        var full = Path.GetFullPath(target);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var writer = await Reporting.WithProgressAsync(env, path, "Hashing", async (progress, _) =>
            {
                await using var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                return await AccountExport.WriteNdjsonAsync(path, columns, file, progress, ct);
            });
            File.Move(temp, full, overwrite: true);
            return writer;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
