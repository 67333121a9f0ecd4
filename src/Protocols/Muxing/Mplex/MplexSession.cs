using System.Buffers;
using System.Globalization;
using System.Text;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Muxing.Mplex;

/// <summary>
/// An mplex session (<c>/mplex/6.7.0</c>) as a sans-IO state machine. Stream IDs are per opener:
/// the same number can name one stream this side opened and another the remote opened, so the
/// session's <c>long</c> stream IDs are <c>2n</c> for ours and <c>2n + 1</c> for theirs.
/// </summary>
public sealed class MplexSession : MuxerSessionBase
{
    /// <summary>The protocol ID.</summary>
    public const string ProtocolId = "/mplex/6.7.0";

    private enum Flag : byte
    {
        NewStream = 0,
        MessageReceiver = 1,
        MessageInitiator = 2,
        CloseReceiver = 3,
        CloseInitiator = 4,
        ResetReceiver = 5,
        ResetInitiator = 6,
    }

    private readonly MplexOptions _options;
    private readonly Dictionary<long, MplexStream> _streams = new();
    private readonly HashSet<long> _laggards = [];
    // Streams closed both ways whose last bytes the reader has not taken yet: still charged.
    private readonly Dictionary<long, MplexStream> _closedUnread = new();
    private readonly byte[] _header = new byte[2 * Varint.MaxLength];
    private ulong _nextId;
    private int _inboundStreams;
    private long _unread;

    /// <summary>Starts a session.</summary>
    public MplexSession(MplexOptions? options = null) : base("mplex", options?.Memory) => _options = options ?? MplexOptions.Default;

    /// <summary>Inbound bytes delivered as <see cref="MuxerEvent.Data"/> that readers have not taken yet, all streams together.</summary>
    internal long UnreadBytes => _unread;

    /// <inheritdoc />
    public override string Protocol => ProtocolId;

    /// <inheritdoc />
    /// <inheritdoc />
    public override bool ChargesReads => _options.Memory is not null;

    /// <inheritdoc />
    public override long OpenStream()
    {
        if (IsClosed)
            throw new MuxerException("mplex: the session is closed");
        var number = _nextId++;
        var id = (long)number * 2;
        _streams[id] = new MplexStream(number, initiator: true);
        Enqueue(number, Flag.NewStream, System.Text.Encoding.ASCII.GetBytes(number.ToString(CultureInfo.InvariantCulture)));
        return id;
    }

    /// <inheritdoc />
    public override int SendCapacity(long streamId) =>
        _streams.TryGetValue(streamId, out var s) && !s.LocalClosed ? int.MaxValue : 0;

    /// <inheritdoc />
    public override int Send(long streamId, ReadOnlySpan<byte> data)
    {
        if (IsClosed || !_streams.TryGetValue(streamId, out var stream))
            return 0;
        if (stream.LocalClosed)
            throw new MuxerException($"mplex: stream {streamId} is closed for writing");
        var flag = stream.Initiator ? Flag.MessageInitiator : Flag.MessageReceiver;
        var sent = 0;
        do
        {
            var header = HeaderLength(stream.Number, flag, data.Length - sent);
            var part = Math.Min(data.Length - sent, _options.MaxFrameSize - header);
            Enqueue(stream.Number, flag, data.Slice(sent, part));
            sent += part;
        }
        while (sent < data.Length);
        return data.Length;
    }

    /// <inheritdoc />
    public override void Consumed(long streamId, int bytes)
    {
        if (_streams.TryGetValue(streamId, out var stream))
        {
            Unbuffer(stream, bytes);
            if (stream.Unread <= _options.MaxStreamBuffer)
                _laggards.Remove(streamId);
        }
        else if (_closedUnread.TryGetValue(streamId, out stream))
        {
            Unbuffer(stream, bytes);
            if (stream.Unread == 0)
                _closedUnread.Remove(streamId);
        }
    }

    /// <inheritdoc />
    public override bool InputPaused => _laggards.Count > 0;

    /// <inheritdoc />
    public override void ShedLaggards(ICollection<MuxerEvent> events)
    {
        foreach (var id in _laggards.ToArray())
        {
            Reset(id);
            events.Add(new MuxerEvent.StreamReset(id, $"the reader stayed more than {_options.MaxStreamBuffer} bytes behind"));
        }
        _laggards.Clear();
    }

    /// <inheritdoc />
    public override void CloseWrite(long streamId)
    {
        if (IsClosed || !_streams.TryGetValue(streamId, out var stream) || stream.LocalClosed)
            return;
        stream.LocalClosed = true;
        Enqueue(stream.Number, stream.Initiator ? Flag.CloseInitiator : Flag.CloseReceiver, []);
        ForgetIfDone(streamId, stream, null);
    }

