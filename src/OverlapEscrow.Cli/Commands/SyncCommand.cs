using System.CommandLine;
using System.Globalization;

namespace OverlapEscrow.Cli.Commands;

/// <summary>
/// `sync`: runs a saved upload configuration, the line a partner puts in its crontab. The upload is the one of
/// `upload` (<see cref="UploadCommand.RunAsync"/>), with the same summary; the exit code tells a monitor what
/// happened: 0 committed, 1 the run failed, 2 the config is wrong.
/// </summary>
internal static class SyncCommand
{
    public const string Name = "sync";

    /// <summary>The config file's fields, printed after the options by `sync --help`.</summary>
    public const string ConfigHelp = """
        Config file: one JSON object (comments allowed). Its fields are the options of `upload`; relative paths are
        relative to the config file's directory, not to where cron starts the command.
          server         required  The escrow's base URL (--server).
          population     required  The population's id (pop_…) or exact name (--population).
          create                   Create the population with this type when none has that name: customers, prospects,
                                   opportunities, partners or custom (--create).
          file           required  The CRM export: CSV in UTF-8 with a header row (--file).
          idColumn       required  Column with the record id (--id-column).
          domainColumn             Column with the website (--domain-column).
          emailColumn              Column with a contact e-mail address (--email-column).
          nameColumn               Column with the company name (--name-column).
          countryColumn            Column with the country that goes with the name (--country-column).
                                   At least one of domainColumn, emailColumn and nameColumn is required.
          attributes               Columns uploaded as plain-text attributes (--attribute): "Owner" (wire name in
                                   camelCase, "owner") or {"column": "Stage", "name": "dealStage"} to choose the name.
          mode                     "snapshot" (the default) or "delta" (--mode).
          apiKeyEnv                The name of the environment variable that holds the API key (recommended).
          apiKeyFile               Or the path of a file that holds only the API key, readable by its owner only
                                   (chmod 600; refused otherwise). With neither, the key is read from
                                   OVERLAP_ESCROW_API_KEY. A key written in the config itself is refused.
          scheduleId               A sync schedule's id: the upload carries it as X-Sync-Schedule, so the escrow
                                   records the upload as a run of that schedule.
        Unknown fields are refused. Every run uploads under a new Idempotency-Key, which its retries reuse.

        Example:
          {
            "server": "https://escrow.example.com",
            "population": "Customers", "create": "customers",
            "file": "exports/customers.csv",
            "idColumn": "Account ID", "domainColumn": "Website", "emailColumn": "Primary Contact Email",
            "nameColumn": "Account Name", "countryColumn": "Billing Country",
            "attributes": ["Account Name", "Owner", {"column": "Stage", "name": "dealStage"}],
            "mode": "snapshot",
            "apiKeyEnv": "OVERLAP_ESCROW_API_KEY"
          }

        Exit codes: 0 the upload was committed; 1 the run failed (escrow unreachable or refusing, export missing or
        malformed, a column not in the export); 2 the config or the arguments are wrong (the error names the field).

        """;

    public static Command Create(CliEnvironment env)
    {
        var config = new Option<string>("--config", "-c") { Description = "The saved upload configuration: a JSON file, described below.", Required = true };
        var command = new Command(Name, "Run a saved upload configuration (a JSON file, e.g. from cron): the same upload and summary as `upload`.");
        command.Add(config);
        command.SetAction((parse, ct) => CliApp.GuardAsync(env, async () =>
        {
            var path = parse.GetValue(config)!;
            // First, so that in a log file every run starts with when it ran and what it ran, whatever follows.
            var now = env.ClientOptions.TimeProvider.GetLocalNow();
            env.Out.WriteLine($"sync:             {path}, {now.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture)}");
            var job = SyncConfig.Load(path, env);
            ServerOptions.WarnIfUnencrypted(job.Server, env);
            AccountOptions.RequireFile(job.Path, $" (the \"file\" of {path})");
            return await UploadCommand.RunAsync(env, job, ct);
        }));
        return command;
    }
}
