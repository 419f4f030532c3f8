using System.Text;
using OverlapEscrow.Application.Keys;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Publishing a new key file (SecureFiles.WriteNew): instances sharing one secrets directory race to make the same
/// version and rescan it every 30 s, so a file must appear whole, once, and never be replaced.
/// </summary>
public sealed class SecureFilesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("oe-secure-files-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task OfWritersRacingForOneNameExactlyOneWinsAndAReaderOnlyEverSeesAWholeFile()
    {
        const int Rounds = 40, Writers = 6;
        var torn = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var path = Path.Combine(_directory, $"master.v{round + 2}.key");
            // 64 KiB per writer, each writer's bytes all one letter: a torn or mixed file cannot pass for a whole one.
            var contents = Enumerable.Range(0, Writers).Select(w => Encoding.ASCII.GetBytes(new string((char)('a' + w), 64 * 1024))).ToArray();
            using var stop = new CancellationTokenSource();
            var reader = Task.Run(() =>
            {
                var seen = 0;
                while (!stop.IsCancellationRequested)
                {
                    byte[] read;
                    try { read = File.ReadAllBytes(path); }
                    catch (FileNotFoundException) { continue; }
                    catch (IOException) { continue; }
                    if (!contents.Any(c => c.AsSpan().SequenceEqual(read))) seen++;
                }
                return seen;
            });
            using var go = new Barrier(Writers);
            var won = await Task.WhenAll(contents.Select(content => Task.Run(() =>
            {
                go.SignalAndWait();
                return SecureFiles.WriteNew(path, content);
            })));
            await stop.CancelAsync();
            torn += await reader;

            Assert.Equal(1, won.Count(w => w));
            Assert.Equal(contents[Array.IndexOf(won, true)], File.ReadAllBytes(path));
        }
        Assert.Equal(0, torn);
        Assert.Empty(Directory.GetFiles(_directory, ".*")); // no temporary file left behind
        if (OperatingSystem.IsWindows()) return;
        foreach (var file in Directory.GetFiles(_directory))
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    [Fact]
    public void AFileThatExistsIsNeitherReplacedNorTouched()
    {
        var path = Path.Combine(_directory, "token.v2.key");
        File.WriteAllText(path, "theirs");
        var written = File.GetLastWriteTimeUtc(path);

        Assert.False(SecureFiles.WriteNew(path, "mine"u8));

        Assert.Equal("theirs", File.ReadAllText(path));
        Assert.Equal(written, File.GetLastWriteTimeUtc(path));
        Assert.Single(Directory.GetFiles(_directory));
    }
}
