using System.Buffers;
using Akka.Actor;
using Libp2p.Actors.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;
using Libp2p.Actors.Swarm;

namespace Libp2p.Host.Services;

/// <summary>What a peer said about itself in identify, checked against its peer ID.</summary>
/// <param name="Peer">The peer.</param>
/// <param name="PublicKey">Its public key, when it sent one (it always matches <paramref name="Peer"/>).</param>
/// <param name="ProtocolVersion">Its <c>protocolVersion</c>.</param>
/// <param name="AgentVersion">Its <c>agentVersion</c>, such as <c>js-libp2p/3.3.11</c>.</param>
/// <param name="ListenAddresses">Where it listens; from its signed peer record when it sent a valid one.</param>
/// <param name="Protocols">The protocols it serves.</param>
/// <param name="ObservedAddress">Our address as the peer sees it.</param>
/// <param name="SignedPeerRecord">The peer's signed peer record as received, when it verified: to hand on to others as proof.</param>
/// <param name="RecordSequence">That record's sequence number (RFC 0003: a greater one supersedes).</param>
public sealed record IdentifyResult(
    PeerId Peer,
    PublicKey? PublicKey,
    string? ProtocolVersion,
    string? AgentVersion,
    IReadOnlyList<Multiaddr> ListenAddresses,
    IReadOnlyList<string> Protocols,
    Multiaddr? ObservedAddress,
    ReadOnlyMemory<byte>? SignedPeerRecord = null,
    ulong? RecordSequence = null)
{
    /// <summary>Whether <see cref="ListenAddresses"/> came from a verified signed peer record.</summary>
    public bool Certified => SignedPeerRecord is not null;
}

/// <summary>
/// The identify protocols (<c>/ipfs/id/1.0.0</c> and <c>/ipfs/id/push/1.0.0</c>, the libp2p
/// identify spec): the messages of the <see cref="IdentifyActor"/>, and the stream side of both.
/// </summary>
public static class IdentifyService
{
    /// <summary>The protocol ID of identify.</summary>
    public const string ProtocolId = IdentifyMessage.ProtocolId;

    /// <summary>The protocol ID of identify push.</summary>
    public const string PushProtocolId = IdentifyMessage.PushProtocolId;

    /// <summary>go-libp2p splits a large identify into parts and reads at most this many; so do we.</summary>
    public const int MaxMessages = 10;

    /// <summary>How long one identify exchange may take, from opening the stream to the last byte (the default of <see cref="HostSettings.IdentifyTimeout"/>; a push received has as long).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The metadata keys identify fills in the peerstore (go-libp2p's names).</summary>
    public const string AgentVersionKey = "AgentVersion";

    /// <summary>The peerstore metadata key of the protocol version.</summary>
    public const string ProtocolVersionKey = "ProtocolVersion";

    /// <summary>The peerstore metadata key of our address as the peer last saw it (a <see cref="Multiaddr"/>).</summary>
    public const string ObservedAddressKey = "ObservedAddress";

    /// <summary>The peerstore metadata key of the peer's verified signed peer record (the envelope's bytes), as go's certified address book keeps it.</summary>
    public const string SignedPeerRecordKey = "SignedPeerRecord";

    /// <summary>Asks what a connected peer told us; answered with <see cref="PeerIdentified"/> or <see cref="IdentifyFailed"/>.</summary>
    public sealed record IdentifyPeer(PeerId Peer);

    /// <summary>Event (and reply): a peer was identified, or pushed an update.</summary>
    /// <param name="LocalPeer">The node that identified it.</param>
    /// <param name="Result">What the peer said.</param>
    /// <param name="Push">Whether this came from an identify push.</param>
    public sealed record PeerIdentified(PeerId LocalPeer, IdentifyResult Result, bool Push = false) : SwarmProtocol.NodeEvent(LocalPeer);

    /// <summary>Identify of a peer failed: it did not answer, or answered something invalid.</summary>
    public sealed record IdentifyFailed(PeerId Peer, Exception Reason);

    // One sealed record per identity and address set, however many nodes or requests share it.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<PrivateKey, SignedRecordCache> SealedRecords = new();

