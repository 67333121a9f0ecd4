using System.Buffers;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multistream;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Muxing.Mplex;
using Libp2p.Protocols.Muxing.Yamux;
using Libp2p.Protocols.Noise;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tls;

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
    /// <remarks>Unread inbound bytes are charged to the connection's memory lease: mplex has no flow control.</remarks>
    public static MuxerFactory Mplex { get; } = new(MplexSession.ProtocolId,
        (_, memory) => new MplexSession(memory is null ? null : MplexOptions.Default with { Memory = memory }));

    /// <summary>The default preference: yamux, then mplex.</summary>
    public static IReadOnlyList<MuxerFactory> Defaults { get; } = [Yamux, Mplex];
}

/// <summary>
/// The whole life of a libp2p connection's bytes, sans-IO: multistream-select for a security
/// protocol (<c>/noise</c> or <c>/tls/1.0.0</c>), its handshake, multistream-select for a muxer
/// inside it (or the muxer TLS's ALPN already chose), then the muxer session with its frames in
/// Noise messages or TLS records. Small muxer frames are batched into one Noise message; a frame is
/// never split across two. TLS runs on <see cref="TlsChannel"/>, off the caller's thread: it calls
/// the wake action set by <see cref="SetWakeup"/> when it has progressed, and the owner then calls
/// <see cref="Poll"/>.
/// </summary>
public sealed partial class ConnectionCore : IConnectionCore
{
    private enum Phase { Security, Handshake, TlsHandshake, Muxer, Muxed, Failed }

    /// <summary>Frames under this size (window updates, pings, small writes) share a Noise message.</summary>
    private const int SmallFrame = 4096;

    /// <summary>What a Noise message adds to its plaintext: the length prefix and the tag.</summary>
    private const int MessageOverhead = 2 + CipherState.TagLength;

    /// <summary>What a TLS 1.3 record adds to its plaintext: header, inner content type and tag.</summary>
    private const int TlsRecordOverhead = 5 + 1 + 16;

    /// <summary>The most plaintext one TLS record carries.</summary>
    private const int TlsRecordPlaintext = 16 * 1024;

    private readonly bool _dialer;
    private readonly PrivateKey _identity;
    private readonly PeerId? _expectedRemote;
    private readonly IReadOnlyList<MuxerFactory> _muxers;
    private readonly IMemoryAccount? _memory;
    private readonly IReadOnlyList<string> _security;

    /// <inheritdoc />
    public IMemoryAccount? Memory => _muxer is { ChargesReads: true } ? _memory : null;
    // Scratch buffers rented only while in use: an idle connection holds none of them.
    private readonly PooledBufferWriter _raw = new();
    private readonly PooledBufferWriter _plainIn = new();
    private readonly PooledBufferWriter _plainOut = new();
    private Phase _phase;
    private MultistreamNegotiator _negotiation;
    private NoiseHandshake? _handshake;
    private NoiseSession? _session;
    private IMuxerSession? _muxer;
    private TlsHandshake? _tls;
    private TlsSession? _tlsSession;
    private Action _wake = () => { };

    /// <summary>Prepares one side of a connection.</summary>
    /// <param name="dialer">Whether this side dialed (it proposes the protocols).</param>
    /// <param name="identity">This node's identity key.</param>
    /// <param name="expectedRemote">The peer the dialer means to reach, if known.</param>
    /// <param name="muxers">The muxers offered, in order of preference.</param>
    /// <param name="memory">Where the muxer charges what the remote makes it hold (window growth, partly received frames, unread mplex data).</param>
    /// <param name="security">The security protocols offered, in order of preference (default <c>/noise</c>, then <c>/tls/1.0.0</c>).</param>
    public ConnectionCore(bool dialer, PrivateKey identity, PeerId? expectedRemote = null, IReadOnlyList<MuxerFactory>? muxers = null, IMemoryAccount? memory = null,
        IReadOnlyList<string>? security = null)
    {
        _security = security is { Count: > 0 } ? security : SecurityProtocols.Defaults;
        foreach (var protocol in _security)
        {
            if (!SecurityProtocols.Supported.Contains(protocol))
                throw new ArgumentException($"security protocol {protocol} is not supported (only {string.Join(", ", SecurityProtocols.Supported)})", nameof(security));
        }
        _memory = memory;
        _dialer = dialer;
        _identity = identity;
        _expectedRemote = expectedRemote;
        _muxers = muxers is { Count: > 0 } ? muxers : MuxerFactory.Defaults;
        _negotiation = dialer ? MultistreamNegotiator.Initiator(_security) : MultistreamNegotiator.Responder(_security);
    }

    /// <inheritdoc />
    public ConnectionUpgrade? Upgrade { get; private set; }

    /// <inheritdoc />
    public string Protocol => _muxer?.Protocol ?? "";

    /// <inheritdoc />
    public bool IsClosed => _phase == Phase.Failed || _muxer?.IsClosed == true;

