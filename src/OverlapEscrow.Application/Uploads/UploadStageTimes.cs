using System.Diagnostics;

namespace OverlapEscrow.Application.Uploads;

/// <summary>
/// Where one upload's wall-clock time went, stage by stage (<see cref="UploadOptions.LogStageTimes"/>): which stage of the
/// pipeline waits for which, so a serial stage shows up as the one that never waits. Each figure is the time a stage's
/// thread spent in that step, summed over the upload (the parse over every thread that ran it). Off by default: taking the
/// clock costs a few tens of nanoseconds a call, a few calls a row.
/// </summary>
public sealed class UploadStageTimes
{
    private long _receive, _split, _handOn, _parse, _waitBatch, _ordered, _segments, _columns, _finish, _store;
    private long _reads, _readBytes, _chunks;
    private readonly long _start = Stopwatch.GetTimestamp();

    public static long Now() => Stopwatch.GetTimestamp();

    /// <summary>The reading thread waited for the body's bytes.</summary>
    public void Receive(long since) => Interlocked.Add(ref _receive, Stopwatch.GetTimestamp() - since);
    /// <summary>One read of the body gave <paramref name="bytes"/> bytes.</summary>
    public void Read(int bytes) { _reads++; _readBytes += bytes; }
    /// <summary>The reading thread read and cut the body into chunks (the reads included; the split is this less them).</summary>
    public void Split(long since) => Interlocked.Add(ref _split, Stopwatch.GetTimestamp() - since);
    /// <summary>The reading thread waited for room in the channel (the stages after it were behind).</summary>
    public void HandOn(long since) { _chunks++; Interlocked.Add(ref _handOn, Stopwatch.GetTimestamp() - since); }
    /// <summary>A worker parsed, re-keyed and encoded a chunk.</summary>
    public void Parse(long since) => Interlocked.Add(ref _parse, Stopwatch.GetTimestamp() - since);
    /// <summary>The ordered stage waited for the next batch (the stages before it were behind).</summary>
    public void WaitBatch(long since) => Interlocked.Add(ref _waitBatch, Stopwatch.GetTimestamp() - since);
    /// <summary>The ordered stage handled a batch (its segments and columns included; the checks are this less them).</summary>
    public void Ordered(long since) => Interlocked.Add(ref _ordered, Stopwatch.GetTimestamp() - since);
    /// <summary>The ordered stage added records to segments (and sealed and stored full ones).</summary>
    public void Segments(long since) => Interlocked.Add(ref _segments, Stopwatch.GetTimestamp() - since);
    /// <summary>The ordered stage added records to the stored columns (and sealed and stored full blocks).</summary>
    public void Columns(long since) => Interlocked.Add(ref _columns, Stopwatch.GetTimestamp() - since);
    /// <summary>The store stage stored a segment or a few column parts (SQLite's writes).</summary>
    public void Store(long since) => Interlocked.Add(ref _store, Stopwatch.GetTimestamp() - since);
    /// <summary>The columns' finish after the last record (sort, seal, store).</summary>
    public void Finish(long since) => Interlocked.Add(ref _finish, Stopwatch.GetTimestamp() - since);

    private static long Ms(long ticks) => ticks * 1000 / Stopwatch.Frequency;

    /// <summary>Milliseconds per stage, in pipeline order, for one log line.
    /// Stages a format does not time (CSV's split and parse run inside its reader) read "-", not a difference of zeros.</summary>
    public string Describe() =>
        $"total {Ms(Stopwatch.GetTimestamp() - _start)} ms; reading thread: {_reads} reads of {(_reads == 0 ? 0 : _readBytes / _reads)} bytes on average into {(_chunks == 0 ? "-" : _chunks)} chunks, receive {Ms(_receive)}, split {(_split == 0 ? "-" : Ms(_split - _receive))}, waiting for room {Ms(_handOn)}; "
        + $"workers: parse {(_parse == 0 ? "-" : Ms(_parse))}; ordered stage: waiting for a batch {Ms(_waitBatch)}, checks {Ms(_ordered - _segments - _columns)}, segments {Ms(_segments)}, "
        + $"columns (waiting for the store stage included) {Ms(_columns)}; finish {Ms(_finish)}; store stage: storing {Ms(_store)}";
}

/// <summary>A read stream that adds the time its reads wait to <see cref="UploadStageTimes.Receive"/>.</summary>
internal sealed class TimedReadStream(Stream inner, UploadStageTimes times) : ReadObserverStream(inner)
{
    protected override void Observe(ReadOnlySpan<byte> read) => times.Read(read.Length);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        var since = UploadStageTimes.Now();
        try { return await base.ReadAsync(buffer, ct); }
        finally { times.Receive(since); }
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var since = UploadStageTimes.Now();
        try { return base.Read(buffer, offset, count); }
        finally { times.Receive(since); }
    }
}
