#:package CsvHelper
// The baseline the issue "Speed and memory" (item 6) sets the CLI's hash against, measured in the same run by
// scripts/bench-hash: read the CRM export as CSV with the CLI's own library and options (CsvHelper, RFC 4180, the
// same record size limit), read four mapped fields of each row as strings (website, email, name, country) and compute a
// SHA-256 of each one's UTF-8 — no normalization, no output. Row by row on one thread, and on every core through the library's
// ParallelEnumerate as the CLI does (CrmExportReader.SelectRows). Prints "floor1 ROWS/S" and "floorAll ROWS/S".
// Usage: dotnet run --file scripts/bench_hash_floor.cs -- EXPORT.csv
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using CsvHelper;

var path = args[0];
int[] fields = [];

(long Rows, double Seconds) Run(int threads)
{
    using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
    using var csv = CsvReader.Create(stream, new CsvReaderOptions
    {
        HasHeader = false,
        Separator = ',',
        Mode = CsvMode.Rfc4180,
        AllowLineBreaksInQuotes = true,
        SkipEmptyLines = true,
        MaxRecordSize = 1 << 20,
        MalformedData = CsvMalformedDataHandling.Throw,
        FieldCountMismatch = CsvFieldCountHandling.Allow,
        IncludeValuesInExceptions = false,
        Encoding = new UTF8Encoding(false),
    }, false);
    csv.Read();
    var header = Enumerable.Range(0, csv.FieldCount).Select(i => csv.GetString(i)).ToList();
    fields = new[] { "Website", "Primary Contact Email", "Account Name", "Billing Country" }.Select(name => header.IndexOf(name)).ToArray();
    if (fields.Any(f => f < 0)) throw new InvalidOperationException("the export lacks a mapped column");
    var watch = Stopwatch.StartNew();
    long rows = 0, check = 0;
    if (threads == 1)
    {
        while (csv.Read()) { check += Hash(csv); rows++; }
    }
    else
    {
        foreach (var value in csv.ParallelEnumerate(Hash, threads)) { check += value; rows++; }
    }
    GC.KeepAlive(check);
    return (rows, watch.Elapsed.TotalSeconds);
}

long Hash(CsvReader csv)
{
    // Each field read as a program reading a CSV gets it (a string: unquoted, unescaped, decoded from UTF-8), then its
    // UTF-8 hashed, which is what the baseline did ("CSV read + 4 SHA-256 per row").
    Span<byte> digest = stackalloc byte[32];
    Span<byte> utf8 = stackalloc byte[1024];
    long sum = 0;
    foreach (var field in fields)
    {
        var value = csv.GetString(field);
        var bytes = Encoding.UTF8.GetByteCount(value) <= utf8.Length ? utf8[..Encoding.UTF8.GetBytes(value, utf8)] : Encoding.UTF8.GetBytes(value);
        SHA256.HashData(bytes, digest);
        sum += digest[0];
    }
    return sum;
}

Run(1); // warm-up: the JIT and the file in the page cache
var (rows1, seconds1) = Run(1);
var (rowsAll, secondsAll) = Run(-1);
Console.WriteLine($"floor1 {rows1 / seconds1:F0}");
Console.WriteLine($"floorAll {rowsAll / secondsAll:F0}");
