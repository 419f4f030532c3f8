using OverlapEscrow.Client.Hashing;
using OverlapEscrow.Client.Upload;
using Spectre.Console;

namespace OverlapEscrow.Cli.Commands;

/// <summary>Progress while a file is read, and the summary of what was read, hashed and skipped.</summary>
internal static class Reporting
{
    private static readonly IReadOnlyList<string> TypeOrder = IdentifierHashes.Types;

    /// <summary>
    /// Runs <paramref name="work"/> with a progress callback (rows, bytes). A progress bar is drawn on standard error
    /// only when it is a terminal; in a pipeline or a log file the output stays plain. Messages that arrive while
    /// the bar is drawn go through <paramref name="say"/> so they do not tear it.
    /// </summary>
    public static async Task<T> WithProgressAsync<T>(CliEnvironment env, string path, string verb,
        Func<Action<long, long>, Action<string>, Task<T>> work)
    {
        if (!env.ErrorIsTerminal) return await work((_, _) => { }, message => env.Error.WriteLine(message));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(env.Error) });
        var length = Math.Max(1, new FileInfo(path).Length);
        var name = Markup.Escape(Path.GetFileName(path));
        return await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask($"{verb} {name}", maxValue: length);
                var result = await work((rows, bytes) =>
                {
                    task.Value = Math.Min(bytes, length);
                    task.Description = $"{verb} {name}: {rows:N0} rows";
                }, message => console.MarkupLine(Markup.Escape(message)));
                task.Value = length;
                return result;
            });
    }

    /// <summary>Rows read, keys per type, and the rows left out with the reasons per field.</summary>
    public static void WriteSummary(TextWriter w, string path, UploadStats stats)
    {
        w.WriteLine($"rows read:        {stats.RowsRead:N0} ({Path.GetFileName(path)})");
        w.WriteLine($"rows with keys:   {stats.RowsWritten:N0}");
        var types = TypeOrder.Where(stats.RowsWithType.ContainsKey).Concat(stats.RowsWithType.Keys.Except(TypeOrder).Order()).ToList();
        if (types.Count > 0)
            w.WriteLine("keys per type:    " + string.Join(", ", types.Select(t => $"{t} {stats.RowsWithType[t]:N0} rows" +
                (stats.HashesByType[t] != stats.RowsWithType[t] ? $" ({stats.HashesByType[t]:N0} hashes)" : ""))));
        w.WriteLine($"rows without key: {stats.RowsWithoutKey:N0}{(stats.RowsWithoutKey > 0 ? " (not uploaded); why, per field:" : "")}");
        foreach (var (field, reasons) in stats.SkipReasons.OrderBy(f => f.Key, StringComparer.Ordinal))
            w.WriteLine($"  {field}: " + string.Join(", ", reasons.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value:N0}")));
    }
}
