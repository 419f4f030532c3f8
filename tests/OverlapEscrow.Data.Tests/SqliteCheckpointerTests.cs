using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Data.Sqlite;
using Xunit;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// The write-ahead log is copied into the database file by the factory's checkpointer, not by the connection whose commit
/// makes it long (SqliteCheckpointer); a commit is durable in the log before any copy; the log's length stays bounded when
/// writes outrun the copies. Real database files; no timing assertions beyond "within seconds".
/// </summary>
public sealed class SqliteCheckpointerTests : IDisposable
{
    private const int MiB = 1 << 20;
    private readonly string _directory = Directory.CreateTempSubdirectory("oe-checkpoint-").FullName;
    private string DatabasePath => Path.Combine(_directory, "escrow.db");
    private long FileLength => new FileInfo(DatabasePath).Length;
    private long LogLength => File.Exists(DatabasePath + "-wal") ? new FileInfo(DatabasePath + "-wal").Length : 0;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static async Task CreateAsync(SqliteConnectionFactory factory)
    {
        await using var connection = await factory.OpenAsync();
        await connection.ExecuteAsync("PRAGMA journal_mode = WAL; CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL);");
    }

    /// <summary>One transaction of <paramref name="count"/> rows of 1 MiB of random bytes (random: nothing compresses or repeats).</summary>
    private static async Task WriteAsync(SqliteConnectionFactory factory, int count)
    {
        await using var connection = await factory.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        for (var i = 0; i < count; i++)
            await connection.ExecuteAsync("INSERT INTO blobs (data) VALUES (randomblob(@bytes))", new { bytes = MiB }, tx);
        await tx.CommitAsync();
    }

    [Fact]
    public async Task ACommitFarPastSqlitesDefaultCheckpointIsLeftInTheLogForTheCheckpointerAndIsDurableThere()
    {
        using var factory = new SqliteConnectionFactory(DatabasePath, Timeout.InfiniteTimeSpan);
        await CreateAsync(factory);
        var before = FileLength;

        await WriteAsync(factory, 8); // 2,000+ pages: SQLite's default (1,000) would have made this commit copy them itself

        Assert.True(FileLength < before + MiB, $"the committing connection copied the log into the file ({before} -> {FileLength} bytes)");
        Assert.True(LogLength >= 8 * MiB, $"the log holds {LogLength} bytes");

        // What a crash now would leave (the file and its log, nothing copied): opening it replays the log.
        var crashed = Path.Combine(_directory, "crashed.db");
        File.Copy(DatabasePath, crashed);
        File.Copy(DatabasePath + "-wal", crashed + "-wal");
        await using (var copy = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = crashed, Pooling = false }.ToString()))
        {
            await copy.OpenAsync();
            Assert.Equal(8L * MiB, await copy.ExecuteScalarAsync<long>("SELECT sum(length(data)) FROM blobs"));
        }

        Assert.True(factory.Checkpointer.CheckpointNow());
        Assert.True(FileLength >= before + 8 * MiB, $"the checkpointer left the file at {FileLength} bytes");
        // Everything copied, the next writer starts the log from its beginning again instead of growing it.
        var log = LogLength;
        await WriteAsync(factory, 4);
        Assert.Equal(log, LogLength);
        await using var check = await factory.OpenAsync();
        Assert.Equal(12L * MiB, await check.ExecuteScalarAsync<long>("SELECT sum(length(data)) FROM blobs"));
    }

    [Fact]
    public async Task TheCheckpointersTimerCopiesACommitIntoTheFileWithinSecondsOnItsOwn()
    {
        using var factory = new SqliteConnectionFactory(DatabasePath);
        await CreateAsync(factory);
        var before = FileLength;

        await WriteAsync(factory, 8);

        for (var i = 0; i < 200 && FileLength < before + 8 * MiB; i++) await Task.Delay(50);
        Assert.True(FileLength >= before + 8 * MiB, $"after 10 s the file is {FileLength} bytes");
        Assert.True(factory.Checkpointer.Copies >= 1);
    }

    [Fact]
    public async Task WritesThatOutrunTheCheckpointerCheckpointThemselvesAtTheBackstopSoTheLogStaysBounded()
    {
        using var factory = new SqliteConnectionFactory(DatabasePath, Timeout.InfiniteTimeSpan); // the timer never runs
        await CreateAsync(factory);

        long longest = 0;
        for (var i = 0; i < 20; i++) // 80 MiB in transactions of 4 MiB
        {
            await WriteAsync(factory, 4);
            longest = Math.Max(longest, LogLength);
        }

        const long backstop = SqliteCheckpointer.BackstopPages * (4096L + 24); // a frame: its page and a 24-byte header
        Assert.True(longest <= backstop + 8 * MiB, $"the log reached {longest} bytes (backstop {backstop})");
        Assert.True(FileLength >= SqliteCheckpointer.BackstopPages * 4096L, $"the file is {FileLength} bytes: nothing was checkpointed at the backstop");
        Assert.Equal(0, factory.Checkpointer.Copies);
    }

    [Fact]
    public async Task ADisposedFactorysCheckpointerCopiesNothingMore()
    {
        var factory = new SqliteConnectionFactory(DatabasePath, Timeout.InfiniteTimeSpan);
        await CreateAsync(factory);
        await WriteAsync(factory, 2);
        var before = FileLength;

        factory.Dispose();

        Assert.False(factory.Checkpointer.CheckpointNow());
        Assert.Equal(before, FileLength);
    }
}
