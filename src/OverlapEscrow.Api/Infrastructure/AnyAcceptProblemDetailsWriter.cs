namespace OverlapEscrow.Api.Infrastructure;

/// <summary>
/// Makes every error answer problem+json, whatever the Accept header. The framework's problem details writer
/// writes only when Accept allows JSON: for a request that prefers <c>text/csv</c> (a CSV export) or
/// <c>text/html</c> (a browser) it declines, and <c>UseStatusCodePages</c> then answers the framework's own
/// 401, 403, 404 and 405 as <c>text/plain</c>. This writer hands every problem to the framework's writer anyway,
/// so the body is the same as for a JSON client: the RFC 9110 type and title of the status by default, and
/// <see cref="ProblemDetailsOptions.CustomizeProblemDetails"/> applied.
/// </summary>
public sealed class AnyAcceptProblemDetailsWriter(IProblemDetailsWriter framework) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context) => framework.WriteAsync(context);

    /// <summary>Wraps the writer that <c>AddProblemDetails</c> registered; call it right after.</summary>
    public static IServiceCollection Register(IServiceCollection services)
    {
        // The only writer at this point is the framework's (no MVC here); a second one would be ambiguous, so it fails at start-up.
        var descriptor = services.Single(d => d.ServiceType == typeof(IProblemDetailsWriter));
        var type = descriptor.ImplementationType
            ?? throw new InvalidOperationException("The framework's problem details writer is not registered by type.");
        services.Remove(descriptor);
        return services.AddSingleton<IProblemDetailsWriter>(sp =>
            new AnyAcceptProblemDetailsWriter((IProblemDetailsWriter)ActivatorUtilities.CreateInstance(sp, type)));
    }
}
