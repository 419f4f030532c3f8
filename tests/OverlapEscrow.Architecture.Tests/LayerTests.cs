using System.Reflection;
using NetArchTest.Rules;

namespace OverlapEscrow.Architecture.Tests;

/// <summary>The layers point one way: host → application → domain; the data layer implements the application's interfaces.</summary>
public class LayerTests
{
    private static readonly Assembly Domain = typeof(OverlapEscrow.Domain.Disclosure.CountRelease).Assembly;
    private static readonly Assembly Application = typeof(OverlapEscrow.Application.Caller).Assembly;
    private static readonly Assembly Data = typeof(OverlapEscrow.Data.StorageRegistration).Assembly;
    private static readonly Assembly Host = typeof(Program).Assembly;

    private static readonly string[] WebAndDatabase =
        ["Microsoft.AspNetCore", "Dapper", "Microsoft.Data.Sqlite", "Npgsql", "System.Data.Common", "SQLitePCL"];

    private static void Holds(TestResult result, string rule) =>
        Assert.True(result.IsSuccessful, $"{rule}; broken by: {string.Join(", ", result.FailingTypeNames ?? [])}");

    [Fact]
    public void TheDomainReferencesNoWebFrameworkDatabaseOrOtherLayer()
    {
        Holds(Types.InAssembly(Domain).ShouldNot().HaveDependencyOnAny([.. WebAndDatabase, "OverlapEscrow.Application", "OverlapEscrow.Data", "OverlapEscrow.Api",
            "OverlapEscrow.Client", "Microsoft.Extensions"]).GetResult(), "the domain depends on nothing but the base library");
        Assert.DoesNotContain(Domain.GetReferencedAssemblies(), a => a.Name!.StartsWith("OverlapEscrow.", StringComparison.Ordinal));
    }

    [Fact]
    public void TheApplicationReferencesNoWebFrameworkDatabaseHostOrDataLayer()
    {
        Holds(Types.InAssembly(Application).ShouldNot().HaveDependencyOnAny([.. WebAndDatabase, "OverlapEscrow.Data", "OverlapEscrow.Api", "OverlapEscrow.Client"]).GetResult(),
            "the application depends on the domain and platform abstractions only");
        var references = Application.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(references, n => n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || n == "Dapper" || n.StartsWith("OverlapEscrow.Data", StringComparison.Ordinal));
    }

    [Fact]
    public void TheHostNamesNoDatabaseDriverEvenToCheckItsSettings()
    {
        // Escrow:Database is checked in the host, but the connection string's syntax is judged by the data layer.
        Holds(Types.InAssembly(Host).ShouldNot().HaveDependencyOnAny(["Dapper", "Microsoft.Data.Sqlite", "Npgsql", "SQLitePCL"]).GetResult(),
            "the host names no database driver");
    }

    [Fact]
    public void OnlyTheHostsWiringNamesTheDataLayer()
    {
        var offenders = Types.InAssembly(Host).That().HaveDependencyOn("OverlapEscrow.Data").GetTypes()
            .Select(t => t.FullName!)
            .Where(name => !name.StartsWith("OverlapEscrow.Api.Extensions.StorageExtensions", StringComparison.Ordinal))
            .ToList();
        Assert.True(offenders.Count == 0, "Only Extensions/StorageExtensions.cs may name the data layer; also: " + string.Join(", ", offenders));
    }

    [Fact]
    public void TheHostNoLongerReferencesThePartnerClientLibrary()
    {
        Assert.DoesNotContain(Host.GetReferencedAssemblies(), a => a.Name == "OverlapEscrow.Client");
        Assert.DoesNotContain(Application.GetReferencedAssemblies(), a => a.Name == "OverlapEscrow.Client");
    }

    [Fact]
    public void NoRowTypeIsVisibleAboveTheDataLayer()
    {
        // Row types carry the schema's conventions (Unix milliseconds, '' for "any"); they stay inside the data layer.
        Assert.Empty(Data.GetExportedTypes().Where(t => t.Name.EndsWith("Row", StringComparison.Ordinal)).Select(t => t.FullName));
        foreach (var assembly in new[] { Host, Application, Domain })
            Assert.Empty(assembly.GetTypes().Where(t => t.Name.EndsWith("Row", StringComparison.Ordinal)).Select(t => t.FullName));
    }

    [Fact]
    public void EveryDisclosureRuleLivesInTheDomainsDisclosureFolder()
    {
        // The rules a newcomer looks for, by name, each in OverlapEscrow.Domain.Disclosure.
        string[] rules = ["PartnerVisibility", "CellAccess", "FieldProjection", "CountRelease", "HistoryTrend", "NewSince", "ChangeNotice", "PartnerAuditView", "SharingSettings",
            "DataRequestRules", "AttributionEvidenceRule", "DataRequestNotice", "AttributionNotice"];
        var types = Domain.GetTypes().Where(t => t.Namespace == "OverlapEscrow.Domain.Disclosure").Select(t => t.Name).ToHashSet();
        Assert.All(rules, r => Assert.Contains(r, types));
    }
}
