using System.Text;

namespace OverlapEscrow.Cli;

// A named class rather than top-level statements: the tests load this assembly next to the web host's, whose
// top-level Program would otherwise collide with a second global Program.
internal static class Program
{
    private static Task<int> Main(string[] args)
    {
        if (OperatingSystem.IsWindows()) Console.OutputEncoding = new UTF8Encoding(false);
        return CliApp.RunAsync(args, CliEnvironment.FromConsole());
    }
}
