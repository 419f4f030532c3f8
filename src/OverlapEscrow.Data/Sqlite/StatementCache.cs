using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using Dapper;
using Microsoft.Data.Sqlite;

namespace OverlapEscrow.Data.Sqlite;

/// <summary>
/// The compiled statements of one kept SQLite connection (<see cref="SqliteConnectionFactory.OpenKeptAsync"/>), by
/// SQL text. Microsoft.Data.Sqlite compiles a command's SQL on its first execution and keeps the compiled statement as
/// long as the command lives and its connection stays open; Dapper makes a new command per call, so every statement was
/// compiled afresh (parse, name resolution, planning: about a seventh of a read's CPU). Here a command lives as long as
/// its connection, and the next execution of the same SQL only rebinds its parameters. SQLite recompiles a kept
/// statement by itself when the schema changed since (sqlite3_prepare_v2), so a migration cannot leave one stale.
/// </summary>
/// <remarks>
/// Only what this class binds exactly as Dapper would goes through it: parameters from an anonymous object (or Dapper's
/// <see cref="DynamicParameters"/>) whose values are strings, integers, booleans, doubles, byte arrays or null (a list, which Dapper expands into one
/// parameter per value, or any other type makes <see cref="TryBind"/> refuse, and the caller runs the statement through
/// Dapper). Rows are still mapped by Dapper (<see cref="SqlMapper.GetRowParser{T}"/>). Not thread-safe: a connection
/// serves one caller at a time.
/// </remarks>
internal sealed class StatementCache
{
    /// <summary>At most this many statements per connection; further SQL texts run through Dapper, compiled per call.</summary>
    public const int MaxStatements = 64;

    private static readonly ConditionalWeakTable<SqliteConnection, StatementCache> Caches = new();
    private static readonly ConcurrentDictionary<Type, Func<object, object?>[]?> Getters = new();
    private static readonly ConcurrentDictionary<Type, string[]> Names = new();

    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    private StatementCache(SqliteConnection connection) => _connection = connection;

    /// <summary>Gives the connection a statement cache (the factory does, for the connections it keeps open).</summary>
    public static void Attach(SqliteConnection connection) => Caches.AddOrUpdate(connection, new StatementCache(connection));

    /// <summary>The statement cache of a kept connection; null for any other connection.</summary>
    public static StatementCache? Of(DbConnection connection) =>
        connection is SqliteConnection sqlite && Caches.TryGetValue(sqlite, out var cache) ? cache : null;

    /// <summary>Number of statements kept (tests).</summary>
    public int Count => _commands.Count;

    /// <summary>
    /// The kept command for <paramref name="sql"/> with <paramref name="args"/> bound, in <paramref name="transaction"/>;
    /// null when the arguments are not ones this class binds (or the cache is full): run the statement through Dapper.
    /// </summary>
    public SqliteCommand? TryBind(string sql, object? args, DbTransaction? transaction)
    {
        if (args is DynamicParameters dynamic)
        {
            if (!dynamic.ParameterNames.All(name => Bindable(dynamic.Get<object?>(name)))) return null;
        }
        else if (args is not null && (Getters.GetOrAdd(args.GetType(), GettersOf) is not { } getters || !getters.All(get => Bindable(get(args))))) return null;
        if (!_commands.TryGetValue(sql, out var command))
        {
            if (_commands.Count >= MaxStatements) return null;
            command = _connection.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
        }
        SetParameters(command, args);
        command.Transaction = (SqliteTransaction?)transaction;
        return command;
    }

