using System.Buffers;

namespace Libp2p.Protocols.Muxing;

/// <summary>Parses whole frames from the start of <paramref name="data"/>; returns the bytes it used.</summary>
internal delegate int FrameParser(ReadOnlySpan<byte> data, ICollection<MuxerEvent> events);

/// <summary>
/// How many bytes the frame at the start of <paramref name="data"/> needs in all: more than
/// <paramref name="data"/> holds while it is cut short (a header cut short needs at least one more
/// byte). Throws <see cref="FormatException"/> for a length over the protocol's limit, so nothing
/// is buffered for it.
/// </summary>
internal delegate int FrameSize(ReadOnlySpan<byte> data);

/// <summary>
/// The bytes of a frame that arrived only in part, kept until the rest comes. The common case,
/// input that holds only whole frames, is parsed in place without copying. A kept frame is
/// copied into a buffer that grows with what arrived (doubling, never past the frame's size, so a
/// frame announced large but never sent costs nothing), charged to the memory account, and given
/// back as soon as the frame is whole.
/// </summary>
internal sealed class PartialInput(string protocol, IMemoryAccount? memory)
{
    /// <summary>Buffers up to one Noise message come from the shared pool (which rounds up to a power of two); larger ones are allocated at their exact size.</summary>
    private const int PooledUpTo = 64 * 1024;

    private const int MinimumSize = 4096;

    private byte[] _buffer = [];
    private bool _pooled;
    private int _length;
    private long _charged;
    // The charge of a frame just completed, while its parser may take it over.
    private long _handover;

    /// <summary>Bytes held for a partly received frame (the buffer's size, which is what is charged).</summary>
    public int Held => _buffer.Length;

    /// <summary>Parses <paramref name="input"/> after whatever was kept, keeping what is left over.</summary>
    public void Receive(ReadOnlySpan<byte> input, FrameParser parse, FrameSize size, ICollection<MuxerEvent> events)
    {
        // Complete the kept frame first, taking from the input only what it needs.
        while (_length > 0)
        {
            var needed = size(_buffer.AsSpan(0, _length));
            if (needed > _length)
            {
                if (input.IsEmpty)
                    return;
                var take = Math.Min(needed - _length, input.Length);
                Append(input[..take], needed);
                input = input[take..];
                continue; // a header just completed may announce a payload
            }
            // The whole frame passes to its stream now, which charges its payload as unread data:
            // the buffer's charge is handed over to it (TakeHandover), so the frame is not counted
            // twice, and what the parser does not take goes back only after it. Giving it all back
            // first would let the lease return it up the path before the stream asked for it again.
            _handover = _charged;
            _charged = 0;
            var used = parse(_buffer.AsSpan(0, _length), events);
            if (used == 0)
            {
                GiveBackHandover();
                return; // the session closed while parsing
            }
            _buffer.AsSpan(used, _length - used).CopyTo(_buffer);
            _length -= used;
            if (_length > 0)
            {
                // The buffer stays: it keeps what is left of its charge before asking for more.
                _charged = TakeHandover(_buffer.Length);
                Charge(_buffer.Length, needed);
            }
            GiveBackHandover();
        }
        Release();
        if (input.IsEmpty)
            return;
        var consumed = parse(input, events);
        var rest = input[consumed..];
        if (!rest.IsEmpty)
            Append(rest, size(rest));
    }

    /// <summary>
    /// Takes over up to <paramref name="bytes"/> of what the frame being parsed was charged as it
    /// arrived in part: the parser charges only the rest. Zero outside a parse of a kept frame.
    /// </summary>
    public long TakeHandover(long bytes)
    {
        var taken = Math.Clamp(bytes, 0, _handover);
        _handover -= taken;
        return taken;
    }

    private void GiveBackHandover()
    {
        if (_handover > 0)
            memory?.Release(_handover);
        _handover = 0;
    }

    /// <summary>Forgets what was kept and gives its buffer back (the session failed or is gone).</summary>
    public void Clear()
    {
        GiveBackHandover();
        _length = 0;
        Release();
    }

    private void Append(ReadOnlySpan<byte> bytes, int needed)
    {
        if (bytes.IsEmpty)
            return;
        var required = _length + bytes.Length;
        // Doubling, but never by more than twice what just arrived: one read's bytes then cost at
        // most twice themselves in new memory, which the connection has approved before reading.
        if (_buffer.Length < required)
            Grow(Math.Min(needed, Math.Max(required, Math.Max(MinimumSize, Math.Min(_buffer.Length * 2, required + bytes.Length)))), needed);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    private void Grow(int size, int frame)
    {
        var pooled = size <= PooledUpTo;
        var buffer = pooled ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);
        if (!TryCharge(buffer.Length - _charged))
        {
            if (pooled)
                ArrayPool<byte>.Shared.Return(buffer);
            throw new FormatException($"{protocol}: a frame of {frame} bytes arrived in part and the connection's memory account refused the {buffer.Length - _charged} more bytes to hold it");
        }
        _buffer.AsSpan(0, _length).CopyTo(buffer);
        if (_pooled)
            ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = buffer;
        _pooled = pooled;
    }

    private bool TryCharge(long more)
    {
        if (more <= 0 || memory?.TryReserve(more) != false)
        {
            _charged += Math.Max(0, more);
            return true;
        }
        return false;
    }

    private void Charge(long size, int frame)
    {
        if (!TryCharge(size - _charged))
            throw new FormatException($"{protocol}: a frame of {frame} bytes arrived in part and the connection's memory account refused the {size - _charged} bytes to hold it");
    }

    private void Uncharge()
    {
        if (_charged > 0)
            memory?.Release(_charged);
        _charged = 0;
    }

    private void Release()
    {
        Uncharge();
        if (_buffer.Length == 0)
            return;
        if (_pooled)
            ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _pooled = false;
    }
}
