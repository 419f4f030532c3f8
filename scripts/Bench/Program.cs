using OverlapEscrow.Bench;

// One subcommand per group of figures; each prints "figure: value | baseline: value | ratio" lines and appends
// "name: HOLDS|MISSED (…)" lines to the targets file that scripts/bench summarizes. With --postgres CS, every escrow
// the subcommand opens stores in that PostgreSQL database instead of SQLite.
if (args.Length > 1) Escrow.Postgres = Options.Parse(args[1..]).Get("postgres");
return args.Length == 0 ? Usage() : args[0] switch
{
    "overlap-setup" => await Overlaps.SetupAsync(Options.Parse(args[1..])),
    "overlap" => await Overlaps.MeasureAsync(Options.Parse(args[1..])),
    "overlap-cold" => await Overlaps.ColdOnlyAsync(Options.Parse(args[1..])),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: overlap-escrow-bench overlap-setup|overlap|overlap-cold --work DIR --records N [--targets FILE] [--sqlite-baseline true] [--lazy-baseline true] [--postgres CS] [--compare-with DIR] [--rounds N] [--rounds-only true]");
    return 2;
}
