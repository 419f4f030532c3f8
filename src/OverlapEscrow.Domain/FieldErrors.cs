namespace OverlapEscrow.Domain;

/// <summary>A validation error of a request: the JSON path of the field (camelCase) and what is wrong, never the value.</summary>
public sealed record FieldError(string Path, string Message);

/// <summary>Collects field errors in the order they are found.</summary>
public sealed class FieldErrors
{
    private readonly List<FieldError> _errors = [];

    public bool Any => _errors.Count > 0;
    public IReadOnlyList<FieldError> All => _errors;

    public FieldErrors Check(bool ok, string path, string message)
    {
        if (!ok) Add(path, message);
        return this;
    }

    public void Add(string path, string message) => _errors.Add(new FieldError(path, message));
}
