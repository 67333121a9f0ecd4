using System.Buffers;
using System.Buffers.Binary;

namespace Libp2p.Protocols.Muxing.Yamux;

/// <summary>
/// A yamux session (<c>/yamux/1.0.0</c>, the spec as go-yamux implements it) as a sans-IO state
/// machine. The dialer's streams are odd, the listener's even. Flow control follows go-yamux: a
/// 256 KiB initial window per stream, window granted back once half of it has been consumed, and
/// auto-tuning that doubles a stream's window (up to <see cref="YamuxOptions.MaxStreamWindow"/>)
/// when it is drained within a few round trips.
/// </summary>
public sealed class YamuxSession : MuxerSessionBase
{
    /// <summary>The protocol ID.</summary>
    public const string ProtocolId = "/yamux/1.0.0";

    private readonly YamuxOptions _options;
    private readonly bool _isClient;
    private readonly Dictionary<uint, YamuxStream> _streams = new();
    private readonly byte[] _header = new byte[YamuxFrameHeader.Size];
    private uint _nextStreamId;
    private uint _pingId;
    private uint? _pingOutstanding;
    private long _pingSentAt;
    private long _rtt;
    private bool _localGoAway;
    private bool _remoteGoAway;
    private int _inboundStreams;

    // A partly received data frame is not charged again: it lies within a receive window this side
    // granted, and that window's growth is what the memory account holds.
    /// <summary>Starts a session; <paramref name="isClient"/> is true on the side that dialed.</summary>
    public YamuxSession(bool isClient, YamuxOptions? options = null) : base("yamux", memory: null)
    {
        _isClient = isClient;
        _options = options ?? YamuxOptions.Default;
        _nextStreamId = isClient ? 1u : 2u;
    }

    /// <inheritdoc />
    public override string Protocol => ProtocolId;

    /// <inheritdoc />
    public override long OpenStream()
    {
        if (IsClosed || _localGoAway)
            throw new MuxerException("yamux: the session is closed");
        if (_remoteGoAway)
            throw new MuxerException("yamux: the remote is going away and accepts no new streams");
        if (_nextStreamId > uint.MaxValue - 2)
            throw new MuxerException("yamux: stream IDs are exhausted");
        var id = _nextStreamId;
        _nextStreamId += 2;
        var stream = new YamuxStream(id, _options.Clock());
        _streams[id] = stream;
        // As go-yamux: a window update carrying SYN, the data may follow before the ACK.
        Enqueue(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, id, stream.ReceiveWindow - YamuxOptions.InitialStreamWindow);
        return id;
    }

    /// <inheritdoc />
    public override int SendCapacity(long streamId) =>
        _streams.TryGetValue((uint)streamId, out var s) && !s.LocalClosed ? (int)Math.Min(s.SendWindow, int.MaxValue) : 0;

    /// <inheritdoc />
    public override int Send(long streamId, ReadOnlySpan<byte> data)
    {
        if (IsClosed || !_streams.TryGetValue((uint)streamId, out var stream))
            return 0;
        if (stream.LocalClosed)
            throw new MuxerException($"yamux: stream {streamId} is closed for writing");
        var total = (int)Math.Min(data.Length, stream.SendWindow);
        var sent = 0;
        while (sent < total)
        {
            var part = Math.Min(total - sent, _options.MaxFramePayload);
            new YamuxFrameHeader(YamuxFrameType.Data, YamuxFlags.None, stream.Id, (uint)part).Write(_header);
            Output.Enqueue(_header, data.Slice(sent, part));
            sent += part;
        }
        stream.SendWindow -= (uint)total;
        return total;
    }

    /// <inheritdoc />
    public override void Consumed(long streamId, int bytes)
    {
        if (IsClosed || !_streams.TryGetValue((uint)streamId, out var stream))
            return;
        stream.Unconsumed -= bytes;
        GrantWindow(stream, force: false);
    }

