using System.Text;

namespace OverlapEscrow.Api.Dashboard.Populations;

/// <summary>The command that uploads a population with the partner-side CLI, which hashes the export on the partner's machine.</summary>
public static class Cli
{
    /// <summary>
    /// overlap-escrow upload for this server and population. The column names are those of a typical CRM export (the
    /// sample exports in tests/data/partners); the attributes are the ones the population's uploads carry now, each
    /// mapped from a column of the same name.
    /// </summary>
    public static string UploadCommand(string server, string populationId, IReadOnlyList<string> attributes)
    {
        var sb = new StringBuilder();
        sb.Append("export OVERLAP_ESCROW_API_KEY=oek_...   # an API key with the populations:write scope (Admin, API keys)\n");
        sb.Append("overlap-escrow upload --server ").Append(server).Append(" --population ").Append(populationId).Append(" \\\n");
        sb.Append("  --file accounts.csv --id-column \"Account ID\" --domain-column \"Website\" --email-column \"Primary Contact Email\" \\\n");
        sb.Append("  --name-column \"Account Name\" --country-column \"Billing Country\"");
        foreach (var a in attributes) sb.Append(" \\\n  --attribute \"").Append(a).Append('=').Append(a).Append('"');
        sb.Append('\n');
        return sb.ToString();
    }
}
