using System.Buffers;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multistream;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Muxing.Mplex;
using Libp2p.Protocols.Muxing.Yamux;
using Libp2p.Protocols.Noise;
using Libp2p.Protocols.Peer;

namespace Libp2p.Protocols.Connections;

/// <summary>A stream muxer this node offers: its protocol ID and how to start a session of it.</summary>
/// <param name="Protocol">The multistream-select protocol ID.</param>
/// <param name="Create">Makes a session: the first argument is true on the side that dialed, the second is where to charge the memory the remote makes it hold.</param>
public sealed record MuxerFactory(string Protocol, Func<bool, IMemoryAccount?, IMuxerSession> Create)
{
    /// <summary>yamux with go-libp2p's settings.</summary>
    public static MuxerFactory Yamux { get; } = new(YamuxSession.ProtocolId,
        (dialer, memory) => new YamuxSession(dialer, memory is null ? null : YamuxOptions.Default with { Memory = memory }));

    /// <summary>mplex with js-libp2p's limits.</summary>
    /// <remarks>Unread inbound bytes are charged to the memory account: mplex has no flow control.</remarks>
    public static MuxerFactory Mplex { get; } = new(MplexSession.ProtocolId,
        (_, memory) => new MplexSession(memory is null ? null : MplexOptions.Default with { Memory = memory }));

    /// <summary>The default preference: yamux, then mplex.</summary>
    public static IReadOnlyList<MuxerFactory> Defaults { get; } = [Yamux, Mplex];
}

/// <summary>
/// The whole life of a libp2p connection's bytes, sans-IO: multistream-select for <c>/noise</c>,
/// the Noise handshake, multistream-select for a muxer inside Noise, then the muxer session with
/// its frames in Noise messages. Small muxer frames are batched into one Noise message; a frame is
/// never split across two.
/// </summary>
public sealed class ConnectionCore : IConnectionCore
{
    private enum Phase { Security, Handshake, Muxer, Muxed, Failed }

    /// <summary>Frames under this size (window updates, pings, small writes) share a Noise message.</summary>
    private const int SmallFrame = 4096;

    /// <summary>What a Noise message adds to its plaintext: the length prefix and the tag.</summary>
    private const int MessageOverhead = 2 + CipherState.TagLength;

    private readonly bool _dialer;
    private readonly PrivateKey _identity;
    private readonly PeerId? _expectedRemote;
    private readonly IReadOnlyList<MuxerFactory> _muxers;
    private readonly IMemoryAccount? _memory;
    // Scratch buffers rented only while in use: an idle connection holds none of them.
    private readonly PooledBufferWriter _raw = new();
    private readonly PooledBufferWriter _plainIn = new();
    private readonly PooledBufferWriter _plainOut = new();
    private Phase _phase;
    private MultistreamNegotiator _negotiation;
    private NoiseHandshake? _handshake;
    private NoiseSession? _session;
    private IMuxerSession? _muxer;

    /// <summary>Prepares one side of a connection.</summary>
    /// <param name="dialer">Whether this side dialed (it proposes the protocols).</param>
    /// <param name="identity">This node's identity key.</param>
    /// <param name="expectedRemote">The peer the dialer means to reach, if known.</param>
    /// <param name="muxers">The muxers offered, in order of preference.</param>
    /// <param name="memory">Where the muxer charges what the remote makes it hold (window growth, partly received frames, unread mplex data).</param>
    public ConnectionCore(bool dialer, PrivateKey identity, PeerId? expectedRemote = null, IReadOnlyList<MuxerFactory>? muxers = null, IMemoryAccount? memory = null)
    {
        _memory = memory;
        _dialer = dialer;
        _identity = identity;
        _expectedRemote = expectedRemote;
        _muxers = muxers is { Count: > 0 } ? muxers : MuxerFactory.Defaults;
        _negotiation = dialer ? MultistreamNegotiator.Initiator([NoiseHandshake.ProtocolId]) : MultistreamNegotiator.Responder([NoiseHandshake.ProtocolId]);
    }

    /// <inheritdoc />
    public ConnectionUpgrade? Upgrade { get; private set; }

    /// <inheritdoc />
    public string Protocol => _muxer?.Protocol ?? "";

    /// <inheritdoc />
    public bool IsClosed => _phase == Phase.Failed || _muxer?.IsClosed == true;

    /// <inheritdoc />
    public bool HasOutput => _raw.WrittenCount > 0 || _muxer?.HasOutput == true;

    /// <summary>Bytes the connection's own scratch buffers hold (the muxer's and Noise's kept frames aside).</summary>
    internal int ScratchBytes => _raw.Capacity + _plainIn.Capacity + _plainOut.Capacity;

    /// <summary>The muxer session, once negotiated.</summary>
    internal IMuxerSession? Session => _muxer;

    /// <summary>The Noise transport, once the handshake is done.</summary>
    internal NoiseTransport? Transport => _session?.Transport;

    /// <inheritdoc />
    public void Start() => _negotiation.Start(_raw);

    /// <inheritdoc />
    public void Receive(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events)
    {
        try
        {
            switch (_phase)
            {
                case Phase.Security:
                    ReceiveSecurityNegotiation(input, events);
                    break;
                case Phase.Handshake:
                    ReceiveHandshake(input, events);
                    break;
                case Phase.Muxer or Phase.Muxed:
                    ReceiveEncrypted(input, events);
                    break;
            }
        }
        catch (NoiseException e)
        {
            Fail(e.Message, e, events);
        }
    }