    /// <inheritdoc />
    public override void CloseWrite(long streamId)
    {
        if (IsClosed || !_streams.TryGetValue((uint)streamId, out var stream) || stream.LocalClosed)
            return;
        stream.LocalClosed = true;
        Enqueue(YamuxFrameType.WindowUpdate, YamuxFlags.Fin, stream.Id, 0);
        ForgetIfDone(stream, null);
    }

    /// <inheritdoc />
    public override void CloseRead(long streamId)
    {
        if (IsClosed || !_streams.TryGetValue((uint)streamId, out var stream))
            return;
        // Data that still arrives is dropped and its window granted back, so the remote writer
        // finishes instead of stalling on a reader that is gone.
        stream.ReadClosed = true;
        stream.Unconsumed = 0;
        GrantWindow(stream, force: false);
    }

    /// <inheritdoc />
    public override void Reset(long streamId)
    {
        if (IsClosed || !_streams.Remove((uint)streamId, out var stream))
            return;
        // Resetting a stream the remote opened (over the owner's backlog, say) answers the remote.
        Enqueue(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, stream.Id, 0, stream.Inbound ? FrameKind.Answer : FrameKind.Local);
        Forgotten(stream);
    }

    /// <inheritdoc />
    public override bool Ping()
    {
        if (IsClosed || _pingOutstanding is not null)
            return false;
        _pingOutstanding = ++_pingId;
        _pingSentAt = _options.Clock();
        Enqueue(YamuxFrameType.Ping, YamuxFlags.Syn, 0, _pingId);
        return true;
    }

    /// <inheritdoc />
    public override void Close()
    {
        if (IsClosed)
            return;
        if (!_localGoAway)
            Enqueue(YamuxFrameType.GoAway, YamuxFlags.None, 0, YamuxGoAway.Normal);
        _localGoAway = true;
        IsClosed = true;
    }

    private protected override int Parse(ReadOnlySpan<byte> data, ICollection<MuxerEvent> events)
    {
        var offset = 0;
        while (!IsClosed && data.Length - offset >= YamuxFrameHeader.Size)
        {
            var header = YamuxFrameHeader.Read(data[offset..]);
            if (header.Type == YamuxFrameType.Data)
            {
                // Checked before buffering the payload, so a lying length costs nothing.
                CheckDataLength(header);
                if (data.Length - offset - YamuxFrameHeader.Size < header.Length)
                    break;
                HandleFrame(header, data.Slice(offset + YamuxFrameHeader.Size, (int)header.Length), events);
                offset += YamuxFrameHeader.Size + (int)header.Length;
            }
            else
            {
                HandleFrame(header, [], events);
                offset += YamuxFrameHeader.Size;
            }
            CheckAnswers();
        }
        return offset;
    }

    private protected override int FrameSize(ReadOnlySpan<byte> data)
    {
        if (data.Length < YamuxFrameHeader.Size)
            return YamuxFrameHeader.Size;
        var header = YamuxFrameHeader.Read(data);
        if (header.Type != YamuxFrameType.Data)
            return YamuxFrameHeader.Size;
        // A data frame can be no larger than the stream's receive window, checked before any of it is kept.
        CheckDataLength(header);
        return YamuxFrameHeader.Size + (int)header.Length;
    }

    private void CheckDataLength(YamuxFrameHeader header)
    {
        var window = _streams.TryGetValue(header.StreamId, out var stream)
            ? stream.ReceiveOutstanding
            : (header.Flags & YamuxFlags.Syn) != 0 ? YamuxOptions.InitialStreamWindow : _options.MaxStreamWindow;
        if (header.Length > window)
            throw new FormatException($"yamux: {header.Length} bytes of data on stream {header.StreamId} exceed the window of {window}");
    }

