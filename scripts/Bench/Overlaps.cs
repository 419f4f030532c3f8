using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;
using static OverlapEscrow.Bench.Report;

namespace OverlapEscrow.Bench;

/// <summary>
/// Cold and warm overlaps, memory per cached record and collection pauses (issue "Speed and memory", items 2 and 3).
/// Two organizations each upload one snapshot of N records, a domain and a name token each, 20 % of them shared,
/// and an attribute; the versions are written as an upload writes them (record segments). Then:
/// <list type="bullet">
/// <item><c>overlap-setup</c>: writes them, each with its columns built from its records and stored with its pending version,
/// before its commit (as an upload does), and measures the first overlap after them; with <c>--lazy-baseline true</c>, also the first overlap of
/// versions stored before the columns existed (read from their record segments, columns written then: what the
/// first overlap after an upload cost before the columns were written in the upload's commit).</item>
/// <item><c>overlap</c> (a new process, so its first figure is the one after a restart): cold overlaps from the stored
/// columns, the overlap once both versions are in memory, memory per cached record, collection pauses around
/// matrix computations, and the baselines on the same tokens (sort + merge; merge of sorted tokens; a SQLite indexed
/// join).</item>
/// </list>
/// </summary>
public static class Overlaps
{
    private const double Shared = 0.2;

    private sealed record Setup(int Records, string MyOrganization, string MyPopulation, string MyVersion,
        string TheirOrganization, string TheirPopulation, string TheirVersion);

    public static async Task<int> SetupAsync(Options options)
    {
        var n = options.Records;
        if (Directory.Exists(options.Work)) Directory.Delete(options.Work, recursive: true);
        Setup setup;
        var write = Stopwatch.StartNew();
        await using (var escrow = await Escrow.OpenAsync(Path.Combine(options.Work, "data")))
        {
            var mine = await WriteSnapshotAsync(escrow, options.Work, "a", n, i => i);
            var theirs = await WriteSnapshotAsync(escrow, options.Work, "b", n, i => i < n * Shared ? i : -1);
            setup = new Setup(n, mine.Organization, mine.Population, mine.Version, theirs.Organization, theirs.Population, theirs.Version);
        }
        await File.WriteAllTextAsync(Path.Combine(options.Work, "setup.json"), JsonSerializer.Serialize(setup));
        Console.WriteLine($"overlaps at {n:N0} records per side ({Shared:P0} shared, a domain and a name token each): written in {write.Elapsed.TotalSeconds:0.0} s");
        Figure("columns built and stored with the pending version, per side (best of 2)", Ms(_columnsMs.Min()),
            "segments written " + Ms(_segmentsMs.Min()), Times(_columnsMs.Min() / _segmentsMs.Min()));
        Figure("  of which sorted (ids, then each type's tokens)", Ms(_sortMs.Min()));

        // The first overlap after the uploads: the versions' columns are there, nothing is written.
        var dataDirectory = Path.Combine(options.Work, "data");
        var firstAfterUpload = await FirstOverlapAsync(dataDirectory, setup);
        if (options.Flag("lazy-baseline"))
        {
            // The same versions as if stored before the columns existed: the first overlap reads their record segments
            // and writes their columns (what every first overlap after an upload did before).
            await using (var escrow = await Escrow.OpenAsync(dataDirectory)) await escrow.ExecuteAsync("DELETE FROM version_columns");
            var lazy = await FirstOverlapAsync(dataDirectory, setup);
            Figure("first overlap after upload (columns stored with the upload)", Ms(firstAfterUpload), "versions without columns " + Ms(lazy), Times(firstAfterUpload / lazy));
        }
        else Figure("first overlap after upload (columns stored with the upload)", Ms(firstAfterUpload));
        return 0;
    }

    private static readonly List<double> _columnsMs = [], _segmentsMs = [], _sortMs = [];

    private static async Task<double> FirstOverlapAsync(string dataDirectory, Setup setup)
    {
        await using var escrow = await Escrow.OpenAsync(dataDirectory);
        var sw = Stopwatch.StartNew();
        var (mine, theirs) = await LoadAsync(escrow, setup);
        var result = OverlapEngine.Compute(mine, theirs);
        var elapsed = sw.Elapsed.TotalMilliseconds;
        Check(result, setup);
        return elapsed;
    }