    private static void SetParameters(SqliteCommand command, object? args)
    {
        var parameters = command.Parameters;
        if (args is null)
        {
            parameters.Clear();
            return;
        }
        if (args is DynamicParameters dynamic)
        {
            // Named by the caller (the audit's batched INSERT): rebuilt only when the names differ from the last execution's.
            var i = 0;
            foreach (var name in dynamic.ParameterNames)
            {
                if (i < parameters.Count && parameters[i].ParameterName.AsSpan(1).SequenceEqual(name)) parameters[i].Value = dynamic.Get<object?>(name) ?? DBNull.Value;
                else
                {
                    while (parameters.Count > i) parameters.RemoveAt(parameters.Count - 1);
                    parameters.Add(new SqliteParameter("@" + name, dynamic.Get<object?>(name) ?? DBNull.Value));
                }
                i++;
            }
            while (parameters.Count > i) parameters.RemoveAt(parameters.Count - 1);
            return;
        }
        var getters = Getters[args.GetType()]!;
        var names = Names[args.GetType()];
        if (parameters.Count != names.Length || !SameNames(parameters, names))
        {
            parameters.Clear();
            foreach (var name in names) parameters.Add(new SqliteParameter(name, DBNull.Value));
        }
        for (var i = 0; i < getters.Length; i++) parameters[i].Value = getters[i](args) ?? DBNull.Value;
    }

    private static bool SameNames(SqliteParameterCollection parameters, string[] names)
    {
        for (var i = 0; i < names.Length; i++)
            if (!ReferenceEquals(parameters[i].ParameterName, names[i]) && parameters[i].ParameterName != names[i]) return false;
        return true;
    }

    /// <summary>The values SQLite binds as Dapper does (strings as TEXT, integers and booleans as INTEGER, …).</summary>
    private static bool Bindable(object? value) => value is null or string or long or int or short or byte or bool or double or byte[];

    /// <summary>Property getters of an anonymous argument object; null for any other type (its members may need Dapper's handling).</summary>
    private static Func<object, object?>[]? GettersOf(Type type)
    {
        if (!type.IsDefined(typeof(CompilerGeneratedAttribute), false) || !type.Name.Contains("AnonymousType", StringComparison.Ordinal)) return null;
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
        Names[type] = properties.Select(p => "@" + p.Name).ToArray();
        return properties.Select(p => (Func<object, object?>)p.GetValue).ToArray();
    }

    /// <summary>Reads every row of a bound command as Dapper's QueryAsync would.</summary>
    public static async Task<List<T>> QueryAsync<T>(SqliteCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<T>();
        if (!reader.HasRows) return rows;
        var parse = RowParser<T>(reader);
        while (await reader.ReadAsync(ct)) rows.Add(parse(reader));
        return rows;
    }

    /// <summary>The first row of a bound command, or the default, as Dapper's QueryFirstOrDefaultAsync would.</summary>
    public static async Task<T?> FirstOrDefaultAsync<T>(SqliteCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return default;
        return RowParser<T>(reader)(reader);
    }

    /// <summary>The one row of a bound command, as Dapper's QuerySingleAsync would (none or several: an exception).</summary>
    public static async Task<T> SingleAsync<T>(SqliteCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) throw new InvalidOperationException("Sequence contains no elements");
        var row = RowParser<T>(reader)(reader);
        if (await reader.ReadAsync(ct)) throw new InvalidOperationException("Sequence contains more than one element");
        return row;
    }

    /// <summary>The first column of the first row, converted as Dapper's ExecuteScalarAsync would.</summary>
    public static async Task<T?> ScalarAsync<T>(SqliteCommand command, CancellationToken ct) => ValueOf<T>(await command.ExecuteScalarAsync(ct));

    private static T? ValueOf<T>(object? value)
    {
        if (value is null or DBNull) return default;
        if (value is T t) return t;
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return (T)(type.IsEnum ? Enum.ToObject(type, value) : Convert.ChangeType(value, type, CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Dapper's row parser for a type mapped from columns; a single value (a string, a number, …), which Dapper's
    /// QueryAsync reads from the first column, is read so here too (Dapper's typed GetRowParser refuses those).
    /// </summary>
    private static Func<System.Data.Common.DbDataReader, T> RowParser<T>(System.Data.Common.DbDataReader reader)
    {
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(byte[])
            ? r => ValueOf<T>(r.GetValue(0))!
            : reader.GetRowParser<T>();
    }
}