    /// <inheritdoc />
    public override void CloseRead(long streamId)
    {
        if (_streams.TryGetValue(streamId, out var stream))
        {
            stream.ReadClosed = true;
            Unbuffer(stream, stream.Unread);
            _laggards.Remove(streamId);
        }
        else if (_closedUnread.Remove(streamId, out stream))
        {
            Unbuffer(stream, stream.Unread);
        }
    }

    /// <inheritdoc />
    public override void Reset(long streamId)
    {
        _laggards.Remove(streamId);
        if (_closedUnread.Remove(streamId, out var closed))
            Unbuffer(closed, closed.Unread);
        if (IsClosed || !_streams.Remove(streamId, out var stream))
            return;
        // The owner drops what the reader had not taken: its charge goes with it.
        Unbuffer(stream, stream.Unread);
        // Resetting a stream the remote opened answers the remote: counted against its bound.
        Enqueue(stream.Number, stream.Initiator ? Flag.ResetInitiator : Flag.ResetReceiver, [], stream.Initiator ? FrameKind.Local : FrameKind.Answer);
        if (!stream.Initiator)
            _inboundStreams--;
    }

    /// <inheritdoc />
    public override bool Ping() => false;

    /// <inheritdoc />
    public override void Close()
    {
        if (IsClosed)
            return;
        // mplex has no go-away: like go-mplex, reset what is still open and stop.
        foreach (var (id, _) in _streams.ToArray())
            Reset(id);
        IsClosed = true;
    }

    private protected override int Parse(ReadOnlySpan<byte> data, ICollection<MuxerEvent> events)
    {
        var offset = 0;
        while (!IsClosed)
        {
            var rest = data[offset..];
            if (Varint.TryRead(rest, out var header, out var headerLength) is var status && status != OperationStatus.Done)
            {
                if (status == OperationStatus.InvalidData)
                    throw new FormatException("mplex: the header is not a valid varint");
                break;
            }
            var flag = (byte)(header & 7);
            if (flag > (byte)Flag.ResetInitiator)
                throw new FormatException($"mplex: unknown message flag {flag}");
            status = Varint.TryRead(rest[headerLength..], out var length, out var lengthLength);
            if (status == OperationStatus.InvalidData)
                throw new FormatException("mplex: the length is not a valid varint");
            if (status == OperationStatus.NeedMoreData)
                break;
            if (length > (ulong)_options.MaxMessageSize)
                throw new FormatException($"mplex: a message of {length} bytes is over the limit of {_options.MaxMessageSize}");
            var start = headerLength + lengthLength;
            if (rest.Length - start < (int)length)
                break;
            Handle(header >> 3, (Flag)flag, rest.Slice(start, (int)length), events);
            offset += start + (int)length;
            // A remote that keeps opening streams we reset, without reading the resets, would grow the queue without end.
            if (Output.Answers > _options.MaxQueuedAnswers)
                throw new FormatException($"mplex: the remote made this side queue {Output.Answers} resets without reading them");
        }
        return offset;
    }

    private void Handle(ulong number, Flag flag, ReadOnlySpan<byte> payload, ICollection<MuxerEvent> events)
    {
        if (number > long.MaxValue / 2)
            throw new FormatException($"mplex: stream ID {number} is out of range");
        // A flag sent by the stream's initiator names the remote's stream; by its receiver, ours.
        var theirs = flag is Flag.NewStream or Flag.MessageInitiator or Flag.CloseInitiator or Flag.ResetInitiator;
        var id = (long)number * 2 + (theirs ? 1 : 0);
        if (flag == Flag.NewStream)
        {
            if (_streams.ContainsKey(id))
                throw new FormatException($"mplex: the remote opened stream {number} twice");
            if (_inboundStreams >= _options.MaxIncomingStreams)
            {
                Enqueue(number, Flag.ResetReceiver, [], FrameKind.Answer);
                return;
            }
            _streams[id] = new MplexStream(number, initiator: false);
            _inboundStreams++;
            events.Add(new MuxerEvent.StreamOpened(id));
            return;
        }
        if (!_streams.TryGetValue(id, out var stream))
            return; // Already reset or closed here: go-mplex ignores such messages too.
        switch (flag)
        {
            case Flag.MessageInitiator or Flag.MessageReceiver:
                if (stream.ReadClosed || stream.RemoteClosed || payload.IsEmpty)
                    return;
                if ((long)stream.Unread + payload.Length > 2L * _options.MaxStreamBuffer)
                {
                    // Input pauses at the first bound, so only a caller that kept reading gets here.
                    Reset(id);
                    events.Add(new MuxerEvent.StreamReset(id, $"the reader fell more than {2L * _options.MaxStreamBuffer} bytes behind"));
                    return;
                }
                if (Refused(stream, payload.Length) is { } refusal)
                {
                    Reset(id);
                    events.Add(new MuxerEvent.StreamReset(id, refusal));
                    return;
                }
                if (stream.Unread > _options.MaxStreamBuffer)
                    _laggards.Add(id); // no flow control in mplex: input pauses until the reader catches up
                MuxerEvent.Data.Add(events, id, payload);
                break;
            case Flag.CloseInitiator or Flag.CloseReceiver:
                if (stream.RemoteClosed)
                    return;
                stream.RemoteClosed = true;
                events.Add(new MuxerEvent.RemoteClosed(id));
                ForgetIfDone(id, stream, events);
                break;
            case Flag.ResetInitiator or Flag.ResetReceiver:
                _streams.Remove(id);
                _laggards.Remove(id);
                Unbuffer(stream, stream.Unread);
                if (!stream.Initiator)
                    _inboundStreams--;
                events.Add(new MuxerEvent.StreamReset(id, "reset by the remote"));
                break;
        }
    }

