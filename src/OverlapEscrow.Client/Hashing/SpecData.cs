using System.Reflection;

namespace OverlapEscrow.Client.Hashing;

/// <summary>The data files of the hashing specification, embedded in the assembly.</summary>
internal static class SpecData
{
    public static IEnumerable<string> Lines(string name, bool keepComments = false)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("OverlapEscrow.Client.Data." + name)
            ?? throw new InvalidOperationException($"The specification data file {name} is missing from the assembly.");
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || (!keepComments && trimmed.StartsWith('#'))) continue;
            yield return trimmed;
        }
    }
}
