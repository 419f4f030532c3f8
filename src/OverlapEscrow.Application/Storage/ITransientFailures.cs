namespace OverlapEscrow.Application.Storage;

/// <summary>
/// Whether a unit of work failed in a way the database asks to be retried: it was chosen as a deadlock's victim, or could
/// not be serialized. Nothing of it was kept (the whole transaction rolled back), so running it again is safe when it
/// did nothing outside the database before its commit.
/// </summary>
public interface ITransientFailures
{
    bool IsRetryable(Exception exception);
}