    public static async Task<int> MeasureAsync(Options options)
    {
        var setup = JsonSerializer.Deserialize<Setup>(await File.ReadAllTextAsync(Path.Combine(options.Work, "setup.json")))!;
        var n = setup.Records;
        var data = Path.Combine(options.Work, "data");
        Console.WriteLine($"overlaps at {n:N0} records per side, from the stored columns");

        // After a restart: this process has loaded nothing yet (its first figure includes compiling the code it runs).
        // Memory: the heap with the two versions loaded, less the heap before (conservative: it includes the escrow's
        // services and the compiled code); and what the cache charges for them.
        var empty = GC.GetTotalMemory(forceFullCollection: true);
        var first = await Escrow.OpenAsync(data);
        var restart = await ColdAsync(first, setup);
        var (afterRestart, afterRestartCpu, afterRestartFaults) = (restart.Elapsed, restart.Cpu, restart.Faults);
        var retained = GC.GetTotalMemory(forceFullCollection: true) - empty;
        var charged = first.Get<CacheMemory>().HeldBytes;
        await first.DisposeAsync();
        Figure("cold overlap after a restart (first in a new process)", Ms(afterRestart), $"CPU of the process meanwhile {Ms(afterRestartCpu)}");
        Figure("  minor page faults meanwhile", $"{afterRestartFaults:N0}");
        Phases("  of which", restart);
        var cold = new List<double>();
        var coldCpu = new List<double>();
        var coldFaults = new List<double>();
        var colds = new List<Cold>();
        for (var i = 0; i < 3; i++)
        {
            await using var fresh = await Escrow.OpenAsync(data);
            var one = await ColdAsync(fresh, setup);
            colds.Add(one);
            cold.Add(one.Elapsed);
            coldCpu.Add(one.Cpu);
            coldFaults.Add(one.Faults);
        }
        var coldMedian = Median(cold);

        // Where a cold overlap's time goes: reading the sealed columns, opening them, copying them into arrays, matching.
        await BreakdownAsync(data, setup);

        var escrow = await Escrow.OpenAsync(data);
        var (mine, theirs) = await LoadAsync(escrow, setup);

        // Once both are in memory: the overlap alone (what a matrix read computes when its result is not cached).
        var warm = new List<double>();
        var warmCpu = new List<double>();
        var pauses = new List<double>();
        var gen2 = GC.CollectionCount(2);
        for (var i = 0; i < 10; i++)
        {
            var pause = GC.GetTotalPauseDuration();
            var cpu = CpuMs();
            var sw = Stopwatch.StartNew();
            var result = OverlapEngine.Compute(mine, theirs);
            warm.Add(sw.Elapsed.TotalMilliseconds);
            warmCpu.Add(CpuMs() - cpu);
            pauses.Add((GC.GetTotalPauseDuration() - pause).TotalMilliseconds);
            if (i == 0) Check(result, setup);
        }
        gen2 = GC.CollectionCount(2) - gen2;

        // Baselines on the very same tokens, in upload order (unsorted): sort + merge; merge of already sorted tokens.
        var (sortMerge, mergeOnly) = SortMergeBaseline(mine, theirs);
        double? sqlite = options.Flag("sqlite-baseline") ? SqliteJoinBaseline(options.Work, mine, theirs) : null;

        Figure("cold overlap from stored versions (median of 3)", Ms(coldMedian), "sort + merge " + Ms(sortMerge), Times(coldMedian / sortMerge));
        if (sqlite is { } s) Figure("", "", "SQLite indexed join " + Ms(s), Times(coldMedian / s));
        // CPU (user + system, all the process's threads) beside wall-clock: on a shared machine the wall-clock figure
        // includes waiting for a core, the CPU figure does not (it does include first touches of fresh pages).
        Figure("  CPU of the process per cold overlap (median of 3)", Ms(Median(coldCpu)));
        Figure("  minor page faults of the process per cold overlap (median of 3)", $"{Median(coldFaults):N0}", $"4 KB pages of the columns kept {(ColumnBytes(mine) + ColumnBytes(theirs)) / 4096:N0}");
        Phases("  of which (the median cold overlap)", colds.OrderBy(c => c.Elapsed).ElementAt(1));
        Figure("overlap, both versions in memory (median of 10)", Ms(Median(warm)), "merge of sorted tokens " + Ms(mergeOnly), Times(Median(warm) / mergeOnly));
        Figure("  CPU of the process per overlap in memory (median of 10)", Ms(Median(warmCpu)));
        Figure("memory per cached record (heap kept / records)", $"{retained / (2.0 * n):0} B", "the tokens: 40 B", Times(retained / (2.0 * n) / 40));
        Figure("memory per cached record (charged to the cache budget)", $"{charged / (2.0 * n):0} B");
        Figure("collection pause per overlap computation, worst of 10", Ms(pauses.Max()), $"{gen2} gen2 collections meanwhile");
        await File.WriteAllTextAsync(Path.Combine(options.Work, "cold.txt"), coldMedian.ToString(CultureInfo.InvariantCulture));
        await File.WriteAllTextAsync(Path.Combine(options.Work, "restart.txt"), afterRestart.ToString(CultureInfo.InvariantCulture));
        await escrow.DisposeAsync();
        if (options.Get("compare-with") is { } other && File.Exists(Path.Combine(other, "cold.txt")))
        {
            // The same figures measured on the other database earlier in this run (scripts/bench, PROVIDERS).
            var otherCold = double.Parse(await File.ReadAllTextAsync(Path.Combine(other, "cold.txt")), CultureInfo.InvariantCulture);
            var otherRestart = double.Parse(await File.ReadAllTextAsync(Path.Combine(other, "restart.txt")), CultureInfo.InvariantCulture);
            Figure($"cold overlap from {Escrow.Database} (median of 3)", Ms(coldMedian), "SQLite, same run " + Ms(otherCold), Times(coldMedian / otherCold));
            Figure($"cold overlap after a restart, {Escrow.Database}", Ms(afterRestart), "SQLite, same run " + Ms(otherRestart), Times(afterRestart / otherRestart));
        }

        var size = $"{n / 1_000_000.0:0.#}M x {n / 1_000_000.0:0.#}M";
        // The time targets are for the first size; at the growth size the target is linear growth (below), not these.
        var growthRun = options.Get("linear-from") is not null;
        if (!growthRun)
        {
            Target(options, $"cold overlap {size} <= 150 ms", coldMedian <= 150 && afterRestart <= 150, $"{Ms(coldMedian)}, after a restart {Ms(afterRestart)}");
            Target(options, $"overlap in memory {size} <= 50 ms", Median(warm) <= 50, Ms(Median(warm)));
            // The issue's figures beside its baselines: 150 ms where sort + merge took 271 ms (0.55x), 50 ms where the merge
            // of already sorted tokens took 8.5 ms (5.9x); a restart is held to the same ratio as the cold overlap.
            Ratio(options, $"cold overlap {size} <= 0.55x sort + merge (the issue: 150 of 271 ms)",
                coldMedian <= 150 / 271.0 * sortMerge && afterRestart <= 150 / 271.0 * sortMerge,
                $"{Times2(coldMedian / sortMerge)}, after a restart {Times2(afterRestart / sortMerge)}, of {Ms(sortMerge)}");
            Ratio(options, $"overlap in memory {size} <= 5.9x merge of sorted tokens (the issue: 50 of 8.5 ms)",
                Median(warm) <= 50 / 8.5 * mergeOnly, $"{Times2(Median(warm) / mergeOnly)} of {Ms(mergeOnly)}");
        }
        Target(options, $"memory <= 150 B per cached record at {size}", retained / (2.0 * n) <= 150, $"{retained / (2.0 * n):0} B");
        Target(options, $"no collection pause > 20 ms on a matrix computation at {size}", pauses.Max() <= 20, Ms(pauses.Max()));
        if (options.Get("linear-from") is { } smaller && File.Exists(Path.Combine(smaller, "cold.txt")))
        {
            var smallCold = double.Parse(await File.ReadAllTextAsync(Path.Combine(smaller, "cold.txt")), CultureInfo.InvariantCulture);
            var smallN = JsonSerializer.Deserialize<Setup>(await File.ReadAllTextAsync(Path.Combine(smaller, "setup.json")))!.Records;
            var growth = coldMedian / smallCold;
            var allowed = 3.5 * n / (3.0 * smallN);
            Figure($"cold overlap growth for {n / (double)smallN:0.#}x the records", Times(growth), "linear " + Times(n / (double)smallN));
            Target(options, $"linear growth ({n / (double)smallN:0.#}x records <= {allowed:0.0}x time)", growth <= allowed, Times(growth));
        }
        return 0;
    }