    private void HandleFrame(YamuxFrameHeader header, ReadOnlySpan<byte> payload, ICollection<MuxerEvent> events)
    {
        switch (header.Type)
        {
            case YamuxFrameType.Ping:
                if ((header.Flags & YamuxFlags.Syn) != 0)
                    Enqueue(YamuxFrameType.Ping, YamuxFlags.Ack, 0, header.Length, FrameKind.PingAnswer);
                else if ((header.Flags & YamuxFlags.Ack) != 0 && header.Length == _pingOutstanding)
                {
                    _pingOutstanding = null;
                    _rtt = _options.Clock() - _pingSentAt;
                    events.Add(new MuxerEvent.PingAnswered());
                }
                return;
            case YamuxFrameType.GoAway:
                _remoteGoAway = true;
                events.Add(new MuxerEvent.RemoteGoingAway(header.Length));
                return;
        }
        var stream = (header.Flags & YamuxFlags.Syn) != 0 ? Accept(header.StreamId, events) : _streams.GetValueOrDefault(header.StreamId);
        if (stream is null)
            return; // A stream already gone (reset or refused): go-yamux drops such frames too.
        if ((header.Flags & YamuxFlags.Ack) != 0)
            stream.Acknowledged = true;
        if (header.Type == YamuxFrameType.WindowUpdate && header.Length > 0)
        {
            var wasBlocked = stream.SendWindow == 0;
            // The spec: a window that would pass 2^32 - 1 is a protocol error, not something to wrap or clamp.
            if ((ulong)stream.SendWindow + header.Length > uint.MaxValue)
                throw new FormatException($"yamux: a window update of {header.Length} on stream {stream.Id} overflows its send window of {stream.SendWindow}");
            stream.SendWindow += header.Length;
            if (wasBlocked && !stream.LocalClosed)
                events.Add(new MuxerEvent.SendWindowOpened(stream.Id));
        }
        else if (header.Type == YamuxFrameType.Data && payload.Length > 0)
        {
            stream.ReceiveOutstanding -= (uint)payload.Length;
            if (stream.ReadClosed || stream.RemoteClosed)
                GrantWindow(stream, force: false);
            else
            {
                stream.Unconsumed += payload.Length;
                MuxerEvent.Data.Add(events, stream.Id, payload);
            }
        }
        if ((header.Flags & YamuxFlags.Rst) != 0)
        {
            _streams.Remove(stream.Id);
            Forgotten(stream);
            events.Add(new MuxerEvent.StreamReset(stream.Id, "reset by the remote"));
            return;
        }
        if ((header.Flags & YamuxFlags.Fin) != 0 && !stream.RemoteClosed)
        {
            stream.RemoteClosed = true;
            events.Add(new MuxerEvent.RemoteClosed(stream.Id));
            ForgetIfDone(stream, events);
        }
    }

    private YamuxStream? Accept(uint id, ICollection<MuxerEvent> events)
    {
        if (id == 0 || (id % 2 == 1) == _isClient)
            throw new FormatException($"yamux: the remote opened stream {id}, whose parity is this side's");
        if (_streams.ContainsKey(id))
            throw new FormatException($"yamux: the remote opened stream {id} twice");
        if (_localGoAway || _inboundStreams >= _options.MaxIncomingStreams)
        {
            Enqueue(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, id, 0, FrameKind.Answer);
            return null;
        }
        var stream = new YamuxStream(id, _options.Clock()) { Inbound = true, Acknowledged = true };
        _streams[id] = stream;
        _inboundStreams++;
        events.Add(new MuxerEvent.StreamOpened(id));
        Enqueue(YamuxFrameType.WindowUpdate, YamuxFlags.Ack, id, stream.ReceiveWindow - YamuxOptions.InitialStreamWindow, FrameKind.Answer);
        return stream;
    }

