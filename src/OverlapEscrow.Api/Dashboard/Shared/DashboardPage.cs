using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application;
using OverlapEscrow.Domain;

namespace OverlapEscrow.Api.Dashboard.Shared;

/// <summary>
/// What every dashboard page shares: the caller as the use cases know it, field errors from a use case's validation
/// (shown next to the field they name, the same messages the API returns), a page-level message, and the "not found"
/// answer, which reads exactly like the API's 404 (a hidden thing and a missing thing look alike).
/// </summary>
public abstract class DashboardPage : PageModel
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The signed-in member as the use cases know it.</summary>
    public Caller Caller => HttpContext.RequestServices.GetRequiredService<CurrentUser>().Caller;

    /// <summary>Set when the page answers 404; the layout then shows only this.</summary>
    public string? NotFoundDetail { get; private set; }

    /// <summary>A message for the whole page (a conflict, a refusal), shown in an alert above the content.</summary>
    public string? Alert { get; set; }

    /// <summary>A confirmation of what just happened.</summary>
    public string? Notice { get; set; }

    /// <summary>The signed-in organization's name, for the header.</summary>
    public string? OrganizationName { get; private set; }

    public bool SignedIn => User.Identity?.IsAuthenticated == true && User.FindFirst(EscrowClaims.Organization) is not null;

    public string? Role => DashboardAuth.RoleOf(User);

    public string? Email => DashboardAuth.EmailOf(User);

    public bool HasErrors => _errors.Count > 0;

    public IReadOnlyList<string> ErrorsFor(string field) => _errors.TryGetValue(field, out var list) ? list : [];

    /// <summary>Errors whose field is not on the form (shown in the page's alert).</summary>
    public IEnumerable<string> OtherErrors(params string[] fieldsOnForm) =>
        _errors.Where(e => !fieldsOnForm.Any(f => e.Key.Equals(f, StringComparison.OrdinalIgnoreCase) || e.Key.StartsWith(f + ".", StringComparison.OrdinalIgnoreCase)
                || e.Key.StartsWith(f + "[", StringComparison.OrdinalIgnoreCase)))
            .SelectMany(e => e.Value);

    public void AddError(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
        list.Add(message);
    }

    /// <summary>Shows a use case's failure: field errors next to their fields, anything else as the page's alert.</summary>
    public void Show(Failure failure)
    {
        switch (failure)
        {
            case Failure.Invalid invalid:
                foreach (var e in invalid.Errors) AddError(e.Path, e.Message);
                break;
            default:
                Alert = failure.Detail;
                break;
        }
    }

    /// <summary>The page's 404: the detail of the use case's NotFound, worded as the API words it.</summary>
    public PageResult NotFoundPage(string detail)
    {
        NotFoundDetail = detail;
        Response.StatusCode = StatusCodes.Status404NotFound;
        return Page();
    }

    /// <summary>400 for a list's page link this page did not make (altered, or from another list), said where alerts show.</summary>
    public PageResult ForeignCursorPage()
    {
        Alert = "That page link is not one this page made; start again from the first page.";
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }

    /// <summary>403 for an action the member's role does not allow (the buttons are not offered; this catches a forged POST).</summary>
    public PageResult ForbiddenPage(string detail)
    {
        Alert = detail;
        NotFoundDetail = null;
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return Page();
    }

    /// <summary>The answer to a failure that stops the whole page: 404 for not found, otherwise the page with the alert.</summary>
    public PageResult Fail(Failure failure) => failure is Failure.NotFound nf ? NotFoundPage(nf.Detail) : Refuse(failure);

    /// <summary>The page as it is, with the failure shown on it (next to its fields, or as the alert) and its status.</summary>
    public PageResult Refuse(Failure failure)
    {
        Show(failure);
        Response.StatusCode = failure switch
        {
            Failure.Forbidden => StatusCodes.Status403Forbidden,
            Failure.Conflict => StatusCodes.Status409Conflict,
            Failure.NotFound => StatusCodes.Status404NotFound,
            Failure.Limited => StatusCodes.Status429TooManyRequests,
            _ => StatusCodes.Status400BadRequest,
        };
        return Page();
    }

    /// <summary>
    /// The query parameters that did not bind to their type (<c>?p=abc</c>, a number past its range), as a failure naming
    /// each: the page answers 400 rather than silently showing its default, as the API does.
    /// </summary>
    public Failure.Invalid? UnboundQuery()
    {
        var errors = new FieldErrors();
        foreach (var (key, entry) in ModelState)
            errors.Check(entry.Errors.Count == 0, key, $"{key} is not a valid value here.");
        return errors.All.Count == 0 ? null : new Failure.Invalid(errors.All);
    }

    public Task<bool> AllowsAsync(string policy) => DashboardAuth.AllowsAsync(HttpContext, policy);

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        if (SignedIn)
        {
            var accounts = HttpContext.RequestServices.GetRequiredService<Application.Accounts.Accounts>();
            OrganizationName = (await accounts.GetOrganizationAsync(Caller.OrganizationId, HttpContext.RequestAborted))?.Name;
        }
        await next();
    }
}