    /// <summary>
    /// Only cold overlaps, <c>--rounds</c> of them (5), each in an escrow with empty caches, with their phases: for comparing two
    /// builds over the same stored versions, or for a profiler attached to this process alone (<c>--rounds-only true</c>
    /// skips the decode figures that follow the rounds, so a whole-process profile holds the rounds alone).
    /// </summary>
    public static async Task<int> ColdOnlyAsync(Options options)
    {
        var setup = JsonSerializer.Deserialize<Setup>(await File.ReadAllTextAsync(Path.Combine(options.Work, "setup.json")))!;
        var data = Path.Combine(options.Work, "data");
        var rounds = int.Parse(options.Get("rounds") ?? "5", CultureInfo.InvariantCulture);
        var colds = new List<Cold>();
        // --collect-between true: a blocking full collection before each round after the first (untimed), so the previous
        // round's versions (garbage once its escrow is closed) are freed before this round's loads allocate.
        var collectBetween = options.Get("collect-between") == "true";
        for (var i = 0; i < rounds; i++)
        {
            if (collectBetween && i > 0)
            {
                var collect = new Meter();
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
                Figure("  a full collection before the round", collect.Stop().ToString());
            }
            await using var fresh = await Escrow.OpenAsync(data);
            var one = await ColdAsync(fresh, setup);
            colds.Add(one);
            Figure($"cold overlap {i + 1} of {rounds}", Ms(one.Elapsed), $"CPU {Ms(one.Cpu)}, {one.Faults:N0} faults");
            Phases("  of which", one);
        }
        var later = colds.Skip(1).ToList();
        if (later.Count > 0)
            Figure("cold overlap, median after the first", Ms(Median(later.Select(c => c.Elapsed).ToList())),
                $"CPU {Ms(Median(later.Select(c => c.Cpu).ToList()))}, {Median(later.Select(c => (double)c.Faults).ToList()):N0} faults, load CPU {Ms(Median(later.Select(c => c.Load.Cpu).ToList()))}");

        // What the process holds after its rounds (the last escrow closed, its versions garbage): right away, after an
        // ordinary full collection and a pause, and after what the service's idle release runs (an aggressive collection).
        Figure("resident after the rounds", Resident());
        GC.Collect();
        await Task.Delay(TimeSpan.FromSeconds(3));
        Figure("resident after a full collection and 3 s", Resident());
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Figure("resident after an aggressive collection (the service's idle release)", Resident());

        // --rounds-only true stops here: a profile of the whole process (page faults, say) then holds the rounds alone.
        if (options.Get("rounds-only") == "true") return 0;

        // Opening both versions' parts (already read) into their columns as a load does (VersionStore.Decode), one after the
        // other on this thread: best of 7, each on arrays of memory freed by the previous (collected first).
        await using var escrow = await Escrow.OpenAsync(data);
        var store = escrow.Get<IVersionColumnStore>();
        var sides = new[] { (setup.MyOrganization, setup.MyVersion), (setup.TheirOrganization, setup.TheirVersion) };
        var ciphers = new List<IOrganizationCipher>();
        var parts = new List<IReadOnlyList<VersionPart>>();
        foreach (var (organization, version) in sides)
        {
            ciphers.Add(await escrow.Get<IKeyring>().ForOrganizationAsync(organization, CancellationToken.None));
            parts.Add(await store.ReadColumnsAsync(version, CancellationToken.None));
        }
        double best = double.MaxValue, bestCpu = double.MaxValue, firstCpu = 0;
        long firstFaults = 0;
        for (var i = 0; i < 7; i++)
        {
            GC.Collect();
            var sw = Stopwatch.StartNew();
            var cpu = ThreadCpuMs();
            var faults = MinorFaults();
            for (var s = 0; s < sides.Length; s++) VersionStore.Decode(ciphers[s], sides[s].Item2, parts[s]);
            if (i == 0) (firstCpu, firstFaults) = (ThreadCpuMs() - cpu, MinorFaults() - faults);
            bestCpu = Math.Min(bestCpu, ThreadCpuMs() - cpu);
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }
        foreach (var c in ciphers) c.Dispose();
        // The thread's CPU does not include waiting for a core, so it can be compared across runs on a loaded machine.
        Figure("open + into arrays, both versions (VersionStore.Decode, best of 7)", Ms(best), $"CPU of its thread {Ms(bestCpu)}; the first of the 7: {Ms(firstCpu)}, {firstFaults:N0} faults");
        return 0;
    }

