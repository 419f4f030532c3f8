using System.Text.Json.Nodes;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The runtime settings the service ships with (OverlapEscrow.Api.csproj), read back from the runtimeconfig.json the
/// build writes beside the service: what `dotnet run`, the Docker image and the benchmarks all start with. The memory
/// figures in docs/performance.md and docs/operations.md were measured with exactly these; dropping one from the
/// project would change every one of them without a word.
/// </summary>
public sealed class RuntimeSettingsTests
{
    private static JsonNode ConfigProperties()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "OverlapEscrow.Api.runtimeconfig.json");
        Assert.True(File.Exists(path), $"the service's runtimeconfig.json is not beside the tests: {path}");
        return JsonNode.Parse(File.ReadAllText(path))!["runtimeOptions"]!["configProperties"]
               ?? throw new Xunit.Sdk.XunitException("the service's runtimeconfig.json has no configProperties");
    }

    [Fact]
    public void The_service_starts_with_the_server_garbage_collector_and_DATAS()
    {
        var properties = ConfigProperties();
        Assert.True(properties["System.GC.Server"]?.GetValue<bool>(), "System.GC.Server is not true");
        Assert.Equal(1, properties["System.GC.DynamicAdaptationMode"]?.GetValue<int>());
    }

    [Fact]
    public void The_service_caps_the_collectors_gen0_budget_at_16_MiB_so_an_upload_peaks_lower()
    {
        // Without the cap DATAS grows gen0's budget to 60-80 MiB during a large upload (docs/performance.md, "The process's
        // first run and its memory at rest"); the cap is on the budget between collections, not on the heap.
        Assert.Equal(16L * 1024 * 1024, ConfigProperties()["System.GC.Gen0MaxBudget"]?.GetValue<long>());
    }

    [Fact]
    public void The_service_sets_no_heap_limit_so_a_large_upload_grows_the_heap_instead_of_failing()
    {
        var properties = ConfigProperties().AsObject();
        Assert.DoesNotContain(properties, p => p.Key.StartsWith("System.GC.HeapHardLimit", StringComparison.Ordinal));
    }
}