    private void GrantWindow(YamuxStream stream, bool force)
    {
        var delta = stream.ReceiveWindow - stream.ReceiveOutstanding - (uint)Math.Max(0, stream.Unconsumed);
        if (delta == 0 || (!force && delta < stream.ReceiveWindow / 2))
            return;
        // go-yamux's auto-tuning: a window drained within four round trips is too small; double it.
        var now = _options.Clock();
        if (_rtt > 0 && now - stream.EpochStart < _rtt * 4 && stream.ReceiveWindow < _options.MaxStreamWindow)
        {
            var grown = (uint)Math.Min((ulong)stream.ReceiveWindow * 2, _options.MaxStreamWindow);
            // As go-yamux: the growth is memory reserved at low priority; refused, the window stays.
            if (_options.Memory?.TryReserve(grown - stream.ReceiveWindow) != false)
            {
                delta += grown - stream.ReceiveWindow;
                stream.ReceiveWindow = grown;
            }
        }
        stream.EpochStart = now;
        stream.ReceiveOutstanding += delta;
        // One window update per stream waits at a time: a second grant adds to the first.
        if (stream.PendingUpdate is { } pending && Output.IsQueued(pending.Ticket))
        {
            var length = pending.Buffer.AsSpan(8, 4);
            BinaryPrimitives.WriteUInt32BigEndian(length, BinaryPrimitives.ReadUInt32BigEndian(length) + delta);
            return;
        }
        new YamuxFrameHeader(YamuxFrameType.WindowUpdate, YamuxFlags.None, stream.Id, delta).Write(_header);
        stream.PendingUpdate = (Output.Enqueue(_header, [], FrameKind.Answer, out var queued), queued);
    }

    private void ForgetIfDone(YamuxStream stream, ICollection<MuxerEvent>? events)
    {
        if (!stream.LocalClosed || !stream.RemoteClosed)
            return;
        _streams.Remove(stream.Id);
        Forgotten(stream);
        events?.Add(new MuxerEvent.StreamClosed(stream.Id));
    }

    private protected override void ReleaseResources()
    {
        foreach (var stream in _streams.Values)
            Forgotten(stream);
        _streams.Clear();
    }

    private void Forgotten(YamuxStream stream)
    {
        if (stream.ReceiveWindow > YamuxOptions.InitialStreamWindow)
            _options.Memory?.Release(stream.ReceiveWindow - YamuxOptions.InitialStreamWindow);
        if (stream.Inbound)
            _inboundStreams--;
    }

    private void Enqueue(YamuxFrameType type, YamuxFlags flags, uint streamId, uint length, FrameKind kind = FrameKind.Local)
    {
        new YamuxFrameHeader(type, flags, streamId, length).Write(_header);
        Output.Enqueue(_header, [], kind);
    }

    /// <summary>
    /// Fails the session when the remote made it queue more answers than the bounds allow: a peer
    /// that keeps sending (pings, streams it opens and resets) but never reads would otherwise grow
    /// the queue without end, since its unread answers stop TCP and the queue only drains to the socket.
    /// </summary>
    private void CheckAnswers()
    {
        var pings = Output.Count(FrameKind.PingAnswer);
        if (pings > _options.MaxQueuedPingAnswers)
            throw new FormatException($"yamux: the remote sent {pings} pings without reading the answers");
        if (Output.Answers > _options.MaxQueuedAnswers)
            throw new FormatException($"yamux: the remote made this side queue {Output.Answers} frames in answer (acknowledgements, window updates, resets, ping answers) without reading them");
    }

    private protected override void Fail(string reason, ICollection<MuxerEvent> events)
    {
        // As go-yamux: tell the remote it broke the protocol, then stop.
        Enqueue(YamuxFrameType.GoAway, YamuxFlags.None, 0, YamuxGoAway.ProtocolError);
        _localGoAway = true;
        IsClosed = true;
        events.Add(new MuxerEvent.SessionFailed(new MuxerException(reason)));
    }

    private sealed class YamuxStream(uint id, long epochStart)
    {
        public uint Id { get; } = id;
        public bool Inbound { get; init; }
        public bool Acknowledged { get; set; }
        public uint SendWindow { get; set; } = YamuxOptions.InitialStreamWindow;
        public uint ReceiveWindow { get; set; } = YamuxOptions.InitialStreamWindow;
        public uint ReceiveOutstanding { get; set; } = YamuxOptions.InitialStreamWindow;
        public int Unconsumed { get; set; }
        public long EpochStart { get; set; } = epochStart;
        public bool LocalClosed { get; set; }
        public bool RemoteClosed { get; set; }
        public bool ReadClosed { get; set; }
        public (long Ticket, byte[] Buffer)? PendingUpdate { get; set; }
    }
}
