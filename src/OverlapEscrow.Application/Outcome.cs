using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Application;

/// <summary>
/// Why a use case did not do what was asked, in terms the host maps to a problem response: the request named
/// something that does not exist for the caller, was invalid, conflicts with the current state, or is not allowed.
/// Details describe the problem and never quote partner data.
/// </summary>
public abstract record Failure(string Detail)
{
    /// <summary>Nothing of that kind with that id is visible to the caller (hidden and absent answer alike).</summary>
    public sealed record NotFound(string What) : Failure($"No {What} with that id is visible to you.");

    public sealed record Invalid(IReadOnlyList<FieldError> Errors) : Failure("See errors for each field.")
    {
        public static Invalid Of(string path, string message) => new([new FieldError(path, message)]);
    }

    public sealed record Conflict(string Reason) : Failure(Reason);

    public sealed record Forbidden(string Reason) : Failure(Reason);

    /// <summary>A volume limit of the caller's is reached (the host answers 429).</summary>
    public sealed record Limited(string Reason) : Failure(Reason);
}

/// <summary>A use case's answer: a value, or the failure that stopped it.</summary>
public readonly struct Outcome<T>
{
    private Outcome(T? value, Failure? failure) => (Value, Failure) = (value, failure);

    public T? Value { get; }
    public Failure? Failure { get; }

    public bool Succeeded => Failure is null;

    public static implicit operator Outcome<T>(T value) => new(value, null);
    public static implicit operator Outcome<T>(Failure failure) => new(default, failure);
}
