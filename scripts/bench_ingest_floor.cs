#:package Microsoft.Data.Sqlite
#:package System.IO.Hashing
// Baselines for scripts/bench-ingest, measured in the same run as the upload figure (issue "Speed and memory", item 4):
//  - the crypto floor: what an upload must do per record at least, whatever else it does (docs/performance.md, "Uploads"):
//    2 HMAC-SHA256 (re-keying a domain and a name hash, docs/architecture.md#tokens), the record id's duplicate key
//    (XxHash128 of its UTF-8, as UploadPopulation keys it; not a cryptographic hash, counted because every record needs
//    it), and sealing what is stored of it with AES-256-GCM (its segment encoding and its share of the stored columns,
//    SealedBytesPerRecord, in parts of about 1 MiB); on one core and on every core, and per CPU-second (independent of
//    how much of a shared machine the run gets). HMAC through the platform's reused HMACSHA256 instance. Until
//    2026-12-01 it counted a SHA-256 of the record id instead of the XxHash128 and no sealing;
//  - SQLite row insert with an index: one row per record (record id, 16-byte token) into a table with an index on
//    the token, in transactions of 8,192 rows, synchronous=FULL under WAL as the service runs.
// Usage: dotnet run --file scripts/bench_ingest_floor.cs -- RECORDS DIRECTORY
using System.Diagnostics;
using System.IO.Hashing;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

var records = int.Parse(args[0]);
var directory = args[1];
var key = RandomNumberGenerator.GetBytes(32);
var sealKey = RandomNumberGenerator.GetBytes(32);
// bench-ingest's records: about 100 bytes in a segment (id, two tokens, two attributes) and about 80 in the columns.
const int SealedBytesPerRecord = 180;
const int RecordsPerPart = (1 << 20) / SealedBytesPerRecord;

double cryptoCpu = 0;

double Crypto(int threads)
{
    var watch = Stopwatch.StartNew();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
    {
        using var hmac = new HMACSHA256(key);
        using var aes = new AesGcm(sealKey, 16);
        Span<byte> message = stackalloc byte[44];
        Span<byte> mac = stackalloc byte[32];
        Span<byte> id = stackalloc byte[16];
        Span<byte> nonce = stackalloc byte[12];
        Span<byte> tag = stackalloc byte[16];
        var part = new byte[RecordsPerPart * SealedBytesPerRecord];
        var sealedPart = new byte[part.Length];
        var from = (long)records * t / threads;
        var to = (long)records * (t + 1) / threads;
        for (var i = from; i < to; i++)
        {
            BitConverter.TryWriteBytes(message[12..], i);
            message[11] = 1;
            hmac.TryComputeHash(message, mac, out _);
            message[11] = 2;
            hmac.TryComputeHash(message, mac, out _);
            "R-"u8.CopyTo(id);
            i.TryFormat(id[2..], out var written, "D7");
            XxHash128.HashToUInt128(id[..(2 + written)], 12);
            if ((i - from) % RecordsPerPart == RecordsPerPart - 1 || i == to - 1)
            {
                var n = (int)((i - from) % RecordsPerPart + 1);
                BitConverter.TryWriteBytes(nonce, i);
                aes.Encrypt(nonce, part.AsSpan(0, n * SealedBytesPerRecord), sealedPart.AsSpan(0, n * SealedBytesPerRecord), tag);
            }
        }
    });
    cryptoCpu = records / (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
    return records / watch.Elapsed.TotalSeconds;
}

double Insert()
{
    var path = Path.Combine(directory, "floor.db");
    using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
    connection.Open();
    using (var setup = connection.CreateCommand())
    {
        setup.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (record_id TEXT NOT NULL, token BLOB NOT NULL); CREATE INDEX t_token ON t (token);";
        setup.ExecuteNonQuery();
    }
    var token = new byte[16];
    var watch = Stopwatch.StartNew();
    for (var start = 0; start < records; start += 8192)
    {
        using var tx = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO t (record_id, token) VALUES ($id, $token)";
        var id = insert.Parameters.Add("$id", SqliteType.Text);
        var tok = insert.Parameters.Add("$token", SqliteType.Blob);
        for (var i = start; i < Math.Min(records, start + 8192); i++)
        {
            RandomNumberGenerator.Fill(token);
            id.Value = $"R-{i:D7}";
            tok.Value = token;
            insert.ExecuteNonQuery();
        }
        tx.Commit();
    }
    return records / watch.Elapsed.TotalSeconds;
}

Crypto(1); // warm-up
Console.WriteLine($"crypto1 {Crypto(1):F0}");
Console.WriteLine($"cryptoPerCpuSecond {cryptoCpu:F0}");
Console.WriteLine($"cryptoAll {Crypto(Environment.ProcessorCount):F0}");
Console.WriteLine($"insert {Insert():F0}");
