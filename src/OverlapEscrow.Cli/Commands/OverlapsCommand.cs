using System.CommandLine;
using System.Globalization;
using OverlapEscrow.Client.Upload;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace OverlapEscrow.Cli.Commands;

/// <summary>`overlaps`: the overlap matrix of each active partnership, as a table.</summary>
internal static class OverlapsCommand
{
    public const string Withheld = "<";
    public const string Hidden = "–";

    public static Command Create(CliEnvironment env)
    {
        var server = new ServerOptions();
        var partner = new Option<string?>("--partner") { Description = "Only the partnership with this partner organization (its slug)." };
        var command = new Command("overlaps", "Show the overlap matrix of every active partnership: rows are your populations, columns the partner's.");
        server.AddTo(command);
        command.Add(partner);
        command.SetAction((parse, ct) => CliApp.GuardAsync(env, async () =>
        {
            var (url, apiKey) = server.Read(parse, env);
            var slug = parse.GetValue(partner)?.Trim().ToLowerInvariant();
            using var http = env.CreateHttpClient(url, []);
            env.ClientOptions.OnRetry = notice => env.Error.WriteLine($"warning: attempt {notice.FailedAttempt} of {notice.MaxAttempts} failed ({notice.Reason}); retrying in {notice.Delay.TotalSeconds:0.#} s.");
            var client = new EscrowClient(http, apiKey, env.ClientOptions);
            var partnerships = (await client.GetPartnershipsAsync(ct))
                .Where(p => p.Status == "active" && (slug is null || p.Partner.Slug == slug))
                .ToList();
            if (partnerships.Count == 0)
            {
                if (slug is not null) throw new CliFailure($"no active partnership with \"{slug}\".");
                env.Out.WriteLine("No active partnerships yet: invite a partner (POST /v1/partnerships) and wait for it to accept.");
                return CliApp.Ok;
            }
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(env.Out),
                Ansi = env.OutIsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
                ColorSystem = env.OutIsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            });
            if (!env.OutIsTerminal) console.Profile.Width = 160;
            foreach (var partnership in partnerships)
            {
                var matrix = await client.GetMatrixAsync(partnership.Id, ct);
                var computed = matrix.ComputedAt is { } at ? ", computed " + at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) : "";
                console.Write(new Text($"{matrix.Partner.Name} ({matrix.Partner.Slug}): partnership {matrix.PartnershipId}{computed}"));
                console.WriteLine();
                console.Write(Render(matrix));
                console.WriteLine();
            }
            console.WriteLine($"Cells: my records that overlap; {Withheld}N: withheld (fewer than N on one side); {Hidden}: not shared with me.");
            return CliApp.Ok;
        }));
        return command;
    }

    /// <summary>One table: my populations down, the partner's across, a count or a marker in each cell.</summary>
    public static Table Render(OverlapMatrix matrix)
    {
        var table = new Table();
        table.AddColumn(new TableColumn(new Text("mine \\ theirs")));
        foreach (var theirs in matrix.PartnerPopulations)
            table.AddColumn(new TableColumn(new Text(theirs.Name)).RightAligned());
        foreach (var mine in matrix.MyPopulations)
        {
            // Names are Text, not markup, so a population called "[red]" is shown as written.
            var row = new List<IRenderable> { new Text($"{mine.Name} ({mine.RecordCount:N0})") };
            row.AddRange(matrix.PartnerPopulations.Select(theirs => (IRenderable)new Text(CellText(matrix.Cell(mine.Id, theirs.Id)))));
            table.AddRow(row);
        }
        return table;
    }

    public static string CellText(MatrixCell? cell) => cell switch
    {
        null => Hidden,
        { Count: { } count } => count.ToString("N0", CultureInfo.InvariantCulture),
        { MinimumCount: { } minimum } => Withheld + minimum.ToString(CultureInfo.InvariantCulture),
        _ => Hidden,
    };
}
