
using System.Text.Json.Nodes;
using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>
/// The browser's hashing (wwwroot/js/hashing.js, run in Chromium on the data files the service serves) reproduces every
/// published vector of the specification: without that, an upload from the browser would not match partners.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class HashingVectorTests(DashboardWorld world)
{
    public static string VectorFile()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "data", "hashing-vectors.json");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("tests/data/hashing-vectors.json not found above the test binaries.");
    }

    [Fact]
    public async Task TheBrowserReproducesEveryPublishedHashingVector()
    {
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        await page.GotoAsync($"/populations/{world.AlphaCustomers}/upload");
        await page.WaitForFunctionAsync("() => window.OverlapHashing !== undefined");
        var file = JsonNode.Parse(await File.ReadAllTextAsync(VectorFile()))!;
        var script = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Scripts", "check-vectors.js"));
        var result = JsonNode.Parse(await page.EvaluateAsync<string>(script[script.IndexOf("async (text)", StringComparison.Ordinal)..], file.ToJsonString()))!;

        Assert.Equal(file["vectors"]!.AsArray().Count, result["vectors"]!.GetValue<int>());
        Assert.Equal(file["accounts"]!.AsArray().Count, result["accounts"]!.GetValue<int>());
        Assert.True(result["vectors"]!.GetValue<int>() >= 200 && result["accounts"]!.GetValue<int>() >= 10);
        Assert.True(result["mismatches"]!.AsArray().Count == 0, "Mismatches: " + result["mismatches"]!.ToJsonString());
        await page.Context.CloseAsync();
    }
}