    /// <summary>The cold path of both versions step by step (each step timed over both), printed as one line.</summary>
    private static async Task BreakdownAsync(string data, Setup setup)
    {
        await using var escrow = await Escrow.OpenAsync(data);
        var store = escrow.Get<IVersionColumnStore>();
        var keyring = escrow.Get<IKeyring>();
        var sides = new[] { (setup.MyOrganization, setup.MyVersion), (setup.TheirOrganization, setup.TheirVersion) };
        // Read as loads read (each part into one reused buffer), then as a list holding an array per part (what loads did).
        var sw = Stopwatch.StartNew();
        long streamed = 0;
        var readMeter = new Meter();
        foreach (var (_, version) in sides)
            await store.ReadColumnsAsync(version, (_, _, ciphertext, _) => streamed += ciphertext.Length, CancellationToken.None);
        var read = sw.Elapsed.TotalMilliseconds;
        var readSpent = readMeter.Stop();
        sw.Restart();
        var parts = new List<IReadOnlyList<VersionPart>>();
        foreach (var (_, version) in sides) parts.Add(await store.ReadColumnsAsync(version, CancellationToken.None));
        var readArrays = sw.Elapsed.TotalMilliseconds;
        // Opening alone, as loads open: each part into one reused buffer (an array per part would time the first touch of
        // 80 MB of fresh pages, not AES-GCM). Then, untimed, each part into an array of its own for the next step.
        var opened = new List<List<(long, byte[])>>();
        var plaintext = new byte[parts.Max(p => p.Max(x => x.Data.Ciphertext.Length))];
        double open = 0;
        for (var s = 0; s < sides.Length; s++)
        {
            using var cipher = await keyring.ForOrganizationAsync(sides[s].Item1, CancellationToken.None);
            sw.Restart();
            foreach (var p in parts[s]) cipher.Open(VersionStore.SealLabel, VersionStore.SealId(sides[s].Item2, p.Part), p.Data, plaintext);
            open += sw.Elapsed.TotalMilliseconds;
            opened.Add(parts[s].Select(p => (p.Part, cipher.Open(VersionStore.SealLabel, VersionStore.SealId(sides[s].Item2, p.Part), p.Data))).ToList());
        }
        List<PopulationData> decoded = [];
        double decode = double.MaxValue, match = double.MaxValue;
        Spent firstDecode = default;
        for (var i = 0; i < 3; i++)
        {
            sw.Restart();
            var meter = new Meter();
            decoded = opened.Select((o, s) => VersionColumns.Decode(sides[s].Item2, o)).ToList();
            if (i == 0) firstDecode = meter.Stop();
            decode = Math.Min(decode, sw.Elapsed.TotalMilliseconds);
            sw.Restart();
            OverlapEngine.Compute(decoded[0], decoded[1]);
            match = Math.Min(match, sw.Elapsed.TotalMilliseconds);
        }
        var bytes = parts.Sum(p => p.Sum(x => (long)x.Data.Ciphertext.Length));
        if (bytes != streamed) throw new InvalidOperationException("The two reads of the columns differ.");
        Figure($"  of which: read from {Escrow.Database} / open (AES-GCM, into one buffer) / into arrays / match (best of 3)",
            $"{Ms(read)} / {Ms(open)} / {Ms(decode)} / {Ms(match)}", $"{bytes / 1e6:0.0} MB of columns");
        Figure($"  read from {Escrow.Database} into a reused buffer (what loads do)", Ms(read), "an array per part " + Ms(readArrays), Times(read / readArrays));
        Figure($"  read from {Escrow.Database}, both versions one after the other", readSpent.ToString());
        if (Escrow.Postgres is null) MappedReadBaseline(Path.Combine(data, "escrow.db"), sides.Select(s => s.Item2).ToList());
        Figure("  into arrays, the first time (arrays on memory the process had not used)", firstDecode.ToString());

        // Opening and copying, alternately: each part opened into an array of its own then copied (before), or opened
        // into one pooled buffer and copied from there into the columns' arrays (VersionStore.Decode, what loads use).
        double perPart = double.MaxValue, pooled = double.MaxValue;
        var ciphers = new List<IOrganizationCipher>();
        foreach (var (organization, _) in sides) ciphers.Add(await keyring.ForOrganizationAsync(organization, CancellationToken.None));
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            sw.Restart();
            for (var s = 0; s < sides.Length; s++)
                VersionColumns.Decode(sides[s].Item2, parts[s].Select(p => (p.Part, ciphers[s].Open(VersionStore.SealLabel, VersionStore.SealId(sides[s].Item2, p.Part), p.Data))));
            perPart = Math.Min(perPart, sw.Elapsed.TotalMilliseconds);
            GC.Collect();
            sw.Restart();
            for (var s = 0; s < sides.Length; s++) VersionStore.Decode(ciphers[s], sides[s].Item2, parts[s]);
            pooled = Math.Min(pooled, sw.Elapsed.TotalMilliseconds);
        }
        foreach (var c in ciphers) c.Dispose();
        Figure("  open + into arrays, straight from a pooled buffer (best of 3)", Ms(pooled), "an array per part " + Ms(perPart), Times(pooled / perPart));
    }

    /// <summary>
    /// What the process spent on one step: wall-clock, CPU (user + system, all threads), minor page faults, collections and
    /// their pauses; and of the CPU, what the runtime's own threads ran meanwhile: the tiered compiler's background thread
    /// (methods recompiled at a higher tier, whoever called them) and the collector's threads.
    /// </summary>
    private readonly record struct Spent(double Wall, double Cpu, long Faults, int Collections, double PauseMs, double JitCpu = 0, double GcCpu = 0, int FullCollections = 0)
    {
        public static Spent operator +(Spent a, Spent b) =>
            new(a.Wall + b.Wall, a.Cpu + b.Cpu, a.Faults + b.Faults, a.Collections + b.Collections, a.PauseMs + b.PauseMs, a.JitCpu + b.JitCpu, a.GcCpu + b.GcCpu,
                a.FullCollections + b.FullCollections);

        public override string ToString() =>
            $"{Report.Ms(Wall)} wall, {Report.Ms(Cpu)} CPU (background JIT {Report.Ms(JitCpu)}, GC threads {Report.Ms(GcCpu)}), {Faults:N0} faults, {Collections} GCs of which {FullCollections} gen2 ({Report.Ms(PauseMs)} paused)";
    }

    private sealed class Meter
    {
        private readonly Stopwatch _sw = Stopwatch.StartNew();
        private readonly double _cpu = CpuMs();
        private readonly long _faults = MinorFaults();
        private readonly int _collections = GC.CollectionCount(0);
        private readonly int _full = GC.CollectionCount(2);
        private readonly TimeSpan _pause = GC.GetTotalPauseDuration();
        private readonly (double Jit, double Gc) _runtime = RuntimeThreadsCpuMs();

        public Spent Stop()
        {
            var runtime = RuntimeThreadsCpuMs();
            return new(_sw.Elapsed.TotalMilliseconds, CpuMs() - _cpu, MinorFaults() - _faults, GC.CollectionCount(0) - _collections,
                (GC.GetTotalPauseDuration() - _pause).TotalMilliseconds, runtime.Jit - _runtime.Jit, runtime.Gc - _runtime.Gc, GC.CollectionCount(2) - _full);
        }
    }

    /// <summary>
    /// CPU time so far of the runtime's tiered-compilation thread and of its collector threads (Linux: each thread's name and
    /// run time from /proc/self/task; zeros elsewhere). A thread that ended meanwhile is not counted.
    /// </summary>
    private static (double Jit, double Gc) RuntimeThreadsCpuMs()
    {
        double jit = 0, gc = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                try
                {
                    var name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                    var isJit = name.StartsWith(".NET Tiered Com", StringComparison.Ordinal);
                    var isGc = name is ".NET Server GC" or ".NET BGC" or ".NET GC";
                    if (!isJit && !isGc) continue;
                    // schedstat: time on the CPU in nanoseconds, then time waiting for one, then timeslices.
                    var ns = long.Parse(File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ')[0], CultureInfo.InvariantCulture);
                    if (isJit) jit += ns / 1e6; else gc += ns / 1e6;
                }
                catch (IOException) { }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return (jit, gc);
    }

    /// <summary>A cold overlap and its phases: the data keys (unwrapped as a load does), both versions loaded at once, the match.</summary>
    private sealed record Cold(double Elapsed, double Cpu, long Faults, Spent Keys, Spent Load, Spent Match);

    private static void Phases(string prefix, Cold cold)
    {
        Figure($"{prefix}: data keys (both sides, as a load opens them)", cold.Keys.ToString());
        Figure($"{prefix}: both versions loaded at once (read, open, into arrays, check)", cold.Load.ToString());
        Figure($"{prefix}: match (OverlapEngine.Compute)", cold.Match.ToString());
    }

    /// <summary>
    /// The columns' read as the store does it (each part by incremental blob I/O into one reused buffer), on a connection of
    /// the bench's own, with the database file memory-mapped (what the store does) and without (one pread per 4 KB page),
    /// alternately, three times each: the CPU of each way, best of 3.
    /// </summary>
    private static void MappedReadBaseline(string path, List<string> versions)
    {
        var buffer = new byte[4 << 20];
        Spent Read(long mmap)
        {
            using var db = new SqliteConnection($"Data Source={path};Pooling=False;Mode=ReadOnly");
            db.Open();
            db.Execute($"PRAGMA mmap_size = {mmap}");
            var meter = new Meter();
            foreach (var version in versions)
            {
                using var command = db.CreateCommand();
                command.CommandText = "SELECT rowid, data FROM version_columns WHERE version_id = $v AND part < $blocks ORDER BY part";
                command.Parameters.AddWithValue("$v", version);
                command.Parameters.AddWithValue("$blocks", VersionColumns.BlockPart(0));
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    using var blob = reader.GetStream(1);
                    blob.ReadExactly(buffer.AsSpan(0, (int)blob.Length));
                }
            }
            return meter.Stop();
        }
        Spent? mapped = null, plain = null;
        for (var i = 0; i < 3; i++)
        {
            var m = Read(1L << 40);
            var p = Read(0);
            if (mapped is null || m.Cpu < mapped.Value.Cpu) mapped = m;
            if (plain is null || p.Cpu < plain.Value.Cpu) plain = p;
        }
        Figure("  read, file memory-mapped (what loads do; CPU, best of 3)", Ms(mapped!.Value.Cpu), "one pread per page " + Ms(plain!.Value.Cpu),
            Times(mapped.Value.Cpu / plain.Value.Cpu));
        Figure("    its wall-clock and faults, mapped / one pread per page", $"{Ms(mapped.Value.Wall)}, {mapped.Value.Faults:N0} / {Ms(plain.Value.Wall)}, {plain.Value.Faults:N0}");
    }

    /// <summary>A cold overlap: both versions loaded into an escrow with empty caches (a new one over the directory), the overlap computed.</summary>
    private static async Task<Cold> ColdAsync(Escrow escrow, Setup setup)
    {
        var whole = new Meter();
        // The data keys alone, as each load unwraps them again (the keyring keeps no opened key between calls).
        var meter = new Meter();
        var keyring = escrow.Get<IKeyring>();
        (await keyring.ForOrganizationAsync(setup.MyOrganization, CancellationToken.None)).Dispose();
        (await keyring.ForOrganizationAsync(setup.TheirOrganization, CancellationToken.None)).Dispose();
        var keys = meter.Stop();
        meter = new Meter();
        var (mine, theirs) = await LoadAsync(escrow, setup);
        var load = meter.Stop();
        meter = new Meter();
        var result = OverlapEngine.Compute(mine, theirs);
        var match = meter.Stop();
        var spent = whole.Stop();
        Check(result, setup);
        // The figure itself leaves the keys out (a load unwraps them again, inside "load").
        return new Cold(spent.Wall - keys.Wall, spent.Cpu - keys.Cpu, spent.Faults - keys.Faults, keys, load, match);
    }

    private static long ColumnBytes(PopulationData data) =>
        IdentifierTypes.All.Sum(t => (long)data.Column(t).Tokens.Length * (Token.Size + sizeof(int)));

    /// <summary>CPU time of the calling thread so far (Linux; NaN elsewhere): what a step on it cost, whatever the machine's load.</summary>
    private static double ThreadCpuMs()
    {
        try { return long.Parse(File.ReadAllText("/proc/thread-self/schedstat").Split(' ')[0], CultureInfo.InvariantCulture) / 1e6; }
        catch (IOException) { return double.NaN; }
    }

    /// <summary>User + system CPU time of the whole process so far.</summary>
    private static double CpuMs() => Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;

    /// <summary>The process's resident memory (Linux: VmRSS and its private part, RssAnon) and the collector's committed bytes.</summary>
    private static string Resident()
    {
        string Field(string name)
        {
            try
            {
                var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal));
                return line is null ? "?" : (long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) >> 10).ToString(CultureInfo.InvariantCulture);
            }
            catch (IOException) { return "?"; }
        }
        return $"VmRSS {Field("VmRSS")} MiB, RssAnon {Field("RssAnon")} MiB, GC committed {GC.GetGCMemoryInfo(GCKind.Any).TotalCommittedBytes >> 20} MiB";
    }

    /// <summary>
    /// Minor page faults of the whole process so far (Linux; -1 elsewhere): a first touch of a fresh page is one, and on a
    /// virtual machine each costs microseconds. Unlike time, the count does not depend on the machine's load.
    /// </summary>
    private static long MinorFaults()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            // Fields after the command name (which is in parentheses and may hold spaces): state is field 3, minflt field 10.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[7], CultureInfo.InvariantCulture);
        }
        catch (IOException) { return -1; }
        catch (UnauthorizedAccessException) { return -1; }
    }

    private static async Task<(PopulationData Mine, PopulationData Theirs)> LoadAsync(Escrow escrow, Setup setup)
    {
        var cache = escrow.Get<PopulationDataCache>();
        var mine = cache.GetAsync(setup.MyOrganization, setup.MyPopulation, setup.MyVersion, CancellationToken.None);
        var theirs = cache.GetAsync(setup.TheirOrganization, setup.TheirPopulation, setup.TheirVersion, CancellationToken.None);
        return (await mine, await theirs);
    }

    private static void Check(OverlapResult result, Setup setup)
    {
        var expected = (int)Math.Ceiling(setup.Records * Shared);
        if (result.Count != expected || result.PartnerCount != expected)
            throw new InvalidOperationException($"The overlap has {result.Count} records, expected {expected}.");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    /// <summary>The tokens the overlap joins (domains and names of both sides), shuffled into upload order, sorted and merged.</summary>
    private static (double SortMerge, double MergeOnly) SortMergeBaseline(PopulationData mine, PopulationData theirs)
    {
        var random = new Random(7);
        Token[] Shuffled(PopulationData data, IdentifierType type)
        {
            var tokens = data.Column(type).Tokens.ToArray();
            random.Shuffle(tokens);
            return tokens;
        }
        var inputs = new[] { IdentifierType.Domain, IdentifierType.Name }.Select(t => (Mine: Shuffled(mine, t), Theirs: Shuffled(theirs, t))).ToList();
        var sw = Stopwatch.StartNew();
        var shared = 0;
        foreach (var (a, b) in inputs)
        {
            Array.Sort(a);
            Array.Sort(b);
            shared += Merge(a, b);
        }
        var sortMerge = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        foreach (var (a, b) in inputs) shared += Merge(a, b);
        var mergeOnly = sw.Elapsed.TotalMilliseconds;
        GC.KeepAlive(shared);
        return (sortMerge, mergeOnly);
    }

    private static int Merge(Token[] a, Token[] b)
    {
        int i = 0, j = 0, shared = 0;
        while (i < a.Length && j < b.Length)
        {
            var c = a[i].CompareTo(b[j]);
            if (c < 0) i++;
            else if (c > 0) j++;
            else { shared++; i++; j++; }
        }
        return shared;
    }

    /// <summary>The same tokens in two SQLite tables, the partner's indexed; the time of the join alone.</summary>
    private static double SqliteJoinBaseline(string work, PopulationData mine, PopulationData theirs)
    {
        var path = Path.Combine(work, "join.db");
        if (File.Exists(path)) File.Delete(path);
        using var db = new SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        db.Execute("PRAGMA journal_mode = WAL; CREATE TABLE a (t BLOB NOT NULL); CREATE TABLE b (t BLOB NOT NULL);");
        foreach (var (table, data) in new[] { ("a", mine), ("b", theirs) })
        {
            using var tx = db.BeginTransaction();
            using var insert = db.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = $"INSERT INTO {table} (t) VALUES ($t)";
            var p = insert.Parameters.Add("$t", SqliteType.Blob);
            var bytes = new byte[Token.Size + 1];
            foreach (var type in new[] { IdentifierType.Domain, IdentifierType.Name })
                foreach (var token in data.Column(type).Tokens)
                {
                    bytes[0] = (byte)type;
                    token.Write(bytes.AsSpan(1));
                    p.Value = bytes;
                    insert.ExecuteNonQuery();
                }
            tx.Commit();
        }
        db.Execute("CREATE INDEX ix_b ON b (t)");
        var sw = Stopwatch.StartNew();
        var joined = db.ExecuteScalar<long>("SELECT COUNT(*) FROM a JOIN b ON b.t = a.t");
        var elapsed = sw.Elapsed.TotalMilliseconds;
        GC.KeepAlive(joined);
        db.Close();
        File.Delete(path);
        return elapsed;
    }

    private sealed record Written(string Organization, string Population, string Version);

    /// <summary>
    /// One organization with one population and one committed snapshot, written as an upload writes it: records in
    /// upload order, encoded and sealed in segments. <paramref name="sharedKey"/> maps a record to the key of the other
    /// side's record it shares its tokens with (-1: tokens of its own).
    /// </summary>
    private static async Task<Written> WriteSnapshotAsync(Escrow escrow, string work, string side, int n, Func<int, int> sharedKey)
    {
        var organizationId = "org_bench_" + side;
        var populationId = "pop_bench_" + side;
        var versionId = "ver_bench_" + side;
        escrow.Get<IKeyring>().CreateOrganizationKey(organizationId);
        var now = DateTimeOffset.UtcNow;
        await escrow.ExecuteAsync("INSERT INTO organizations (id, slug, name, wrapped_key, created_at) VALUES (@organizationId, @organizationId, @organizationId, @empty, 0)",
            new { organizationId, empty = Array.Empty<byte>() });
        await escrow.ExecuteAsync("INSERT INTO populations (id, organization_id, name, type, created_at) VALUES (@populationId, @organizationId, 'Customers', 'customers', 0)",
            new { populationId, organizationId });
        var populations = escrow.Get<IPopulationRepository>();
        await populations.BeginVersionAsync(versionId, populationId, VersionKind.Snapshot, now, CancellationToken.None);
        using var cipher = await escrow.Get<IKeyring>().ForOrganizationAsync(organizationId, CancellationToken.None);
        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        var columns = new VersionColumnsBuilder();
        var segments = Stopwatch.StartNew();
        const int perSegment = 8192;
        var count = 0;
        long seq = 0;
        for (var i = 0; i < n; i++)
        {
            var key = sharedKey(i);
            var (tokenSide, tokenKey) = key >= 0 ? ("a", key) : (side, i);
            var record = new EscrowRecord($"acct-{(ulong)i * 0x9E3779B97F4A7C15UL:x16}",
                [new RecordToken(IdentifierType.Domain, TokenOf(tokenSide, IdentifierType.Domain, tokenKey)),
                 new RecordToken(IdentifierType.Name, TokenOf(tokenSide, IdentifierType.Name, tokenKey))],
                [new RecordAttribute("owner", $"owner {i % 97}")]);
            RecordCodec.Write(buffer, record);
            columns.Add(record);
            if (++count == perSegment || i == n - 1)
            {
                await populations.AppendSegmentAsync(new Segment(versionId, seq, count, cipher.SealSegment(versionId, seq, buffer.WrittenSpan)), now,
                    CancellationToken.None);
                seq++;
                count = 0;
                buffer.ResetWrittenCount();
            }
        }
        _segmentsMs.Add(segments.Elapsed.TotalMilliseconds);
        // As an upload stores a snapshot's columns: sorted on a worker core, sealed and stored with the pending version a
        // few MiB per short transaction, before the commit, which then writes only its rows.
        var sw = Stopwatch.StartNew();
        var parts = await Task.Run(() => columns.Build());
        _sortMs.Add(sw.Elapsed.TotalMilliseconds);
        var store = escrow.Get<IVersionColumnStore>();
        var batch = new List<VersionPart>();
        long batchBytes = 0;
        foreach (var part in VersionStore.Seal(cipher, versionId, parts))
        {
            batch.Add(part);
            if ((batchBytes += part.Data.Ciphertext.Length) >= 4 << 20) await StoreAsync();
        }
        await StoreAsync();
        await using (var uow = await escrow.Get<ITransactions>().BeginAsync(CancellationToken.None))
        {
            if (await uow.Populations.CommitAsync(versionId, n, now, null, null, CancellationToken.None) is null)
                throw new InvalidOperationException("The snapshot did not commit.");
            await uow.CommitAsync(CancellationToken.None);
        }
        _columnsMs.Add(sw.Elapsed.TotalMilliseconds);
        return new Written(organizationId, populationId, versionId);

        async Task StoreAsync()
        {
            if (batch.Count == 0) return;
            if (!await store.AppendPendingAsync(versionId, batch, now, CancellationToken.None)) throw new InvalidOperationException("The snapshot is no longer pending.");
            batch.Clear();
            batchBytes = 0;
        }
    }

    /// <summary>A token as an HMAC output looks: 128 uniformly distributed bits, here from SplitMix64 over (side, type, key).</summary>
    private static Token TokenOf(string side, IdentifierType type, int key)
    {
        var x = ((ulong)side[0] << 56) ^ ((ulong)type << 48) ^ (ulong)key;
        return new Token(SplitMix(ref x), SplitMix(ref x));
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
