using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Client.Tests;

/// <summary>
/// `hash --output` writes through UncachedFileStream: direct writes of whole aligned blocks from two buffers, a partial
/// block written through the cache on a flush and again, whole, later. The file must hold exactly the bytes written, in
/// order, whatever the sizes of the writes, where the flushes fall and whether the system took direct I/O; these tests
/// write at and around every boundary the stream has and compare the file with what went in.
/// </summary>
public sealed class UncachedFileStreamTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("oe-uncached-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private const int Buffer = UncachedFileStream.BufferBytes;

    public static TheoryData<int> Lengths => [0, 1, 4095, 4096, 4097, 65_537, Buffer - 1, Buffer, Buffer + 1, 2 * Buffer, 2 * Buffer + 4096 + 17, 5 * Buffer + 3];

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public async Task TheFileHoldsExactlyTheBytesWrittenInChunksOfAnySize(int length)
    {
        var expected = Bytes(length, length);
        var path = Path.Combine(_directory, "out.ndjson");
        var random = new Random(7);
        await using (var stream = UncachedFileStream.Create(path))
        {
            for (var at = 0; at < length;)
            {
                // Mostly line-sized pieces, now and then a piece larger than a buffer.
                var n = Math.Min(length - at, random.Next(10) == 0 ? random.Next(Buffer + 5000) : random.Next(1, 3000));
                if (random.Next(2) == 0) await stream.WriteAsync(expected.AsMemory(at, n));
                else stream.Write(expected.AsSpan(at, n));
                at += n;
            }
            Assert.Equal(length, stream.Position);
        }

        Assert.Equal(expected, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task AFlushMidBlockLeavesTheFileAsLongAsWhatWasWrittenAndLaterWritesCarryOnAfterIt()
    {
        var expected = Bytes(3 * Buffer + 9_999, 11);
        var path = Path.Combine(_directory, "out.ndjson");
        var random = new Random(3);
        await using (var stream = UncachedFileStream.Create(path))
        {
            var at = 0;
            // Flushes at unaligned points, at aligned ones, twice in a row, and right after a buffer is handed over.
            foreach (var stop in (int[])[1, 4096, 4096, 5000, Buffer, Buffer + 1, 2 * Buffer - 3, 3 * Buffer, expected.Length])
            {
                while (at < stop)
                {
                    var n = Math.Min(stop - at, random.Next(1, 70_000));
                    stream.Write(expected.AsSpan(at, n));
                    at += n;
                }
                if (random.Next(2) == 0) stream.Flush(); else await stream.FlushAsync();
                Assert.Equal(expected[..at], ReadShared(path));
            }
        }

        Assert.Equal(expected, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public void OnLinuxTheFileIsWrittenPastThePageCacheWhereTheFileSystemTakesIt()
    {
        // The temporary directory of the development machine and CI is ext4, which takes O_DIRECT; a silent fallback to
        // the page cache there would cost the hashing cores about a second of system CPU per million rows.
        if (!OperatingSystem.IsLinux() || !OnExt4(_directory)) return;
        var path = Path.Combine(_directory, "out.ndjson");
        using var stream = UncachedFileStream.Create(path);
        stream.Write(Bytes(Buffer + 1, 5));
        stream.Flush();
        Assert.True(stream.IsDirect);
    }

    [Fact]
    public void AnExistingFileIsNotOverwritten()
    {
        var path = Path.Combine(_directory, "out.ndjson");
        File.WriteAllText(path, "kept");

        Assert.Throws<IOException>(() => UncachedFileStream.Create(path));
        Assert.Equal("kept", File.ReadAllText(path));
    }

    private static byte[] ReadShared(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        return bytes;
    }

    private static bool OnExt4(string directory)
    {
        // The mount whose path is the longest prefix of the directory, from /proc/self/mounts.
        var best = ("", "");
        foreach (var line in File.ReadLines("/proc/self/mounts"))
        {
            var fields = line.Split(' ');
            if (fields.Length < 3) continue;
            var mount = fields[1];
            if ((directory == mount || directory.StartsWith(mount.TrimEnd('/') + "/", StringComparison.Ordinal)) && mount.Length >= best.Item1.Length)
                best = (mount, fields[2]);
        }
        return best.Item2 == "ext4";
    }
}
