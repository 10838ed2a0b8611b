using System.Collections;
using System.Text.Json.Nodes;

namespace Meta.Gpu.Governance;

/// <summary>
/// The newest <c>max_history</c> entries (DESIGN §5 step 9), oldest first, in a ring allocated once, so that
/// appending never allocates.
/// </summary>
public sealed class MetaHistory : IReadOnlyList<MetaHistoryEntry>
{
    private readonly MetaHistoryEntry[] _ring;
    private int _start;

    public MetaHistory(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new MetaHistoryEntry[capacity];
    }

    public int Capacity => _ring.Length;

    public int Count { get; private set; }

    /// <summary>Entry <paramref name="index"/>, 0 being the oldest kept.</summary>
    public MetaHistoryEntry this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
            return _ring[(_start + index) % _ring.Length];
        }
    }

    /// <summary>The newest entry, if any.</summary>
    public bool TryGetNewest(out MetaHistoryEntry newest)
    {
        if (Count == 0)
        {
            newest = default;
            return false;
        }
        newest = _ring[(_start + Count - 1) % _ring.Length];
        return true;
    }

    private int _rollbacks;

    /// <summary>How many kept entries did not roll back. Kept as a running count: every <c>Update</c> asks, and a
    /// scan of a long history (max_history may be a million) made a long run quadratic (160,000 calls at
    /// max_history 1e6: 95 s instead of under one).</summary>
    public int CountWithoutRollback() => Count - _rollbacks;

    /// <summary>Appends an entry, dropping the oldest when full.</summary>
    public void Add(in MetaHistoryEntry entry)
    {
        if (entry.Rollback) _rollbacks++;
        if (Count < _ring.Length)
        {
            _ring[(_start + Count) % _ring.Length] = entry;
            Count++;
        }
        else
        {
            if (_ring[_start].Rollback) _rollbacks--;
            _ring[_start] = entry;
            _start = (_start + 1) % _ring.Length;
        }
    }

    /// <summary>The kept entries as a JSON array (the <c>meta_event_log</c>), oldest first.</summary>
    public JsonArray ToJson() => WirePayload.Of(BuildJson());

    internal JsonArray BuildJson()
    {
        var array = new JsonArray();
        for (var i = 0; i < Count; i++) array.Add(this[i].BuildJson());
        return array;
    }

    public IEnumerator<MetaHistoryEntry> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
