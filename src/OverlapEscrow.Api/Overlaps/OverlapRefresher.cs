using System.Threading.Channels;
using OverlapEscrow.Data.Partnerships;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Overlaps;

/// <summary>
/// Recomputes, in the background, the overlaps a new version affects (both directions of every active
/// partnership of its organization), so the next report finds them ready. Reports never wait for it: a cell
/// that is not ready is computed on demand for that pair alone.
/// </summary>
public sealed class OverlapRefresher(IServiceScopeFactory scopes, ILogger<OverlapRefresher> logger) : BackgroundService
{
    private readonly Channel<(string OrganizationId, string PopulationId)> _changes =
        Channel.CreateBounded<(string, string)>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropOldest });

    public void PopulationChanged(string organizationId, string populationId) => _changes.Writer.TryWrite((organizationId, populationId));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (organizationId, populationId) in _changes.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var partnerships = scope.ServiceProvider.GetRequiredService<IPartnershipRepository>();
                var service = scope.ServiceProvider.GetRequiredService<OverlapService>();
                foreach (var row in await partnerships.ListAsync(organizationId, stoppingToken))
                {
                    if (row.Status != "active") continue;
                    var mine = await service.LoadAsync(organizationId, row.Id, stoppingToken);
                    if (mine is null) continue;
                    var theirs = await service.LoadAsync(mine.Partner.Id, row.Id, stoppingToken);
                    var pop = mine.MyPopulations.FirstOrDefault(p => p.Id == populationId);
                    if (pop is null || theirs is null) continue;
                    foreach (var other in mine.PartnerPopulations)
                    {
                        if (mine.PartnerShares(pop.Id, other.Id).Level != SharingLevel.Hidden)
                            await service.ComputeAsync(mine, pop, other, stoppingToken);
                        if (theirs.PartnerShares(other.Id, pop.Id).Level != SharingLevel.Hidden)
                            await service.ComputeAsync(theirs, other, pop, stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A failed warm-up only means the next report computes on demand.
                logger.LogWarning("Overlap refresh for population {PopulationId} failed: {ExceptionType}", populationId, e.GetType().Name);
            }
        }
    }
}
