using System.Buffers.Binary;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Data.Sqlite;

namespace OverlapEscrow.Data.Maintenance;

/// <summary>
/// Copies an SQLite escrow into an empty PostgreSQL database and digests both sides' tables (docs/operations.md,
/// "Moving to PostgreSQL"). Tables, columns, keys and foreign keys are read from the two catalogs, never listed here: a
/// table a later migration adds is copied without a change to this class, and one that exists on SQLite only (a
/// migration without its PostgreSQL counterpart) stops the copy instead of being left behind.
/// </summary>
internal sealed class DatabaseCopy : IDatabaseCopy
{
    public string DescribeTarget(string target)
    {
        var b = new NpgsqlConnectionStringBuilder(target);
        return $"database {b.Database} on {b.Host}:{b.Port}" + (string.IsNullOrEmpty(b.Username) ? "" : $" as {b.Username}");
    }

    private static async Task<NpgsqlConnection> OpenTargetAsync(string target, CancellationToken ct)
    {
        var b = new NpgsqlConnectionStringBuilder(target) { Pooling = false, CommandTimeout = 0 };
        if (string.IsNullOrEmpty(b.ApplicationName)) b.ApplicationName = "overlap-escrow-copy";
        var connection = new NpgsqlConnection(b.ConnectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    private static async Task<SqliteConnection> OpenSqliteAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No SQLite database at {path}.", path);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync(ct);
        return connection;
    }

    public async Task<IReadOnlyList<string>> TargetContentsAsync(string target, CancellationToken ct)
    {
        await using var connection = await OpenTargetAsync(target, ct);
        return await ContentsAsync(connection, null, ct);
    }

    private const string ContentsSql = """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        UNION ALL
        SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()
        ORDER BY 1
        """;

    private static async Task<IReadOnlyList<string>> ContentsAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, CancellationToken ct) =>
        (await connection.QueryAsync<string>(new CommandDefinition(ContentsSql, transaction: tx, cancellationToken: ct))).AsList();

    public async Task<IReadOnlyList<TableCopied>> CopyAsync(string sqlitePath, string target, Action<TableCopied>? progress, CancellationToken ct)
    {
        // The snapshot's schema is brought up to the migrations this build knows, as a start of the service would.
        await new Migrator(new SqliteConnectionFactory(sqlitePath), SqlDialect.Sqlite).MigrateAsync(ct);
        SqliteConnection.ClearAllPools();

        await using var source = await OpenSqliteAsync(sqlitePath, ct);
        await using var connection = await OpenTargetAsync(target, ct);
        await using var tx = await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, ct);
        var migrator = new Migrator(new NoConnections(), SqlDialect.Postgres);
        // The lock first, then the check: an instance that started on the target meanwhile has either migrated it (refused
        // here) or waits for this commit.
        await connection.ExecuteAsync(new CommandDefinition(SqlDialect.Postgres.TransactionLock(Migrator.MigrationLock)!, transaction: tx, cancellationToken: ct));
        var contents = await ContentsAsync(connection, tx, ct);
        if (contents.Count > 0) throw new InvalidOperationException(Application.Maintenance.PostgresMove.NotEmpty(contents));
        await migrator.ApplyAllAsync(connection, tx, ct);

        var sourceTables = await SqliteTablesAsync(source, ct);
        var targetTables = await TargetTablesAsync(connection, tx, ct);
        CheckSameTables(sourceTables, targetTables);
        var order = DependencyOrder(targetTables.Keys, await ForeignKeysAsync(connection, tx, ct));

        // Rows the migrations themselves wrote (their own record, a one-row progress table) give way to the source's.
        foreach (var table in order.AsEnumerable().Reverse())
            await connection.ExecuteAsync(new CommandDefinition($"DELETE FROM {Quote(table)}", transaction: tx, cancellationToken: ct));

