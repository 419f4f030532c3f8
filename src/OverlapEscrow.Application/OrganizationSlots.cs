namespace OverlapEscrow.Application;

/// <summary>
/// Slots for work one instance does at once on behalf of organizations: at most <c>total</c> at once, at most
/// <c>perOrganization</c> of them for one organization, so that one organization's work (many schedules, pulls from a
/// source that hangs until the outbound timeout, many large uploads at once) cannot keep every other organization's
/// waiting or take all the memory. Used by the schedule runner (<c>ScheduleOptions.MaxConcurrentRuns</c>) and the
/// upload path (<c>UploadOptions.MaxConcurrent</c>). A holder can give its slot back for a while and take one again
/// (<see cref="OrganizationSlot"/>: a run waiting to retry). One that finds no slot free for its organization when it
/// takes one again waits; a released slot goes to the first such waiter it suits before a <see cref="TryTake"/> can
/// take it (so no waiter could take a slot that is free: <see cref="TryTake"/> takes what is left).
/// </summary>
public sealed class OrganizationSlots(int total, int perOrganization)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private readonly LinkedList<(string OrganizationId, TaskCompletionSource Taken)> _waiting = new();
    private int _total;

    /// <summary>Whether every slot is taken (no organization could start anything now).</summary>
    public bool AllTaken
    {
        get
        {
            lock (_gate) return _total >= total;
        }
    }

    /// <summary>Takes a slot for the organization if one is free for it now.</summary>
    public OrganizationSlot? TryTake(string organizationId)
    {
        lock (_gate) return TakeLocked(organizationId) ? new OrganizationSlot(this, organizationId) : null;
    }

    internal async Task TakeAsync(string organizationId, CancellationToken ct)
    {
        LinkedListNode<(string, TaskCompletionSource)> node;
        lock (_gate)
        {
            if (TakeLocked(organizationId)) return;
            node = _waiting.AddLast((organizationId, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
        }
        await using (ct.Register(() =>
                     {
                         lock (_gate)
                         {
                             if (node.List is null) return; // given a slot already: the caller holds it
                             _waiting.Remove(node);
                         }
                         node.Value.Item2.TrySetCanceled(ct);
                     }))
        {
            await node.Value.Item2.Task;
        }
    }

    internal void Release(string organizationId)
    {
        TaskCompletionSource? handed = null;
        lock (_gate)
        {
            _total--;
            if (--_held[organizationId] == 0) _held.Remove(organizationId);
            for (var node = _waiting.First; node is not null; node = node.Next)
            {
                if (!TakeLocked(node.Value.OrganizationId)) continue;
                _waiting.Remove(node);
                handed = node.Value.Taken;
                break;
            }
        }
        handed?.TrySetResult();
    }

    private bool TakeLocked(string organizationId)
    {
        var held = _held.GetValueOrDefault(organizationId);
        if (_total >= total || held >= perOrganization) return false;
        _total++;
        _held[organizationId] = held + 1;
        return true;
    }
}

/// <summary>One holder's slot: held from when it was taken, possibly given back for a while (a run waiting to retry), released on dispose.</summary>
public sealed class OrganizationSlot(OrganizationSlots slots, string organizationId) : IDisposable
{
    private bool _held = true;

    /// <summary>Gives the slot back for a while (a run waiting for its next attempt).</summary>
    public void Lend()
    {
        if (!_held) return;
        _held = false;
        slots.Release(organizationId);
    }

    /// <summary>Takes a slot again (a run's next attempt), waiting for one if none is free for the organization.</summary>
    public async Task TakeBackAsync(CancellationToken ct)
    {
        if (_held) return;
        await slots.TakeAsync(organizationId, ct);
        _held = true;
    }

    public void Dispose() => Lend();
}
