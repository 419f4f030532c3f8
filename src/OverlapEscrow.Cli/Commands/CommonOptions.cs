using System.CommandLine;
using System.Diagnostics.CodeAnalysis;
using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli.Commands;

/// <summary>The options that say which file to read and which of its columns mean what (upload and hash).</summary>
internal sealed class AccountOptions
{
    public Option<string> File { get; } = new("--file", "-f") { Description = "The CRM export: CSV in UTF-8, comma- or semicolon-delimited, with a header row.", Required = true };
    public Option<string> IdColumn { get; } = new("--id-column") { Description = "Column with the record id (e.g. \"Account ID\"); overlap lists name your records by it.", Required = true };
    public Option<string?> DomainColumn { get; } = new("--domain-column") { Description = "Column with the website (e.g. Website); its registrable domain is hashed." };
    public Option<string?> EmailColumn { get; } = new("--email-column") { Description = "Column with a contact e-mail address; its domain is hashed unless it is a free-mail provider." };
    public Option<string?> NameColumn { get; } = new("--name-column") { Description = "Column with the company name (e.g. \"Account Name\"); hashed normalized, with the country." };
    public Option<string?> CountryColumn { get; } = new("--country-column") { Description = "Column with the country (name or ISO code) that goes with the name." };

    public Option<string[]> Attributes { get; } = new("--attribute", "-a")
    {
        Description = "A column to upload as a plain-text attribute; repeat for several. Its wire name is the column name in camelCase " +
                      "(\"Account Name\" -> accountName, \"Billing Country\" -> billingCountry); write \"Column=name\" to choose the name. " +
                      "Attributes are the only values that leave in clear text, and partners see them only where you share them.",
        DefaultValueFactory = _ => [],
    };

    public void AddTo(Command command)
    {
        command.Add(File);
        command.Add(IdColumn);
        command.Add(DomainColumn);
        command.Add(EmailColumn);
        command.Add(NameColumn);
        command.Add(CountryColumn);
        command.Add(Attributes);
    }

    public (string Path, AccountColumns Columns) Read(ParseResult parse)
    {
        static string? Column(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        var path = parse.GetValue(File)!;
        List<AttributeColumn> attributes;
        try
        {
            attributes = [.. (parse.GetValue(Attributes) ?? []).Select(AttributeNames.Parse)];
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        var id = Column(parse.GetValue(IdColumn)) ?? throw new UsageException("--id-column is empty.");
        var columns = new AccountColumns(id, Column(parse.GetValue(DomainColumn)), Column(parse.GetValue(EmailColumn)),
            Column(parse.GetValue(NameColumn)), Column(parse.GetValue(CountryColumn)), attributes);
        try
        {
            columns.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        RequireFile(path);
        return (path, columns);
    }

    /// <summary>A CRM export that is not there is a failure of the run (exit code 1), not of its arguments.</summary>
    public static void RequireFile(string path, string? note = null)
    {
        if (!System.IO.File.Exists(path)) throw new CliFailure($"cannot read {path}: no such file{note}.");
    }
}

/// <summary>Where the escrow is and the API key to use (upload and overlaps).</summary>
internal sealed class ServerOptions
{
    public Option<string> Server { get; } = new("--server", "-s") { Description = "The escrow's base URL, e.g. https://escrow.example.com.", Required = true };

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = $"An API key (oek_…) of your organization. When omitted, it is read from the environment variable {CliApp.ApiKeyVariable}, " +
                      "which keeps the key out of shell history and process lists.",
    };

    public void AddTo(Command command)
    {
        command.Add(Server);
        command.Add(ApiKey);
    }

    public (Uri Server, string ApiKey) Read(ParseResult parse, CliEnvironment env)
    {
        var url = parse.GetValue(Server)!.Trim();
        if (!TryParseServer(url, out var server)) throw new UsageException($"--server \"{url}\" is not an http:// or https:// URL.");
        var key = parse.GetValue(ApiKey);
        if (string.IsNullOrWhiteSpace(key)) key = env.GetVariable(CliApp.ApiKeyVariable);
        if (string.IsNullOrWhiteSpace(key)) throw new UsageException($"no API key: pass --api-key or set {CliApp.ApiKeyVariable}.");
        WarnIfUnencrypted(server, env);
        return (server, key.Trim());
    }

    /// <summary>An absolute http:// or https:// URL.</summary>
    public static bool TryParseServer(string url, [NotNullWhen(true)] out Uri? server) =>
        Uri.TryCreate(url, UriKind.Absolute, out server) && (server.Scheme == Uri.UriSchemeHttp || server.Scheme == Uri.UriSchemeHttps);

    /// <summary>The key is a long-lived credential: say so when it would cross a network unencrypted.</summary>
    public static void WarnIfUnencrypted(Uri server, CliEnvironment env)
    {
        if (server.Scheme == Uri.UriSchemeHttp && !server.IsLoopback)
            env.Error.WriteLine($"warning: {server.Host} is reached over plain http; the API key and the upload travel unencrypted. Use https.");
    }
}
