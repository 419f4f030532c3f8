using System.Data.Common;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Data;

/// <summary>
/// SQLSTATE 40P01 (deadlock detected) and 40001 (serialization failure), whose transaction PostgreSQL rolled back whole.
/// Not every error a driver calls transient: a connection lost during a commit leaves its outcome unknown. SQLite takes
/// its one write lock first and has neither.
/// </summary>
internal sealed class TransientFailures : ITransientFailures
{
    public bool IsRetryable(Exception exception) => exception is DbException { SqlState: "40P01" or "40001" };
}
