namespace OverlapEscrow.Application.Schedules;

/// <summary>
/// The run slots of one instance: at most <c>total</c> attempts at once, at most <c>perOrganization</c> of them for
/// one organization, so that one organization's schedules (many of them, or pulls from a source that hangs until the
/// outbound timeout) cannot keep every other organization's runs waiting. A run holds its slot while an attempt
/// works and gives it back while it waits to retry (<see cref="RunSlot"/>). A retry that finds no slot free for its
/// organization waits for one; a released slot goes to the first such retry it suits before the next poll can take
/// it (so no waiting retry could take a slot that is free: a poll's <see cref="TryTake"/> takes what is left).
/// </summary>
public sealed class RunSlots(int total, int perOrganization)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private readonly LinkedList<(string OrganizationId, TaskCompletionSource Taken)> _waiting = new();
    private int _total;

    /// <summary>Whether every slot is taken (no organization could start a run now).</summary>
    public bool AllTaken
    {
        get
        {
            lock (_gate) return _total >= total;
        }
    }

    /// <summary>Takes a slot for the organization if one is free for it now.</summary>
    public RunSlot? TryTake(string organizationId)
    {
        lock (_gate) return TakeLocked(organizationId) ? new RunSlot(this, organizationId) : null;
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

/// <summary>One run's slot: held from the start of the run, given back while it waits to retry, released at the end.</summary>
public sealed class RunSlot(RunSlots slots, string organizationId) : IDisposable
{
    private bool _held = true;

    /// <summary>Gives the slot back while the run waits for its next attempt.</summary>
    public void Lend()
    {
        if (!_held) return;
        _held = false;
        slots.Release(organizationId);
    }

    /// <summary>Takes a slot again for the next attempt, waiting for one if none is free for the organization.</summary>
    public async Task TakeBackAsync(CancellationToken ct)
    {
        if (_held) return;
        await slots.TakeAsync(organizationId, ct);
        _held = true;
    }

    public void Dispose() => Lend();
}
