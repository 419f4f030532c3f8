using System.Text;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Uploads;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// A batch's row array goes back to the upload's pool when the batch is released: one that held a row error comes back
/// with no error left in it (the pool must not keep them alive for the rest of the upload); a clean one is not cleared
/// (nothing in it points anywhere, and clearing a million rows' entries was about 47 MB of memset per upload).
/// </summary>
public sealed class UploadRowArraysTests
{
    private static readonly IOptions<UploadOptions> Options = Microsoft.Extensions.Options.Options.Create(new UploadOptions());

    private static string Line(int i, string domain) => $$$"""{"recordId":"R-{{{i}}}","identifiers":{"domain":"{{{domain}}}"}}""";

    private static string Hex(int seed) => Convert.ToHexString(Enumerable.Range(0, 32).Select(i => (byte)(seed * 31 + i * 7)).ToArray());

    private static UploadPopulation.PreparedBatch Batch(UploadPopulation.RowArrays pool, UploadBuffers buffers, params string[] lines)
    {
        var body = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
        var bytes = buffers.Rent(body.Length);
        body.CopyTo(bytes, 0);
        using var keyers = new OverlapEscrow.Domain.Tokens.TokenKeyers([Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()]);
        var builder = new UploadPopulation.BatchBuilder(keyers, 5, 0, pool);
        new NdjsonUploadParser(new RowRules(Options), Options).Parse(new UploadChunk(bytes, body.Length, 1, buffers), builder);
        return builder.Finish(buffers);
    }

    [Fact]
    public void ABatchWithARowErrorComesBackToThePoolWithNoErrorLeftAndACleanOneAsItWas()
    {
        var pool = new UploadPopulation.RowArrays();
        var buffers = new UploadBuffers(64 * 1024);

        var withError = Batch(pool, buffers, Line(1, Hex(1)), Line(2, "zz"), Line(3, Hex(3)));
        Assert.NotNull(withError.Row(1).Error);
        withError.Release();
        var returned = pool.Rent();
        Assert.All(returned.Take(3), row => Assert.Null(row.Error));
        pool.Return(returned, 0);

        var clean = Batch(pool, buffers, Line(4, Hex(4)), Line(5, Hex(5)));
        Assert.Null(clean.Row(0).Error);
        clean.Release();
        var again = pool.Rent();
        Assert.Same(returned, again); // the one array of the pool, taken and given back by each batch
        Assert.Equal([1L, 2L], again.Take(2).Select(row => row.Row));
    }
}
