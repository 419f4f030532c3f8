using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Runtime.InteropServices;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// The tokens of one type of a few records of a version, found from the type's sorted column for one computation: one
/// pass over the column's ordinals picks the entries of the records asked for. What a version would otherwise keep
/// for all its records (<see cref="PopulationData"/>'s per-record tokens), built only for the records a computation
/// asks about, in arrays rented from the shared pool and returned (the tokens zeroed first) on <see cref="Dispose"/>.
/// </summary>
internal sealed class SomeRecordTokens : IDisposable
{
    private readonly ulong[] _wanted;
    private readonly int[] _slot;
    private readonly int[] _start;
    private readonly Token[] _tokens;
    private readonly int _tokenCount;

    private SomeRecordTokens(ulong[] wanted, int[] slot, int[] start, Token[] tokens, int tokenCount) =>
        (_wanted, _slot, _start, _tokens, _tokenCount) = (wanted, slot, start, tokens, tokenCount);

    /// <summary>The tokens of the record at an ordinal (empty for a record not asked for, or without tokens of the type).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<Token> Of(int ordinal)
    {
        if ((_wanted[ordinal >> 6] & (1UL << ordinal)) == 0) return default;
        var s = _slot[ordinal];
        return _tokens.AsSpan(_start[s], _start[s + 1] - _start[s]);
    }

    /// <summary>The tokens of the records of one side of the pairs (<paramref name="theirSide"/>: the second ordinal; they may repeat).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static SomeRecordTokens Of(TokenIndex index, int recordCount, ReadOnlySpan<(int Mine, int Theirs)> pairs, bool theirSide)
    {
        // Which records are asked for (a bit each) and, for each, its slot: only the slots of those bits are ever read,
        // so the rented array is not cleared.
        var wanted = ArrayPool<ulong>.Shared.Rent((recordCount + 63) >> 6);
        Array.Clear(wanted, 0, (recordCount + 63) >> 6);
        var slot = ArrayPool<int>.Shared.Rent(Math.Max(recordCount, 1));
        var records = 0;
        foreach (var pair in pairs)
        {
            var o = theirSide ? pair.Theirs : pair.Mine;
            ref var word = ref wanted[o >> 6];
            if ((word & (1UL << o)) != 0) continue;
            word |= 1UL << o;
            slot[o] = records++;
        }
        // Counted per slot, then running ends; filled from the column's end backwards, each slot's end moves down to its start.
        var start = ArrayPool<int>.Shared.Rent(records + 1);
        Array.Clear(start, 0, records + 1);
        var ordinals = index.Ordinals;
        var count = 0;
        foreach (var o in ordinals)
            if ((wanted[o >> 6] & (1UL << o)) != 0) { start[slot[o]]++; count++; }
        for (int s = 0, sum = 0; s < records; s++) start[s] = sum += start[s];
        start[records] = count;
        var tokens = ArrayPool<Token>.Shared.Rent(Math.Max(count, 1));
        var column = index.Tokens;
        for (var p = ordinals.Length - 1; p >= 0; p--)
        {
            var o = ordinals[p];
            if ((wanted[o >> 6] & (1UL << o)) != 0) tokens[--start[slot[o]]] = column[p];
        }
        return new SomeRecordTokens(wanted, slot, start, tokens, count);
    }

    public void Dispose()
    {
        // The tokens are an organization's: not left in a buffer others rent.
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(_tokens.AsSpan(0, _tokenCount)));
        ArrayPool<Token>.Shared.Return(_tokens);
        ArrayPool<int>.Shared.Return(_start);
        ArrayPool<int>.Shared.Return(_slot);
        ArrayPool<ulong>.Shared.Return(_wanted);
    }
}
