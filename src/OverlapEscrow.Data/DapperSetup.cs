namespace OverlapEscrow.Data;

public static class DapperSetup
{
    /// <summary>Maps snake_case columns onto PascalCase properties; idempotent.</summary>
    public static void Configure() => Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true;
}
