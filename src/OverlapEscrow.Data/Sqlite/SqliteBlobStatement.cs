using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OverlapEscrow.Data.Sqlite;

/// <summary>
/// One statement run on a SQLite connection's own handle, so that a blob is bound from a span (a slice of a reused
/// buffer) where <see cref="SqliteParameter"/> takes only an array of the exact length. It runs inside whatever
/// transaction the connection is in (the caller's write transaction), and is finalized before it returns: nothing of it
/// stays on the connection. The values bound are those Microsoft.Data.Sqlite binds for the same arguments (text as UTF-8,
/// integers as 64-bit, arrays as blobs), so what is stored is the same.
/// </summary>
internal static class SqliteBlobStatement
{
    public static int Execute(SqliteConnection connection, string sql, IReadOnlyList<(string Name, object Value)> args, string blobName, ReadOnlySpan<byte> blob)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement);
        SqliteException.ThrowExceptionForRC(rc, db);
        using (statement)
        {
            foreach (var (name, value) in args)
            {
                var index = Index(statement, name);
                rc = value switch
                {
                    string text => raw.sqlite3_bind_text(statement, index, text),
                    long number => raw.sqlite3_bind_int64(statement, index, number),
                    int number => raw.sqlite3_bind_int64(statement, index, number),
                    byte[] bytes => raw.sqlite3_bind_blob(statement, index, bytes),
                    _ => throw new ArgumentException($"Parameter {name} is of a type this statement does not bind ({value?.GetType().Name ?? "null"})."),
                };
                SqliteException.ThrowExceptionForRC(rc, db);
            }
            rc = raw.sqlite3_bind_blob(statement, Index(statement, blobName), blob);
            SqliteException.ThrowExceptionForRC(rc, db);
            rc = raw.sqlite3_step(statement);
            if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc, db);
            return raw.sqlite3_changes(db);
        }
    }

    private static int Index(sqlite3_stmt statement, string name)
    {
        var index = raw.sqlite3_bind_parameter_index(statement, "@" + name);
        return index > 0 ? index : throw new ArgumentException($"The statement has no parameter @{name}.");
    }
}
