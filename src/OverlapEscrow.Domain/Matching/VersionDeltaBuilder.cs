using System.Text;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// The stored columns of a delta's version (<see cref="VersionColumns"/>), built from its base version's stored columns
/// and record blocks and the delta's own records, with no object per record of the base: the base's records are copied
/// from its blocks as they are stored, each with its tokens from the base's columns, and merged in id order with the
/// delta's (a delta record replaces the base record with its id, a deletion removes it). The parts are those a
/// <see cref="PopulationData.Materialize"/> of the chain would encode (same records, ordinals, columns, attribute names),
/// as <see cref="VersionColumnsBuilder"/> builds them for an upload.
/// </summary>
public sealed class VersionDeltaBuilder
{
    private readonly VersionColumnsBuilder _builder = new();
    private readonly int _baseCount;
    private readonly string[] _baseFirstIds;

    // The base's tokens by record (compressed sparse rows): record o holds _tokens[_start[o] .. _start[o + 1]).
    private int[] _start;
    private Token[] _tokens;
    private IdentifierType[] _types;

    // The delta's records ordered by id, with their ids in UTF-8 (compared as the blocks store them).
    private readonly EscrowRecord[] _delta;
    private readonly byte[][] _deltaIds;
    private int _nextDelta;
    private int _baseRead;
    private int _blocksRead;

    /// <param name="baseColumns">The base version read from its stored columns (no records needed).</param>
    /// <param name="delta">The delta's records and deletions, each id once (as an upload guarantees).</param>
    public VersionDeltaBuilder(PopulationData baseColumns, IEnumerable<EscrowRecord> delta)
    {
        _baseCount = baseColumns.RecordCount;
        _baseFirstIds = [.. baseColumns.BlockFirstIds];
        var start = new int[_baseCount + 1];
        var total = 0;
        foreach (var type in IdentifierTypes.All)
        {
            var (tokens, ordinals) = baseColumns.Column(type);
            total += tokens.Length;
            foreach (var o in ordinals) start[o]++;
        }
        for (int o = 0, sum = 0; o < _baseCount; o++) start[o] = sum += start[o];
        start[_baseCount] = total;
        _tokens = ColumnArrays.Uninitialized<Token>(total);
        _types = new IdentifierType[total];
        // Filled from each column's end backwards: a record's end moves down to its start, every slot written once.
        foreach (var type in IdentifierTypes.All)
        {
            var (tokens, ordinals) = baseColumns.Column(type);
            for (var p = tokens.Length - 1; p >= 0; p--)
            {
                var at = --start[ordinals[p]];
                (_tokens[at], _types[at]) = (tokens[p], type);
            }
        }
        _start = start;

        _delta = [.. delta];
        _deltaIds = [.. _delta.Select(r => Encoding.UTF8.GetBytes(r.RecordId))];
        var order = Enumerable.Range(0, _delta.Length).ToArray();
        Array.Sort(order, (a, b) => VersionColumnsBuilder.CompareIds(_deltaIds[a], _deltaIds[b]));
        _delta = [.. order.Select(i => _delta[i])];
        _deltaIds = [.. order.Select(i => _deltaIds[i])];
        for (var i = 1; i < _deltaIds.Length; i++)
            if (VersionColumnsBuilder.CompareIds(_deltaIds[i - 1], _deltaIds[i]) == 0)
                throw new InvalidDataException("A delta holds a record id twice.");
    }

    /// <summary>Number of record blocks of the base, to be given in order to <see cref="AddBaseBlock"/>.</summary>
    public int BaseBlockCount => _baseFirstIds.Length;

    /// <summary>The plaintext of the base's next record block (blocks in order, each once).</summary>
    /// <exception cref="InvalidDataException">The block is not the next one, holds another count of records, or does not start where the base's header says.</exception>
    public void AddBaseBlock(int block, ReadOnlySpan<byte> plaintext)
    {
        if (block != _blocksRead || block >= _baseFirstIds.Length) throw new InvalidDataException("The base's record blocks come out of order.");
        if (plaintext.IsEmpty || !RecordCodec.RecordIdBytes(plaintext).SequenceEqual(Encoding.UTF8.GetBytes(_baseFirstIds[block])))
            throw new InvalidDataException($"Record block {block} of the base does not start where its header says.");
        var first = _baseRead;
        var count = VersionColumnsBuilder.ForEachIn(plaintext, AddBase);
        if (count != VersionColumns.RecordsIn(block, _baseCount) || _baseRead != first + count)
            throw new InvalidDataException($"Record block {block} of the base holds another count of records than its header says.");
        _blocksRead++;
    }

    private void AddBase(ReadOnlySpan<byte> record)
    {
        var id = RecordCodec.RecordIdBytes(record);
        var c = 1;
        while (_nextDelta < _delta.Length && (c = VersionColumnsBuilder.CompareIds(_deltaIds[_nextDelta], id)) < 0) AddDelta(_nextDelta++);
        var o = _baseRead++;
        if (_nextDelta < _delta.Length && c == 0)
        {
            AddDelta(_nextDelta++); // replaces the base's record (or deletes it)
            return;
        }
        var from = _start[o];
        var to = _start[o + 1];
        if (!_builder.AddStored(record, _tokens.AsSpan(from, to - from), _types.AsSpan(from, to - from)))
            throw new InvalidDataException("The base's records are not in id order.");
    }

    private void AddDelta(int i)
    {
        if (!_delta[i].Deleted && !_builder.Add(_delta[i])) throw new InvalidDataException("The base's records are not in id order.");
    }

    /// <summary>The new version's full record blocks not handed out yet (part number and plaintext): store them as they come.</summary>
    public IReadOnlyList<(long Part, byte[] Plaintext)> TakeReadyBlocks() => _builder.TakeReadyBlocks();

    /// <summary>
    /// Once every base block is in: the rest of the new version's parts (header first, then the token columns, then the
    /// record blocks not handed out), produced as enumerated, each plaintext valid until the next is asked for.
    /// </summary>
    public IEnumerable<(long Part, byte[] Plaintext)> Build()
    {
        if (_blocksRead != _baseFirstIds.Length || _baseRead != _baseCount)
            throw new InvalidDataException("The base's record blocks are incomplete.");
        while (_nextDelta < _delta.Length) AddDelta(_nextDelta++);
        // Every base record is in: its tokens by record can go before the builder sorts its own (17 bytes a token).
        (_start, _tokens, _types) = ([], [], []);
        return _builder.Build(reuseBuffers: true);
    }
}
