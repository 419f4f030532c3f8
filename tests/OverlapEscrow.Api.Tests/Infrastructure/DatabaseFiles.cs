using System.Text;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>The SQLite database file and its log read as bytes: what a thief of the disk or of a file copy would hold.</summary>
public static class DatabaseFiles
{
    /// <summary>
    /// Asserts that none of <paramref name="plaintexts"/> appears in the database file or its log (which must exist:
    /// the check would pass vacuously otherwise). Use strings that appear nowhere else.
    /// </summary>
    public static void AssertNoneHolds(this EscrowApp app, params string[] plaintexts)
    {
        var files = Directory.EnumerateFiles(app.DataDirectory, "escrow.db*").ToList();
        Assert.Contains(files, f => f.EndsWith("-wal", StringComparison.Ordinal));
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            foreach (var plaintext in plaintexts)
                Assert.False(copy.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(plaintext)) >= 0, $"{Path.GetFileName(file)} holds \"{plaintext}\" in plaintext");
        }
    }
}