    /// <summary>Answers one identify request: our message, then end of stream.</summary>
    internal static async Task ServeAsync(StreamHandle stream, HostSettings settings, IActorRef swarm, IActorRef? addresses = null)
    {
        var message = await BuildAsync(settings, swarm, stream.Connection.RemoteAddress, addresses).ConfigureAwait(false);
        ServiceStreams.WithIdleTimeout(stream);
        await WriteAsync(stream, message).ConfigureAwait(false);
        stream.CloseWrite();
    }

    /// <summary>Reads one identify push and hands it to the identify service.</summary>
    internal static async Task ReceivePushAsync(StreamHandle stream, IActorRef identify)
    {
        var message = await ReadAsync(stream).ConfigureAwait(false);
        identify.Tell(new IdentifyActor.PushReceived(stream.Connection, message));
    }

    /// <summary>Our identify message as the peer at <paramref name="observed"/> should see it; the addresses are what <paramref name="addressManager"/> advertises, or the listen addresses without one.</summary>
    internal static async Task<IdentifyMessage> BuildAsync(HostSettings settings, IActorRef swarm, Multiaddr? observed, IActorRef? addressManager = null)
    {
        // A bare /p2p-circuit says only that relayed connections are accepted: nobody can dial it.
        var addresses = addressManager is not null
            ? (await addressManager.Ask<Libp2p.Actors.AutoNat.AddressManagerProtocol.AdvertisedAddressesAre>(Libp2p.Actors.AutoNat.AddressManagerProtocol.GetAdvertisedAddresses.Instance, Timeout).ConfigureAwait(false)).Addresses.ToArray()
            : (await swarm.Ask<SwarmProtocol.ListenAddressesAre>(new SwarmProtocol.GetListenAddresses(ExpandInterfaces: true), Timeout).ConfigureAwait(false)).Addresses
                .Where(a => !(a.Components.Count == 1 && a.Has(MultiaddrProtocol.P2pCircuit))).ToArray();
        var protocols = (await swarm.Ask<SwarmProtocol.ProtocolsAre>(SwarmProtocol.GetProtocols.Instance, Timeout).ConfigureAwait(false)).Protocols;
        return new IdentifyMessage
        {
            ProtocolVersion = settings.ProtocolVersion,
            AgentVersion = settings.AgentVersion,
            PublicKey = settings.Identity.PublicKey,
            ListenAddrs = addresses,
            ObservedAddr = observed,
            Protocols = protocols,
            SignedPeerRecord = SealedRecords.GetValue(settings.Identity, key => new SignedRecordCache(key)).For(addresses),
        };
    }

    /// <summary>go-libp2p's <c>legacyIDSize</c>: a message larger than this goes in two parts, for readers with an old 2 KiB limit.</summary>
    internal const int LegacyMessageSize = 2048;

    /// <summary>
    /// Writes the message length-prefixed; one over <see cref="LegacyMessageSize"/> goes as two, the
    /// signed record apart from the rest, as go-libp2p does (readers merge the parts).
    /// </summary>
    internal static async Task WriteAsync(StreamHandle stream, IdentifyMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        if (message.GetEncodedLength() <= LegacyMessageSize || message.SignedPeerRecord is not { } record)
        {
            message.WriteDelimited(buffer);
        }
        else
        {
            (message with { SignedPeerRecord = null }).WriteDelimited(buffer);
            new IdentifyMessage { SignedPeerRecord = record }.WriteDelimited(buffer);
        }
        await stream.Stream.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
    }

