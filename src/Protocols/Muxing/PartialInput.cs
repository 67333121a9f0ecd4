namespace Libp2p.Protocols.Muxing;

/// <summary>Parses whole frames from the start of <paramref name="data"/>; returns the bytes it used.</summary>
internal delegate int FrameParser(ReadOnlySpan<byte> data, ICollection<MuxerEvent> events);

/// <summary>
/// The bytes of a frame that arrived only in part, kept until the rest comes. The common case,
/// input that holds only whole frames, is parsed in place without copying.
/// </summary>
internal sealed class PartialInput
{
    private byte[] _buffer = [];
    private int _length;

    /// <summary>Parses <paramref name="input"/> after whatever was kept, keeping what is left over.</summary>
    public void Receive(ReadOnlySpan<byte> input, FrameParser parse, ICollection<MuxerEvent> events)
    {
        if (_length == 0)
        {
            var used = parse(input, events);
            Keep(input[used..]);
            return;
        }
        Keep(input);
        var consumed = parse(_buffer.AsSpan(0, _length), events);
        _buffer.AsSpan(consumed, _length - consumed).CopyTo(_buffer);
        _length -= consumed;
    }

    /// <summary>Forgets what was kept (the session failed).</summary>
    public void Clear() => _length = 0;

    private void Keep(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
            return;
        if (_buffer.Length < _length + bytes.Length)
            Array.Resize(ref _buffer, Math.Max(_length + bytes.Length, Math.Max(64 * 1024, _buffer.Length * 2)));
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }
}
