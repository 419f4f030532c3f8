using System.Text.Json;
using System.Text.RegularExpressions;
using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli.Commands;

/// <summary>
/// Reads a saved upload configuration for `sync`: a JSON object whose fields are the `upload` options
/// (<see cref="SyncCommand.ConfigHelp"/> lists them). Every mistake is a <see cref="UsageException"/> (exit code 2)
/// whose one line names the config file and the offending field. Unknown fields are mistakes too: a misspelt
/// "domainColum" silently ignored would upload without that identifier every night.
/// </summary>
internal static partial class SyncConfig
{
    private const int MaxKeyFileBytes = 4096;

    private static readonly string[] Fields =
    [
        "server", "population", "create", "file", "idColumn", "domainColumn", "emailColumn", "nameColumn", "countryColumn",
        "attributes", "mode", "apiKeyEnv", "apiKeyFile", "scheduleId",
    ];

    // Field names that would hold the key itself (compared lower-case, without _ and -).
    private static readonly string[] InlineKeyFields = ["apikey", "key", "secret", "clientsecret", "token", "accesstoken"];

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex VariableName();

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0');

    /// <summary>The upload the config describes, with its paths resolved against the config file's directory and the API key read.</summary>
    public static UploadJob Load(string configPath, CliEnvironment env)
    {
        var full = Path.GetFullPath(configPath);
        string text;
        try
        {
            text = File.ReadAllText(full);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new UsageException($"cannot read the config {configPath}: no such file.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read the config {configPath}: {e.Message}");
        }

        // Anyone who may write the config may point "server" at a host of their own, where the key would go: a config
        // every user may write is refused (writable by the group is left alone: many systems give each user a group of
        // their own and files group write by default).
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(full) & UnixFileMode.OtherWrite) != 0)
            throw new UsageException($"{configPath} may be written by every user (mode {Octal(File.GetUnixFileMode(full))}), so it is not used: " +
                                     $"whoever writes it chooses where the API key is sent. chmod o-w {configPath}");

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            // The reader's message ends with its own position; say it as a line and a column counted from 1.
            var reason = e.Message.Split(" LineNumber:")[0].TrimEnd('.', ' ');
            throw new UsageException($"{configPath} is not valid JSON (line {e.LineNumber + 1}, column {e.BytePositionInLine + 1}): {reason}.");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new UsageException($"{configPath} must hold one JSON object ({{ \"server\": …, … }}), not {Kind(doc.RootElement)}.");
            return new Reader(configPath, Path.GetDirectoryName(full)!, doc.RootElement, env).Read();
        }
    }

    /// <summary>Edits (insert, delete, replace) from one name to another, to suggest the field a typo meant.</summary>
    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true or false",
        _ => "null",
    };

    private sealed class Reader(string configPath, string directory, JsonElement root, CliEnvironment env)
    {
        private readonly Dictionary<string, JsonElement> _values = new(StringComparer.Ordinal);

        public UploadJob Read()
        {
            foreach (var property in root.EnumerateObject())
            {
                if (InlineKeyFields.Contains(property.Name.Replace("_", "").Replace("-", "").ToLowerInvariant()))
                    throw Bad(property.Name, "the API key is never read from the config file, where it would sit in clear text wherever the file " +
                                             "is copied, backed up or committed; put the name of an environment variable that holds it in \"apiKeyEnv\", " +
                                             "or the path of an owner-only file that holds it in \"apiKeyFile\".");
                if (!Fields.Contains(property.Name, StringComparer.Ordinal))
                {
                    if (property.Name == "idempotencyKey")
                        throw Bad(property.Name, "is not a sync setting: a fixed key would make every run after the first replay that first upload " +
                                                 "instead of sending the new export. Each run uses a new key, which its retries reuse.");
                    var near = Fields.MinBy(f => Distance(f.ToLowerInvariant(), property.Name.ToLowerInvariant()));
                    if (Distance(near!.ToLowerInvariant(), property.Name.ToLowerInvariant()) > 2) near = null;
                    throw Bad(property.Name, near is not null
                        ? $"is not a sync setting; did you mean \"{near}\"?"
                        : $"is not a sync setting (they are: {string.Join(", ", Fields)}).");
                }
                if (!_values.TryAdd(property.Name, property.Value)) throw Bad(property.Name, "is set twice.");
            }

            var serverText = String("server", required: true)!;
            if (!ServerOptions.TryParseServer(serverText, out var server)) throw Bad("server", $"\"{serverText}\" is not an http:// or https:// URL.");
            var population = String("population", required: true)!;
            var create = String("create");
            if (create is not null && !UploadCommand.PopulationTypes.Contains(create, StringComparer.Ordinal))
                throw Bad("create", $"\"{create}\" is not a population type ({string.Join(", ", UploadCommand.PopulationTypes)}).");
            var file = Resolve(String("file", required: true)!);
            var mode = String("mode") switch
            {
                null or "snapshot" => UploadMode.Snapshot,
                "delta" => UploadMode.Delta,
                var other => throw Bad("mode", $"\"{other}\" is neither \"snapshot\" nor \"delta\"."),
            };
            var columns = new AccountColumns(String("idColumn", required: true)!, String("domainColumn"), String("emailColumn"),
                String("nameColumn"), String("countryColumn"), Attributes());
            if (columns.DomainColumn is null && columns.EmailColumn is null && columns.NameColumn is null)
                throw new UsageException($"{configPath}: no identifier column; set at least one of \"domainColumn\", \"emailColumn\" and \"nameColumn\".");
            try
            {
                columns.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"{configPath}: {e.Message}");
            }
            var scheduleId = String("scheduleId");
            if (scheduleId is not null && !SyncScheduleHeader.IsValidId(scheduleId))
                throw Bad("scheduleId", "is 1–255 visible ASCII characters (no spaces), as the escrow gave it.");

            return new UploadJob(server, ApiKey(), population, create, file, columns, mode, IdempotencyKey: null, scheduleId)
            {
                CreateHint = $"\"create\": \"TYPE\" in {configPath}",
            };
        }

        private UsageException Bad(string field, string problem) => new($"{configPath}, field \"{field}\": {problem}");

        /// <summary>A string field, trimmed; null when absent, null or blank (or an error when required).</summary>
        private string? String(string field, bool required = false)
        {
            if (!_values.TryGetValue(field, out var value) || value.ValueKind == JsonValueKind.Null)
                return required ? throw Bad(field, "is required.") : null;
            if (value.ValueKind != JsonValueKind.String) throw Bad(field, $"must be a string, not {Kind(value)}.");
            var text = value.GetString()!.Trim();
            if (text.Length > 0) return text;
            return required ? throw Bad(field, "is empty.") : null;
        }

        /// <summary>Relative paths are relative to the config file, not to wherever cron starts the command.</summary>
        private string Resolve(string path) => Path.GetFullPath(path, directory);

        /// <summary>"Column" (its wire name in camelCase) or { "column": "Column", "name": "wireName" }.</summary>
        private List<AttributeColumn> Attributes()
        {
            if (!_values.TryGetValue("attributes", out var list) || list.ValueKind == JsonValueKind.Null) return [];
            if (list.ValueKind != JsonValueKind.Array)
                throw Bad("attributes", $"must be an array of column names and {{\"column\": …, \"name\": …}} objects, not {Kind(list)}.");
            var attributes = new List<AttributeColumn>();
            foreach (var item in list.EnumerateArray())
            {
                var field = $"attributes[{attributes.Count}]";
                attributes.Add(item.ValueKind switch
                {
                    JsonValueKind.String => Attribute(field, item.GetString()!.Trim(), null),
                    JsonValueKind.Object => AttributeObject(field, item),
                    _ => throw Bad(field, $"must be a column name or a {{\"column\": …, \"name\": …}} object, not {Kind(item)}."),
                });
            }
            var duplicate = attributes.GroupBy(a => a.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                throw Bad("attributes", $"the columns {string.Join(" and ", duplicate.Select(a => $"\"{a.Column}\""))} give the same attribute name " +
                                        $"\"{duplicate.Key}\"; give one another name: {{\"column\": \"{duplicate.Last().Column}\", \"name\": \"…\"}}.");
            return attributes;
        }

        private AttributeColumn AttributeObject(string field, JsonElement item)
        {
            string? column = null;
            string? name = null;
            foreach (var property in item.EnumerateObject())
            {
                if (property.Name is not ("column" or "name")) throw Bad($"{field}.{property.Name}", "is not an attribute setting (they are: column, name).");
                if (property.Value.ValueKind == JsonValueKind.Null) continue;
                if (property.Value.ValueKind != JsonValueKind.String)
                    throw Bad($"{field}.{property.Name}", $"must be a string, not {Kind(property.Value)}.");
                if (property.Name == "column") column = property.Value.GetString()!.Trim();
                else name = property.Value.GetString()!.Trim();
            }
            if (column is null) throw Bad($"{field}.column", "is required.");
            return Attribute($"{field}.column", column, string.IsNullOrEmpty(name) ? null : name, $"{field}.name");
        }

        private AttributeColumn Attribute(string field, string column, string? name, string? nameField = null)
        {
            if (column.Length == 0) throw Bad(field, "is empty.");
            if (name is not null)
            {
                if (!AttributeNames.IsValid(name))
                    throw Bad(nameField!, $"\"{name}\" is not a valid attribute name (1–{AttributeNames.MaxLength} of A-Z a-z 0-9 _, starting with a letter).");
                return new AttributeColumn(column, name);
            }
            return new AttributeColumn(column, AttributeNames.FromColumn(column)
                ?? throw Bad(field, $"the column \"{column}\" gives no valid attribute name; name it: {{\"column\": \"{column}\", \"name\": \"myName\"}}."));
        }

        /// <summary>From the environment variable named by apiKeyEnv (default OVERLAP_ESCROW_API_KEY), or the file named by apiKeyFile.</summary>
        private string ApiKey()
        {
            var variable = String("apiKeyEnv");
            var file = String("apiKeyFile");
            if (variable is not null && file is not null) throw Bad("apiKeyFile", "and \"apiKeyEnv\" are both set; keep the one that holds the key.");
            if (file is not null) return ReadKeyFile(Resolve(file));
            if (variable is not null && !VariableName().IsMatch(variable))
                // Never echoed: what is there may well be the key itself.
                throw Bad("apiKeyEnv", "is not an environment variable name (letters, digits and _, not starting with a digit); it names the " +
                                       "variable that holds the API key, and the key itself never goes in the config.");
            var key = env.GetVariable(variable ?? CliApp.ApiKeyVariable);
            if (!string.IsNullOrWhiteSpace(key)) return key.Trim();
            if (variable is null)
                throw new UsageException($"no API key: set {CliApp.ApiKeyVariable}, or name the variable that holds the key in \"apiKeyEnv\" " +
                                         $"(or an owner-only key file in \"apiKeyFile\") of {configPath}.");
            throw Bad("apiKeyEnv", $"the environment variable {variable} is not set (cron starts commands with few variables: set it in the " +
                                   "crontab line or in the script that cron runs).");
        }

        private string ReadKeyFile(string path)
        {
            if (!File.Exists(path)) throw Bad("apiKeyFile", $"{path}: no such file.");
            if (!OperatingSystem.IsWindows())
            {
                // Written by another, the key could be swapped for one of another organization: refused like a readable one.
                var mode = File.GetUnixFileMode(path);
                if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
                    throw Bad("apiKeyFile", $"{path} is readable or writable by group or others (mode {Octal(mode)}), " +
                                            $"so it is not used; let only its owner read and write it: chmod 600 {path}");
            }
            string text;
            try
            {
                if (new FileInfo(path).Length > MaxKeyFileBytes) throw Bad("apiKeyFile", $"{path} holds more than an API key.");
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Bad("apiKeyFile", $"cannot read {path}: {e.Message}");
            }
            var key = text.Trim();
            if (key.Length == 0) throw Bad("apiKeyFile", $"{path} is empty.");
            if (key.Any(char.IsWhiteSpace)) throw Bad("apiKeyFile", $"{path} holds more than one word; it must hold only the API key.");
            return key;
        }
    }
}