    /// <inheritdoc />
    public bool HasOutput => _raw.WrittenCount > 0 || _muxer?.HasOutput == true || _tls?.Channel.HasCiphertext == true;

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
                case Phase.TlsHandshake:
                    _tls!.Channel.Feed(input);
                    PollTlsHandshake(events);
                    break;
                case Phase.Muxer or Phase.Muxed:
                    ReceiveEncrypted(input, events);
                    break;
            }
        }
        catch (Exception e) when (e is NoiseException or TlsException)
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
        if (_negotiation.Protocol == TlsHandshake.ProtocolId)
        {
            _phase = Phase.TlsHandshake;
            _tls = new TlsHandshake(_dialer, _identity, _expectedRemote, _muxers.Select(m => m.Protocol).ToArray(), _wake);
            _tls.Start();
            _tls.Channel.Feed(input[used..]);
            return;
        }
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
        StartMuxerNegotiation();
        ReceiveEncrypted(input[used..], events);
    }

    private void StartMuxerNegotiation()
    {
        _phase = Phase.Muxer;
        var protocols = _muxers.Select(m => m.Protocol).ToArray();
        _negotiation = _dialer ? MultistreamNegotiator.Initiator(protocols) : MultistreamNegotiator.Responder(protocols);
        _negotiation.Start(_plainOut);
        FlushPlaintext();
    }

    private void ReceiveEncrypted(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events)
    {
        if (input.IsEmpty)
            return;
        if (_tls is not null)
        {
            // TLS decrypts on its own thread and wakes the owner, whose Poll takes the plaintext.
            _tls.Channel.Feed(input);
            ReceiveTlsPlaintext(events);
            return;
        }
        try
        {
            // Message by message: the plaintext buffer holds one Noise message (one transport
            // array), never a whole read's worth, and the muxer sees each message as it is opened.
            var transport = _session!.Transport;
            while (!input.IsEmpty && _phase != Phase.Failed)
            {
                input = input[transport.DecryptNext(input, _plainIn)..];
                if (_plainIn.WrittenCount == 0)
                    continue;
                ReceivePlaintext(_plainIn.WrittenSpan, events);
                _plainIn.ResetWrittenCount();
            }
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
            StartMuxer(_muxers.First(m => m.Protocol == _negotiation.Protocol));
            plain = plain[used..];
        }
        if (!plain.IsEmpty)
            _muxer!.Receive(plain, events);
    }

    private void StartMuxer(MuxerFactory factory)
    {
        _muxer = factory.Create(_dialer, _memory);
        _phase = Phase.Muxed;
        Upgrade = _tlsSession is { } tls
            ? new ConnectionUpgrade(tls.RemotePeer, tls.RemoteKey, TlsHandshake.ProtocolId, factory.Protocol)
            : new ConnectionUpgrade(_session!.RemotePeer, _session.RemoteKey, NoiseHandshake.ProtocolId, factory.Protocol);
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
        _tls?.Channel.DrainCiphertext(output);
        if (_muxer is null || (_session is null && _tlsSession is null))
            return;
        // Whole Noise messages (or TLS records) while they fit the limit (at least one); small
        // frames (window updates, pings) share a message, and a frame is never split.
        while (_muxer.PeekFrameLength() is var length and > 0)
        {
            var room = limit - written;
            if (Sealed(length) > room && written > 0)
                break;
            if (length >= SmallFrame)
            {
                // A data frame: encrypted straight from the muxer's buffer into the output.
                Encrypt(_muxer.PeekFrame(), output);
                _muxer.DropFrame();
                written += Sealed(length);
                continue;
            }
            var most = Math.Min(NoiseTransport.MaxPlaintextLength, Math.Max(PlaintextRoom(room), length));
            _plainOut.ResetWrittenCount();
            do
                _muxer.TryDequeueFrame(_plainOut);
            while (_muxer.PeekFrameLength() is var next and > 0 and < SmallFrame && _plainOut.WrittenCount + next <= most);
            Encrypt(_plainOut.WrittenSpan, output);
            written += Sealed(_plainOut.WrittenCount);
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
    public bool InputPaused => _muxer?.InputPaused == true || _tls?.Channel.Backlogged == true;

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
        _tls?.Dispose();
        _raw.Clear();
        _plainIn.Clear();
        _plainOut.Clear();
    }

    private IMuxerSession Muxer => _muxer ?? throw new MuxerException("the connection is not upgraded yet");

    private void FlushPlaintext()
    {
        if (_plainOut.WrittenCount == 0)
            return;
        Encrypt(_plainOut.WrittenSpan, _raw);
        _plainOut.Clear();
    }

    /// <summary>Any amount of plaintext into Noise messages or TLS records, whichever secures the connection.</summary>
    private void Encrypt(ReadOnlySpan<byte> plaintext, IBufferWriter<byte> output)
    {
        if (_tls is not null)
            _tls.Channel.Encrypt(plaintext, output);
        else
            _session!.Transport.EncryptAll(plaintext, output);
    }

    /// <summary>What <paramref name="plaintext"/> bytes become on the wire once <see cref="Encrypt"/> sealed them.</summary>
    private int Sealed(int plaintext) => _tls is not null
        ? plaintext + TlsRecordOverhead * Math.Max(1, (plaintext + TlsRecordPlaintext - 1) / TlsRecordPlaintext)
        : plaintext + MessageOverhead * Math.Max(1, (plaintext + NoiseTransport.MaxPlaintextLength - 1) / NoiseTransport.MaxPlaintextLength);

    /// <summary>The most plaintext that, sealed, fits <paramref name="room"/> bytes (at most one Noise message).</summary>
    private int PlaintextRoom(int room) => _tls is not null
        ? room - TlsRecordOverhead * Math.Max(1, (room + TlsRecordPlaintext - 1) / TlsRecordPlaintext)
        : room - MessageOverhead;

    private void Fail(string reason, Exception cause, ICollection<MuxerEvent> events)
    {
        var upgraded = _phase == Phase.Muxed;
        _phase = Phase.Failed;
        events.Add(new MuxerEvent.SessionFailed(new MuxerException(upgraded ? reason : $"upgrade failed: {reason}", cause)));
    }
}