    /// <summary>Reads every message until the peer closes its side, merged in order (a split identify arrives in parts).</summary>
    /// <exception cref="FormatException">A message is malformed, too large, or there are too many.</exception>
    internal static async Task<IdentifyMessage> ReadAsync(StreamHandle stream)
    {
        var io = stream.Stream;
        // One deadline for the whole exchange: a peer dripping a byte a minute must not hold it open.
        using var deadline = new CancellationTokenSource(Timeout);
        try
        {
            return await ReadAllAsync(io, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"identify: no complete answer within {Timeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>As <see cref="ReadAsync(StreamHandle)"/>, within the caller's deadline instead of one of its own.</summary>
    /// <exception cref="FormatException">A message is malformed, too large, or there are too many.</exception>
    internal static Task<IdentifyMessage> ReadAsync(StreamHandle stream, CancellationToken cancellationToken) =>
        ReadAllAsync(stream.Stream, cancellationToken);

    private static async Task<IdentifyMessage> ReadAllAsync(Stream io, CancellationToken cancellationToken)
    {
        var pending = new ArrayBufferWriter<byte>();
        IdentifyMessage? merged = null;
        var count = 0;
        var chunk = new byte[4096];
        while (true)
        {
            var read = await io.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (read == 0)
                break;
            pending.Write(chunk.AsSpan(0, read));
            var consumedTotal = 0;
            while (IdentifyMessage.TryReadDelimited(pending.WrittenSpan[consumedTotal..], IdentifyMessage.DefaultMaxMessageSize, out var message, out var consumed))
            {
                if (++count > MaxMessages)
                    throw new FormatException($"identify: more than {MaxMessages} messages on one stream");
                merged = merged is null ? message : merged.Merge(message!);
                consumedTotal += consumed;
            }
            if (consumedTotal > 0)
            {
                var rest = pending.WrittenSpan[consumedTotal..].ToArray();
                pending.Clear();
                pending.Write(rest);
            }
        }
        if (pending.WrittenCount > 0)
            throw new FormatException($"identify: the stream ended inside a message ({pending.WrittenCount} bytes left over)");
        return merged ?? throw new FormatException("identify: the stream ended before any message");
    }

    /// <summary>Whether <paramref name="known"/> holds a signed record with a greater sequence number than <paramref name="incoming"/>'s.</summary>
    internal static bool IsNewer(IdentifyResult known, IdentifyResult incoming) =>
        known.RecordSequence > incoming.RecordSequence;

    /// <summary>Checks a message against the peer it came from and turns it into a result.</summary>
    /// <exception cref="FormatException">The public key is not the peer's.</exception>
    internal static IdentifyResult Verify(PeerId peer, IdentifyMessage message)
    {
        if (message.PublicKey is { } key && PeerId.FromPublicKey(key) != peer)
            throw new FormatException($"identify: {peer} sent the public key of {PeerId.FromPublicKey(key)}");
        var result = new IdentifyResult(peer, message.PublicKey, message.ProtocolVersion, message.AgentVersion,
            message.ListenAddrs, message.Protocols, message.ObservedAddr);
        if (message.SignedPeerRecord is { } envelope)
        {
            try
            {
                var (record, _) = PeerRecord.FromEnvelope(envelope.Span);
                if (record.Peer == peer)
                    result = result with { ListenAddresses = record.Addresses, SignedPeerRecord = envelope, RecordSequence = record.Sequence };
            }
            catch (Exception e) when (e is FormatException or InvalidSignatureException)
            {
                // An invalid record is ignored, as go-libp2p does: the plain addresses still stand.
            }
        }
        return result;
    }
}

/// <summary>
/// Our signed peer record, sealed once per address set: identify answers any peer, and a signature
/// per request would let any peer make us sign on demand (an RSA signature costs about 0.3 ms).
/// </summary>
internal sealed class SignedRecordCache(PrivateKey identity)
{
    private readonly object _gate = new();
    private Multiaddr[] _addresses = [];
    private byte[]? _sealed;

    /// <summary>The envelope for <paramref name="addresses"/>; a new one, with a greater sequence number, when they changed.</summary>
    public byte[] For(IReadOnlyList<Multiaddr> addresses)
    {
        lock (_gate)
        {
            if (_sealed is null || !_addresses.SequenceEqual(addresses))
            {
                // The sequence grows with each new address set: wall-clock nanoseconds do, as in go-libp2p.
                _sealed = new PeerRecord(PeerId.FromPublicKey(identity.PublicKey), PeerRecord.NextSequence(), addresses).Seal(identity);
                _addresses = [.. addresses];
            }
            return _sealed;
        }
    }
}
