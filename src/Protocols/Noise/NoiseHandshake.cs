using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Protocols.Noise;

/// <summary>What a completed libp2p Noise handshake established.</summary>
/// <param name="RemotePeer">The authenticated remote peer.</param>
/// <param name="RemoteKey">Its identity key.</param>
/// <param name="RemoteStreamMuxers">The muxers it advertised in the handshake (empty when it sent none).</param>
/// <param name="Transport">The session's ciphers.</param>
public sealed record NoiseSession(PeerId RemotePeer, PublicKey RemoteKey, IReadOnlyList<string> RemoteStreamMuxers, NoiseTransport Transport);

/// <summary>
/// The libp2p Noise handshake (<c>/noise</c>) as a sans-IO state machine: XX with each message
/// behind a 2-byte length, the identity key and its signature over the static key in the payloads
/// of messages 2 and 3, and a check that the remote is the peer that was dialed.
/// </summary>
public sealed class NoiseHandshake : IDisposable
{
    /// <summary>The protocol ID negotiated by multistream-select.</summary>
    public const string ProtocolId = "/noise";

    private static readonly byte[] SignaturePrefix = System.Text.Encoding.ASCII.GetBytes("noise-libp2p-static-key:");

    private readonly XxHandshakeState _xx;
    private readonly PrivateKey _identity;
    private readonly PeerId? _expectedRemote;
    private readonly IReadOnlyList<string> _streamMuxers;
    private byte[] _pending = [];

    /// <summary>Starts a handshake for the libp2p identity <paramref name="identity"/>.</summary>
    /// <param name="initiator">Whether this side dialed.</param>
    /// <param name="identity">This node's identity key, which signs the Noise static key.</param>
    /// <param name="expectedRemote">The peer the dialer meant to reach; another peer fails the handshake.</param>
    /// <param name="streamMuxers">Muxers to advertise in the extensions; none by default, so peers negotiate them with multistream-select.</param>
    /// <param name="staticKey">A fixed Noise static key (X25519 private); fresh per handshake otherwise.</param>
    public NoiseHandshake(bool initiator, PrivateKey identity, PeerId? expectedRemote = null, IReadOnlyList<string>? streamMuxers = null, byte[]? staticKey = null)
    {
        _identity = identity ?? throw new ArgumentNullException(nameof(identity));
        _expectedRemote = expectedRemote;
        _streamMuxers = streamMuxers ?? [];
        _xx = new XxHandshakeState(initiator, staticKey ?? XxHandshakeState.GeneratePrivateKey());
    }

    /// <summary>Whether the handshake succeeded, failed, or goes on.</summary>
    public NoiseSession? Session { get; private set; }

    /// <summary>Why it failed.</summary>
    public NoiseException? Error { get; private set; }

    /// <summary>True once it succeeded or failed.</summary>
    public bool IsFinished => Session is not null || Error is not null;

    /// <summary>Writes the initiator's first message; a responder writes nothing.</summary>
    public void Start(IBufferWriter<byte> output)
    {
        if (_xx.IsInitiator)
            WriteMessage([], output);
    }

    /// <summary>
    /// Feeds the remote's bytes and writes this side's answers. Returns how many bytes of
    /// <paramref name="input"/> the handshake took; once it is finished, the rest is transport frames.
    /// Never throws for bad input: it fails the handshake with <see cref="Error"/> instead.
    /// </summary>
    public int Receive(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
    {
        if (IsFinished)
            return 0;
        var buffered = _pending.Length;
        ReadOnlySpan<byte> data = buffered == 0 ? input : [.. _pending, .. input];
        var offset = 0;
        try
        {
            while (!IsFinished && data.Length - offset >= 2)
            {
                var length = BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);
                if (data.Length - offset - 2 < length)
                    break;
                ReadMessage(data.Slice(offset + 2, length), output);
                offset += 2 + length;
            }
        }
        catch (Exception e) when (e is NoiseException or FormatException)
        {
            Error = e as NoiseException ?? new NoiseException($"noise: {e.Message}", e);
            _pending = [];
            return input.Length;
        }
        if (!IsFinished)
        {
            _pending = data[offset..].ToArray();
            return input.Length;
        }
        _pending = [];
        return Math.Max(0, offset - buffered);
    }

    private void ReadMessage(ReadOnlySpan<byte> message, IBufferWriter<byte> output)
    {
        var payload = new byte[message.Length];
        var length = _xx.ReadMessage(message, payload);
        if (_xx.IsInitiator)
        {
            // ← e, ee, s, es carries the responder's identity; answer with ours and finish.
            var remote = Verify(payload.AsSpan(0, length));
            WriteMessage(IdentityPayload(), output);
            Finish(remote);
        }
        else if (_xx.IsComplete)
            Finish(Verify(payload.AsSpan(0, length)));
        else
            WriteMessage(IdentityPayload(), output);
    }

    private void WriteMessage(ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        var frame = output.GetSpan(2 + XxHandshakeState.MaxMessageLength(payload.Length));
        var length = _xx.WriteMessage(payload, frame[2..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)length);
        output.Advance(2 + length);
    }

    private byte[] IdentityPayload() =>
        new NoiseHandshakePayload(_identity.PublicKey.ToProtobuf(), _identity.Sign([.. SignaturePrefix, .. _xx.LocalStaticPublicKey]), _streamMuxers).ToProtobuf();

    private (PeerId Peer, PublicKey Key, IReadOnlyList<string> Muxers) Verify(ReadOnlySpan<byte> payloadBytes)
    {
        var payload = NoiseHandshakePayload.Parse(payloadBytes);
        if (payload.IdentityKey.Length == 0)
            throw new NoiseException("noise: the remote sent no identity key");
        PublicKey key;
        try
        {
            key = PublicKey.FromProtobuf(payload.IdentityKey);
        }
        catch (FormatException e)
        {
            throw new NoiseException($"noise: the remote identity key is invalid: {e.Message}", e);
        }
        if (!key.Verify([.. SignaturePrefix, .. _xx.RemoteStaticPublicKey], payload.IdentitySignature))
            throw new NoiseException("noise: the remote's signature over its static key does not verify");
        var peer = PeerId.FromPublicKey(key);
        if (_expectedRemote is not null && peer != _expectedRemote)
            throw new NoiseException($"noise: dialed {_expectedRemote} but the remote is {peer}");
        return (peer, key, payload.StreamMuxers);
    }

    private void Finish((PeerId Peer, PublicKey Key, IReadOnlyList<string> Muxers) remote)
    {
        var (send, receive) = _xx.Split();
        Session = new NoiseSession(remote.Peer, remote.Key, remote.Muxers, new NoiseTransport(send, receive));
    }

    /// <inheritdoc />
    public void Dispose() => _xx.Dispose();
}
