using System.CommandLine;
using OverlapEscrow.Client.Hashing;
using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli.Commands;

/// <summary>
/// `hash`: the transformation of `upload` without the upload. It writes exactly the NDJSON lines an upload would
/// send, so a security reviewer can see what leaves the company: record ids, identifier hashes and the named
/// attribute columns, nothing else. With --explain it also shows, per row, the normalized keys before hashing (on
/// standard error or in a file of their own, never in the NDJSON), so a partner can see why two accounts did or did
/// not match.
/// </summary>
internal static class HashCommand
{
    public static Command Create(CliEnvironment env)
    {
        var account = new AccountOptions();
        var output = new Option<string?>("--output", "-o") { Description = "Where to write the NDJSON; standard output when omitted. The summary goes to standard error." };
        var explain = new Option<string?>("--explain")
        {
            Description = "Also show each row's normalized keys before hashing (type:key …, and why a field gave none), one tab-separated line per " +
                          "row: on standard error, or in the file named. They are your accounts' names and domains in clear: keep them in house.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var threads = new Option<int>("--threads")
        {
            Description = "Cores to normalize and hash on (default: all of them); 1 hashes row by row. The output is the same either way.",
            DefaultValueFactory = _ => 0,
        };
        threads.Validators.Add(r =>
        {
            var n = r.GetValueOrDefault<int>();
            if (n < 0 || n > MaxThreads) r.AddError($"--threads is 0 (all cores) or a number of cores up to {MaxThreads}.");
        });
        var command = new Command("hash", "Write the NDJSON an upload would send (record ids, hashes, named attributes), without sending anything.");
        account.AddTo(command);
        command.Add(output);
        command.Add(explain);
        command.Add(threads);
        command.SetAction((parse, ct) => CliApp.GuardAsync(env, async () =>
        {
            var (path, columns) = account.Read(parse);
            var target = parse.GetValue(output);
            await AccountExport.CheckColumnsAsync(path, columns, ct);
            var explainFile = parse.GetValue(explain);
            var explaining = parse.GetResult(explain) is not null;
            // Standard error is the environment's and stays open; a file of explanations is ours to close.
            // The explanations are the accounts' names and domains in clear: a file of them is created owner-only.
            await using var explainFileWriter = explaining && !string.IsNullOrEmpty(explainFile)
                ? new StreamWriter(new FileStream(explainFile, SpecialFiles.OwnerOnly(FileMode.Create)), new System.Text.UTF8Encoding(false))
                : null;
            // A file that was there keeps its mode on open: made owner-only too (not a device: /dev/stderr is no file).
            if (explainFileWriter is not null && !OperatingSystem.IsWindows() && !SpecialFiles.IsOtherThanRegularFile(explainFile!))
                File.SetUnixFileMode(explainFile!, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var explainWriter = !explaining ? null : explainFileWriter ?? env.Error;
            Action<long, string, AccountKeys>? explainRow = explainWriter is null ? null : (row, id, keys) => Explain(explainWriter, row, id, keys);
            var cores = parse.GetValue(threads);
            var writer = string.IsNullOrEmpty(target)
                ? await ToStandardOutputAsync(env, path, columns, explainRow, cores, ct)
                : await ToFileAsync(env, path, columns, target, explainRow, cores, ct);
            if (explainWriter is not null) await explainWriter.FlushAsync(ct);
            Reporting.WriteSummary(env.Error, path, writer.Stats);
            if (!string.IsNullOrEmpty(target)) env.Error.WriteLine($"written:          {target}");
            if (!string.IsNullOrEmpty(explainFile)) env.Error.WriteLine($"explained:        {explainFile}");
            return CliApp.Ok;
        }));
        return command;
    }

    private static readonly string[] FieldOrder = ["website", "email", "name"];

    /// <summary>More threads than this only add memory (64 on two cores took 2.9 times as long and 4.5 times the memory).</summary>
    private const int MaxThreads = 256;

    /// <summary>One row: "row N", the record id, its keys as type:key (or that it has none and is not uploaded), and why fields gave none.</summary>
    private static void Explain(TextWriter w, long row, string recordId, AccountKeys keys)
    {
        var line = $"row {row}\t{recordId}\t" + (keys.IsEmpty ? "(no key: not uploaded)" : string.Join(' ', keys.Identifiers));
        if (keys.Missing.Count > 0)
            line += "\t" + string.Join(", ", keys.Missing.OrderBy(m => Array.IndexOf(FieldOrder, m.Key)).Select(m => $"{m.Key}: {m.Value}"));
        w.WriteLine(line);
    }

    private static async Task<UploadRowWriter> ToStandardOutputAsync(CliEnvironment env, string path, AccountColumns columns,
        Action<long, string, AccountKeys>? explain, int threads, CancellationToken ct)
    {
        await using var stdout = env.OpenStandardOutput();
        var writer = await AccountExport.WriteNdjsonAsync(path, columns, stdout, null, ct, explain, threads);
        await stdout.FlushAsync(ct);
        return writer;
    }

    private static async Task<UploadRowWriter> ToFileAsync(CliEnvironment env, string path, AccountColumns columns, string target,
        Action<long, string, AccountKeys>? explain, int threads, CancellationToken ct)
    {
        // Written beside the target and moved into place at the end, so a failed run never leaves a partial
        // file that looks like a complete one. A link is followed (the file it names is replaced, not the link), and what is
        // not a regular file — /dev/null, /dev/stdout, a pipe — is written as it is: a rename would replace it with a file
        // (run as root, `-o /dev/null` did; a trial, 2026-12-04).
        var full = Path.GetFullPath(target);
        if (new FileInfo(full).LinkTarget is not null && File.ResolveLinkTarget(full, returnFinalTarget: true) is { } linked) full = linked.FullName;
        if (SpecialFiles.IsOtherThanRegularFile(full))
            return await Reporting.WithProgressAsync(env, path, "Hashing", async (progress, _) =>
            {
                await using var device = new FileStream(full, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1 << 16, FileOptions.None);
                return await AccountExport.WriteNdjsonAsync(path, columns, device, progress, ct, explain, threads);
            });
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var writer = await Reporting.WithProgressAsync(env, path, "Hashing", async (progress, _) =>
            {
                // Synchronous I/O: the writer writes its 1 MB blocks on its own thread (UploadRowWriter.FlushAsync). Owner-only,
                // like the explanations: it names the organization's record ids.
                await using var file = new FileStream(temp, SpecialFiles.OwnerOnly(FileMode.CreateNew, FileShare.None, 1 << 16));
                return await AccountExport.WriteNdjsonAsync(path, columns, file, progress, ct, explain, threads);
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
