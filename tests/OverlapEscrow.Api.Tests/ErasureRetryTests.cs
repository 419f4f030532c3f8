using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Organizations;
using OverlapEscrow.Application.Storage;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// An erasure destroys the keys first, then deletes the rows in one transaction. On PostgreSQL under load that
/// transaction can be chosen as a deadlock's victim and rolled back (a two-instance trial, 2026-12-04: 2 of 15); the
/// erasure must then try again rather than answer 503 with the organization's rows and open partnerships still in place.
/// Here the erasure's first transaction is rolled back as PostgreSQL rolls back a victim, and the commit fails with
/// SQLSTATE 40P01, on either database.
/// </summary>
public sealed class ErasureRetryTests : IDisposable
{
    private readonly EscrowApp _app;
    private int _rolledBack;

    public ErasureRetryTests()
    {
        _app = new EscrowApp
        {
            TestServices = services =>
            {
                var original = services.Last(d => d.ServiceType == typeof(ITransactions));
                services.Remove(original);
                services.AddSingleton<ITransactions>(sp => new FirstErasureRolledBack((ITransactions)original.ImplementationFactory!(sp), this));
            },
        };
    }

    public void Dispose() => _app.Dispose();

    private sealed class FirstErasureRolledBack(ITransactions inner, ErasureRetryTests test) : ITransactions
    {
        public async Task<IUnitOfWork> BeginAsync(CancellationToken ct)
        {
            var uow = await inner.BeginAsync(ct);
            return new StackTrace().ToString().Contains(nameof(OrganizationErasure), StringComparison.Ordinal) && Interlocked.Exchange(ref test._rolledBack, 1) == 0
                ? new VictimOnCommit(uow)
                : uow;
        }

        public Task<IUnitOfWork> BeginReadAsync(CancellationToken ct) => inner.BeginReadAsync(ct);
    }

    /// <summary>Does everything its transaction does, then rolls it back and fails as a deadlock's victim does.</summary>
    private sealed class VictimOnCommit(IUnitOfWork inner) : IUnitOfWork
    {
        public IAccountRepository Accounts => inner.Accounts;
        public IPopulationRepository Populations => inner.Populations;
        public IPartnershipRepository Partnerships => inner.Partnerships;
        public IAuditRepository Audit => inner.Audit;
        public IOverlapHistoryRepository History => inner.History;
        public ICountReleaseRepository Releases => inner.Releases;
        public IHealthReleaseRepository HealthReleases => inner.HealthReleases;
        public IWebhookRepository Webhooks => inner.Webhooks;
        public IScheduleRepository Schedules => inner.Schedules;
        public IDataRequestRepository DataRequests => inner.DataRequests;
        public IAttributionRepository Attributions => inner.Attributions;
        public IVersionColumnStore VersionColumns => inner.VersionColumns;
        public IOrganizationErasureStore Erasure => inner.Erasure;
        public IEventOutbox Outbox => inner.Outbox;
        public IRefreshQueueRepository RefreshQueue => inner.RefreshQueue;
        public void AfterCommit(Action action) => inner.AfterCommit(action);
        public ValueTask DisposeAsync() => inner.DisposeAsync();

        public async Task CommitAsync(CancellationToken ct)
        {
            await inner.DisposeAsync(); // rolled back, as PostgreSQL rolls back the transaction it chose as a victim
            throw new Npgsql.PostgresException("deadlock detected", "ERROR", "ERROR", "40P01");
        }
    }

    [Fact]
    public async Task AnErasureWhoseTransactionTheDatabaseRolledBackAsADeadlocksVictimTriesAgainAndFinishes()
    {
        var gone = await _app.SignupAsync("retried");
        var partner = await _app.SignupAsync("stays-on");
        var population = await gone.CreatePopulationAsync("Customers");
        await gone.UploadOkAsync(population, Records.Range("R", 0, 10));
        var partnershipId = await gone.PartnerAsync(partner);

        var deleted = await gone.Http.PostAsJsonAsync("/v1/organization/delete", new { confirmSlug = "retried" });

        await Expect(deleted, HttpStatusCode.OK);
        Assert.Equal(1, _rolledBack);
        Assert.Contains(_app.Logs, line => line.Contains("attempt 1 was rolled back by the database (PostgresException)", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Unauthorized, (await gone.Http.GetAsync("/v1/me")).StatusCode);
        var seen = await Json(await partner.Http.GetAsync($"/v1/partnerships/{partnershipId}"));
        Assert.Equal("terminated", seen["status"]!.GetValue<string>());
    }
}