        var copied = new List<TableCopied>();
        foreach (var table in order)
        {
            var columns = targetTables[table];
            var rows = await CopyTableAsync(source, connection, table, columns, ct);
            foreach (var column in columns.Where(c => c.Identity))
                await connection.ExecuteAsync(new CommandDefinition(
                    $"SELECT setval(pg_get_serial_sequence(@table, @column), COALESCE(MAX({Quote(column.Name)}), 1), MAX({Quote(column.Name)}) IS NOT NULL) FROM {Quote(table)}",
                    new { table = Quote(table), column = column.Name }, tx, cancellationToken: ct));
            var done = new TableCopied(table, rows);
            copied.Add(done);
            progress?.Invoke(done);
        }
        await tx.CommitAsync(ct);
        return copied;
    }

    /// <summary>Streams one table through COPY … FROM STDIN (BINARY): one row in memory at a time, whatever the table's size.</summary>
    private static async Task<long> CopyTableAsync(SqliteConnection source, NpgsqlConnection target, string table, IReadOnlyList<TargetColumn> columns, CancellationToken ct)
    {
        await using var read = source.CreateCommand();
        read.CommandText = $"SELECT {string.Join(", ", columns.Select(c => Quote(c.Name)))} FROM {Quote(table)}";
        await using var reader = await read.ExecuteReaderAsync(ct);
        await using var writer = await target.BeginBinaryImportAsync(
            $"COPY {Quote(table)} ({string.Join(", ", columns.Select(c => Quote(c.Name)))}) FROM STDIN (FORMAT BINARY)", ct);
        long row = 0;
        while (await reader.ReadAsync(ct))
        {
            row++;
            await writer.StartRowAsync(ct);
            for (var i = 0; i < columns.Count; i++)
            {
                var column = columns[i];
                if (await reader.IsDBNullAsync(i, ct)) { await writer.WriteNullAsync(ct); continue; }
                var value = reader.GetValue(i);
                switch (column.Type, value)
                {
                    case ("text", string s): await writer.WriteAsync(s, NpgsqlDbType.Text, ct); break;
                    case ("bigint", long l): await writer.WriteAsync(l, NpgsqlDbType.Bigint, ct); break;
                    case ("integer", long l) when l is >= int.MinValue and <= int.MaxValue: await writer.WriteAsync((int)l, NpgsqlDbType.Integer, ct); break;
                    case ("boolean", long l) when l is 0 or 1: await writer.WriteAsync(l == 1, NpgsqlDbType.Boolean, ct); break;
                    case ("bytea", byte[] b): await writer.WriteAsync(b, NpgsqlDbType.Bytea, ct); break;
                    default:
                        throw new InvalidDataException($"Table {table}, column {column.Name}, row {row}: an SQLite {Kind(value)} does not convert to PostgreSQL's {column.Type} " +
                            "(docs/architecture.md, \"Databases and dialects\", gives the type mapping); nothing was copied.");
                }
            }
        }
        await writer.CompleteAsync(ct);
        return row;
    }

    private static string Kind(object value) => value switch
    {
        long => "integer", string => "text", byte[] => "blob", double => "real", _ => value.GetType().Name,
    };

    public async Task<IReadOnlyList<TableDigest>> DigestSqliteAsync(string sqlitePath, CancellationToken ct)
    {
        await using var connection = await OpenSqliteAsync(sqlitePath, ct);
        await using var tx = connection.BeginTransaction(deferred: true);
        var digests = new List<TableDigest>();
        foreach (var (table, columns) in (await SqliteTablesAsync(connection, ct)).OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var key = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT name FROM pragma_table_info(@table) WHERE pk > 0 ORDER BY pk", new { table }, tx, cancellationToken: ct))).AsList();
            digests.Add(await DigestAsync(connection, tx, table, columns, key, new HashSet<string>(), ct));
        }
        return digests;
    }

    public async Task<IReadOnlyList<TableDigest>> DigestTargetAsync(string target, CancellationToken ct)
    {
        await using var connection = await OpenTargetAsync(target, ct);
        // One snapshot for every table.
        await using var tx = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        var keys = (await connection.QueryAsync<(string Table, string Column)>(new CommandDefinition("""
            SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc
            JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name
            WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()
            ORDER BY tc.table_name, kcu.ordinal_position
            """, transaction: tx, cancellationToken: ct))).ToLookup(k => k.Table, k => k.Column);
        var digests = new List<TableDigest>();
        foreach (var (table, columns) in (await TargetTablesAsync(connection, tx, ct)).OrderBy(t => t.Key, StringComparer.Ordinal))
            digests.Add(await DigestAsync(connection, tx, table, columns.Select(c => c.Name).ToList(), keys[table].ToList(),
                columns.Where(c => c.Type == "text").Select(c => c.Name).ToHashSet(StringComparer.Ordinal), ct));
        return digests;
    }

    /// <summary>
    /// SHA-256 over the rows in primary-key order (every column's, when there is no key), the columns in name order, each
    /// value tagged with its kind and length; an integer and a boolean are the same 64-bit integer (SQLite has no boolean).
    /// Text keys sort alike on both sides: SQLite's BINARY and PostgreSQL's COLLATE "C" both compare bytes.
    /// </summary>
    /// <param name="text">The text columns, ordered by bytes explicitly (PostgreSQL: COLLATE "C", whatever the column's own collation).</param>
    private static async Task<TableDigest> DigestAsync(DbConnection connection, DbTransaction tx, string table, IReadOnlyList<string> columns, IReadOnlyList<string> key,
        IReadOnlySet<string> text, CancellationToken ct)
    {
        var named = columns.Order(StringComparer.Ordinal).ToList();
        var orderBy = (key.Count > 0 ? key : named).Select(c => Quote(c) + (text.Contains(c) ? " COLLATE \"C\"" : ""));
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = $"SELECT {string.Join(", ", named.Select(Quote))} FROM {Quote(table)} ORDER BY {string.Join(", ", orderBy)}";
        await using var reader = await command.ExecuteReaderAsync(ct);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var number = new byte[9];
        long rows = 0;
        while (await reader.ReadAsync(ct))
        {
            rows++;
            for (var i = 0; i < named.Count; i++)
            {
                switch (reader.IsDBNull(i) ? null : reader.GetValue(i))
                {
                    case null: hash.AppendData([0]); break;
                    case bool b: Integer(hash, number, b ? 1 : 0); break;
                    case long l: Integer(hash, number, l); break;
                    case int n: Integer(hash, number, n); break;
                    case short n: Integer(hash, number, n); break;
                    case string s: Bytes(hash, number, 2, Encoding.UTF8.GetBytes(s)); break;
                    case byte[] b: Bytes(hash, number, 3, b); break;
                    case double d: number[0] = 4; BinaryPrimitives.WriteDoubleBigEndian(number.AsSpan(1), d); hash.AppendData(number); break;
                    case var other: throw new InvalidDataException($"Table {table}, column {named[i]}: a value of type {other.GetType().Name} has no digest form.");
                }
            }
        }
        return new TableDigest(table, rows, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static void Integer(IncrementalHash hash, byte[] buffer, long value)
    {
        buffer[0] = 1;
        BinaryPrimitives.WriteInt64BigEndian(buffer.AsSpan(1), value);
        hash.AppendData(buffer);
    }

    private static void Bytes(IncrementalHash hash, byte[] buffer, byte tag, byte[] value)
    {
        buffer[0] = tag;
        BinaryPrimitives.WriteInt64BigEndian(buffer.AsSpan(1), value.Length);
        hash.AppendData(buffer);
        hash.AppendData(value);
    }

    private sealed record TargetColumn(string Name, string Type, bool Identity);

    /// <summary>The SQLite database's tables (not SQLite's own), each with its columns.</summary>
    private static async Task<Dictionary<string, IReadOnlyList<string>>> SqliteTablesAsync(SqliteConnection connection, CancellationToken ct)
    {
        var tables = await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'", cancellationToken: ct));
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var table in tables)
            result[table] = (await connection.QueryAsync<string>(new CommandDefinition("SELECT name FROM pragma_table_info(@table) ORDER BY cid", new { table }, cancellationToken: ct))).AsList();
        return result;
    }

    /// <summary>The target's tables in its current schema, each with its columns' types and whether the database fills them.</summary>
    private static async Task<Dictionary<string, IReadOnlyList<TargetColumn>>> TargetTablesAsync(NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken ct)
    {
        var columns = await connection.QueryAsync<(string Table, string Column, string Type, bool Identity)>(new CommandDefinition("""
            SELECT c.table_name, c.column_name, c.data_type, (c.is_identity = 'YES' OR c.column_default LIKE 'nextval(%') AS identity
            FROM information_schema.columns c JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
            ORDER BY c.table_name, c.ordinal_position
            """, transaction: tx, cancellationToken: ct));
        return columns.GroupBy(c => c.Table, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<TargetColumn>)g.Select(c => new TargetColumn(c.Column, c.Type, c.Identity)).ToList(), StringComparer.Ordinal);
    }

    /// <summary>Every table and column of the source must have its counterpart (and the other way round): migrations come in pairs.</summary>
    private static void CheckSameTables(Dictionary<string, IReadOnlyList<string>> source, Dictionary<string, IReadOnlyList<TargetColumn>> target)
    {
        var problems = new List<string>();
        foreach (var table in source.Keys.Except(target.Keys).Order(StringComparer.Ordinal))
            problems.Add($"table {table} of the SQLite database has no counterpart in PostgreSQL (a migration in Migrations/Sqlite without its twin in Migrations/Postgres)");
        foreach (var table in target.Keys.Except(source.Keys).Order(StringComparer.Ordinal))
            problems.Add($"table {table} exists in PostgreSQL only");
        foreach (var (table, columns) in source.Where(t => target.ContainsKey(t.Key)))
        {
            var theirs = target[table].Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var column in columns.Where(c => !theirs.Contains(c))) problems.Add($"column {table}.{column} of the SQLite database has no counterpart in PostgreSQL");
            foreach (var column in theirs.Except(columns).Order(StringComparer.Ordinal)) problems.Add($"column {table}.{column} exists in PostgreSQL only");
        }
        if (problems.Count > 0) throw new InvalidDataException("The two schemas differ, so the copy would leave data behind; nothing was copied: " + string.Join("; ", problems) + ".");
    }

    private static async Task<IReadOnlyList<(string Child, string Parent)>> ForeignKeysAsync(NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken ct) =>
        (await connection.QueryAsync<(string Child, string Parent)>(new CommandDefinition("""
            SELECT child.relname, parent.relname FROM pg_constraint k
            JOIN pg_class child ON child.oid = k.conrelid JOIN pg_class parent ON parent.oid = k.confrelid
            JOIN pg_namespace n ON n.oid = k.connamespace
            WHERE k.contype = 'f' AND n.nspname = current_schema()
            """, transaction: tx, cancellationToken: ct))).AsList();

    /// <summary>Parents before children (a table referring to itself would need its rows ordered; the schema has none and it fails here if one appears).</summary>
    internal static IReadOnlyList<string> DependencyOrder(IEnumerable<string> tables, IReadOnlyList<(string Child, string Parent)> foreignKeys)
    {
        var remaining = tables.Order(StringComparer.Ordinal).ToList();
        var order = new List<string>(remaining.Count);
        while (remaining.Count > 0)
        {
            var ready = remaining.Where(t => !foreignKeys.Any(k => k.Child == t && remaining.Contains(k.Parent))).ToList();
            if (ready.Count == 0)
                throw new InvalidDataException("The foreign keys of " + string.Join(", ", remaining) + " form a cycle: no order copies them; nothing was copied.");
            order.AddRange(ready);
            remaining.RemoveAll(ready.Contains);
        }
        return order;
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>The migrator's connections are not used when it applies its scripts in a caller's transaction.</summary>
    private sealed class NoConnections : IDbConnectionFactory
    {
        public Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default) => throw new InvalidOperationException("Not used.");
    }
}