    private void ForgetIfDone(long id, MplexStream stream, ICollection<MuxerEvent>? events)
    {
        if (!stream.LocalClosed || !stream.RemoteClosed)
            return;
        _streams.Remove(id);
        _laggards.Remove(id);
        if (stream.Unread > 0)
            _closedUnread[id] = stream; // the reader may still take its last bytes
        if (!stream.Initiator)
            _inboundStreams--;
        events?.Add(new MuxerEvent.StreamClosed(id));
    }

    /// <summary>
    /// Charges <paramref name="bytes"/> more unread bytes for <paramref name="stream"/>; returns
    /// why not when the session's bound or the memory account refuses (the stream is then reset).
    /// </summary>
    private string? Refused(MplexStream stream, int bytes)
    {
        if (_unread + bytes > _options.MaxSessionBuffer)
            return $"mplex: the connection's streams already hold {_unread} unread bytes, and {bytes} more would pass the limit of {_options.MaxSessionBuffer}";
        if (_options.Memory is { } memory)
        {
            // A frame that arrived in part was charged as it came: that charge carries over.
            var charged = TakeChargedInput(bytes);
            if (!memory.TryReserve(bytes - charged))
            {
                memory.Release(charged);
                return $"mplex: the connection's memory account refused {bytes - charged} more bytes for a stream whose reader has {stream.Unread} unread";
            }
        }
        stream.Unread += bytes;
        _unread += bytes;
        return null;
    }

    private void Unbuffer(MplexStream stream, int bytes)
    {
        bytes = Math.Clamp(bytes, 0, stream.Unread);
        if (bytes == 0)
            return;
        stream.Unread -= bytes;
        _unread -= bytes;
        _options.Memory?.Release(bytes);
    }

    private protected override void ReleaseResources()
    {
        foreach (var stream in _streams.Values.Concat(_closedUnread.Values))
            Unbuffer(stream, stream.Unread);
        _streams.Clear();
        _closedUnread.Clear();
        _laggards.Clear();
    }

    private protected override int FrameSize(ReadOnlySpan<byte> data)
    {
        var status = Varint.TryRead(data, out _, out var headerLength);
        if (status == OperationStatus.InvalidData)
            throw new FormatException("mplex: the header is not a valid varint");
        if (status == OperationStatus.NeedMoreData)
            return data.Length + 1;
        status = Varint.TryRead(data[headerLength..], out var length, out var lengthLength);
        if (status == OperationStatus.InvalidData)
            throw new FormatException("mplex: the length is not a valid varint");
        if (status == OperationStatus.NeedMoreData)
            return data.Length + 1;
        if (length > (ulong)_options.MaxMessageSize)
            throw new FormatException($"mplex: a message of {length} bytes is over the limit of {_options.MaxMessageSize}");
        return headerLength + lengthLength + (int)length;
    }

    private static int HeaderLength(ulong number, Flag flag, int length) =>
        Varint.GetLength(number << 3 | (byte)flag) + Varint.GetLength((ulong)Math.Min(length, ushort.MaxValue));

    private void Enqueue(ulong number, Flag flag, ReadOnlySpan<byte> payload, FrameKind kind = FrameKind.Local)
    {
        var used = Varint.Write(number << 3 | (byte)flag, _header);
        used += Varint.Write((ulong)payload.Length, _header.AsSpan(used));
        Output.Enqueue(_header.AsSpan(0, used), payload, kind);
    }

    private protected override void Fail(string reason, ICollection<MuxerEvent> events)
    {
        IsClosed = true;
        events.Add(new MuxerEvent.SessionFailed(new MuxerException(reason)));
    }

    private sealed class MplexStream(ulong number, bool initiator)
    {
        public ulong Number { get; } = number;
        public bool Initiator { get; } = initiator;
        public int Unread { get; set; }
        public bool LocalClosed { get; set; }
        public bool RemoteClosed { get; set; }
        public bool ReadClosed { get; set; }
    }
}