    private void ReceiveSecurityNegotiation(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events)
    {
        var used = _negotiation.Receive(input, _raw);
        if (_negotiation.State == NegotiationState.Failed)
        {
            Fail($"security negotiation failed: {_negotiation.Error!.Message}", _negotiation.Error, events);
            return;
        }
        if (_negotiation.State != NegotiationState.Done)
            return;
        _phase = Phase.Handshake;
        _handshake = new NoiseHandshake(_dialer, _identity, _expectedRemote);
        _handshake.Start(_raw);
        ReceiveHandshake(input[used..], events);
    }

    private void ReceiveHandshake(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events)
    {
        var used = _handshake!.Receive(input, _raw);
        if (_handshake.Error is { } error)
        {
            Fail(error.Message, error, events);
            return;
        }
        if (_handshake.Session is not { } session)
            return;
        _session = session;
        _handshake.Dispose();
        _phase = Phase.Muxer;
        var protocols = _muxers.Select(m => m.Protocol).ToArray();
        _negotiation = _dialer ? MultistreamNegotiator.Initiator(protocols) : MultistreamNegotiator.Responder(protocols);
        _negotiation.Start(_plainOut);
        FlushPlaintext();
        ReceiveEncrypted(input[used..], events);
    }

    private void ReceiveEncrypted(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events)
    {
        if (input.IsEmpty)
            return;
        try
        {
            _session!.Transport.Decrypt(input, _plainIn);
            ReceivePlaintext(_plainIn.WrittenSpan, events);
        }
        finally
        {
            _plainIn.Clear();
        }
    }

    private void ReceivePlaintext(ReadOnlySpan<byte> plain, ICollection<MuxerEvent> events)
    {
        if (_phase == Phase.Muxer)
        {
            var used = _negotiation.Receive(plain, _plainOut);
            FlushPlaintext();
            if (_negotiation.State == NegotiationState.Failed)
            {
                Fail($"muxer negotiation failed: {_negotiation.Error!.Message}", _negotiation.Error, events);
                return;
            }
            if (_negotiation.State != NegotiationState.Done)
                return;
            var factory = _muxers.First(m => m.Protocol == _negotiation.Protocol);
            _muxer = factory.Create(_dialer, _memory);
            _phase = Phase.Muxed;
            Upgrade = new ConnectionUpgrade(_session!.RemotePeer, _session.RemoteKey, NoiseHandshake.ProtocolId, factory.Protocol);
            plain = plain[used..];
        }
        if (!plain.IsEmpty)
            _muxer!.Receive(plain, events);
    }

    /// <inheritdoc />
    public void DrainOutput(IBufferWriter<byte> output, int limit)
    {
        var written = 0;
        if (_raw.WrittenCount > 0)
        {
            output.Write(_raw.WrittenSpan);
            written += _raw.WrittenCount;
            _raw.Clear();
        }
        if (_muxer is null || _session is null)
            return;
        // Whole Noise messages while they fit the limit (at least one); small frames (window
        // updates, pings) share a message, and a frame is never split.
        while (_muxer.PeekFrameLength() is var length and > 0)
        {
            var room = limit - written - MessageOverhead;
            if (length > room && written > 0)
                break;
            if (length >= SmallFrame)
            {
                // A data frame: encrypted straight from the muxer's buffer into the output.
                _session.Transport.Encrypt(_muxer.PeekFrame(), output);
                _muxer.DropFrame();
                written += length + MessageOverhead;
                continue;
            }
            var most = Math.Min(NoiseTransport.MaxPlaintextLength, Math.Max(room, length));
            _plainOut.ResetWrittenCount();
            do
                _muxer.TryDequeueFrame(_plainOut);
            while (_muxer.PeekFrameLength() is var next and > 0 and < SmallFrame && _plainOut.WrittenCount + next <= most);
            _session.Transport.Encrypt(_plainOut.WrittenSpan, output);
            written += _plainOut.WrittenCount + MessageOverhead;
        }
        _plainOut.Clear();
    }

    /// <inheritdoc />
    public long OpenStream() => Muxer.OpenStream();

    /// <inheritdoc />
    public int Send(long streamId, ReadOnlySpan<byte> data) => Muxer.Send(streamId, data);

    /// <inheritdoc />
    public void Consumed(long streamId, int bytes) => _muxer?.Consumed(streamId, bytes);

    /// <inheritdoc />
    public void CloseWrite(long streamId) => _muxer?.CloseWrite(streamId);

    /// <inheritdoc />
    public void CloseRead(long streamId) => _muxer?.CloseRead(streamId);

    /// <inheritdoc />
    public void Reset(long streamId) => _muxer?.Reset(streamId);

    /// <inheritdoc />
    public bool InputPaused => _muxer?.InputPaused == true;

    /// <inheritdoc />
    public void ShedLaggards(ICollection<MuxerEvent> events) => _muxer?.ShedLaggards(events);

    /// <inheritdoc />
    public bool Ping() => _muxer?.Ping() ?? false;

    /// <inheritdoc />
    public void Close()
    {
        if (_muxer is not null)
            _muxer.Close();
        else
            _phase = Phase.Failed;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _phase = Phase.Failed;
        _muxer?.Dispose();
        _handshake?.Dispose();
        _session?.Transport.Dispose();
        _raw.Clear();
        _plainIn.Clear();
        _plainOut.Clear();
    }

    private IMuxerSession Muxer => _muxer ?? throw new MuxerException("the connection is not upgraded yet");

    private void FlushPlaintext()
    {
        if (_plainOut.WrittenCount == 0)
            return;
        _session!.Transport.EncryptAll(_plainOut.WrittenSpan, _raw);
        _plainOut.Clear();
    }

    private void Fail(string reason, Exception cause, ICollection<MuxerEvent> events)
    {
        var upgraded = _phase == Phase.Muxed;
        _phase = Phase.Failed;
        events.Add(new MuxerEvent.SessionFailed(new MuxerException(upgraded ? reason : $"upgrade failed: {reason}", cause)));
    }
}
