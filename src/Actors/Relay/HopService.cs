using Akka.Actor;
using Akka.Streams;
using Google.Protobuf;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Relay;
using Libp2p.Protocols.Relay.Pb;
using Status = Libp2p.Protocols.Relay.Pb.Status;
using PbPeer = Libp2p.Protocols.Relay.Pb.Peer;

namespace Libp2p.Actors.Relay;

/// <summary>
/// The relay's side of the hop protocol (<see cref="CircuitRelay.HopProtocolId"/>): one inbound
/// stream, one request. A RESERVE is answered with a reservation (expiry, the relay's addresses, a
/// signed voucher) and the limits; a CONNECT opens the stop stream to the target over its
/// reservation's connection, and on both OKs the hop stream and the stop stream become one circuit
/// (<see cref="CircuitBridge"/>). Every refusal is the spec's status code. The books (who may
/// reserve, how many circuits) are the <see cref="RelayServiceActor"/>'s.
/// </summary>
public sealed class HopService
{
    private readonly IActorRef _books;
    private readonly NetworkClient _network;
    private readonly RelayServiceSettings _settings;
    private readonly IMaterializer _materializer;
    private long _nextCircuit;

    /// <summary>A hop service keeping its books in <paramref name="books"/> and reaching targets through <paramref name="network"/>.</summary>
    public HopService(IActorRef books, NetworkClient network, RelayServiceSettings settings, IMaterializer materializer)
    {
        _books = books;
        _network = network;
        _settings = settings;
        _materializer = materializer;
    }

    /// <summary>Serves one hop stream; returns when its request is answered, or when its circuit ends.</summary>
    public async Task ServeAsync(StreamHandle stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var io = stream.Stream;
        var request = await RelayStreams.ReadRequestAsync(stream, HopMessage.Parser, "circuit relay hop", _settings.HandshakeTimeout, AnswerAsync).ConfigureAwait(false);
        if (request is null)
            return;
        if (!request.HasType)
        {
            await AnswerAsync(io, Status.MalformedMessage).ConfigureAwait(false);
            return;
        }
        switch (request.Type)
        {
            case HopMessage.Types.Type.Reserve:
                await ReserveAsync(stream).ConfigureAwait(false);
                break;
            case HopMessage.Types.Type.Connect:
                await ConnectAsync(stream, request).ConfigureAwait(false);
                break;
            default:
                await AnswerAsync(io, Status.UnexpectedMessage).ConfigureAwait(false);
                break;
        }
    }

    private async Task ReserveAsync(StreamHandle stream)
    {
        var peer = stream.Connection.RemotePeer;
        var answer = await _books.Ask(new RelayServiceProtocol.Reserve(peer, stream.Connection), _settings.HandshakeTimeout).ConfigureAwait(false);
        if (answer is RelayServiceProtocol.Refused refused)
        {
            await AnswerAsync(stream.Stream, refused.Status).ConfigureAwait(false);
            return;
        }
        var reserved = (RelayServiceProtocol.Reserved)answer;
        var reservation = new Reservation { Expire = (ulong)reserved.Expiration.ToUnixTimeSeconds(), Voucher = ByteString.CopyFrom(reserved.Voucher) };
        // The addresses the client may advertise behind /p2p-circuit: where this relay listens, never a relayed one.
        foreach (var address in await _network.InterfaceListenAddressesAsync().ConfigureAwait(false))
        {
            if (!address.Has(MultiaddrProtocol.P2pCircuit))
                reservation.Addrs.Add(ByteString.CopyFrom(address.Encapsulate($"/p2p/{_network.LocalPeer}").Bytes));
        }
        var message = new HopMessage { Type = HopMessage.Types.Type.Status, Status = Status.Ok, Reservation = reservation };
        if (_settings.Limit is { } limit)
            message.Limit = limit;
        await DelimitedMessages.WriteAsync(stream.Stream, message).ConfigureAwait(false);
        stream.CloseWrite();
    }

    private async Task ConnectAsync(StreamHandle hop, HopMessage request)
    {
        var source = hop.Connection.RemotePeer;
        if (request.Peer is not { HasId: true } || !TryReadPeer(request.Peer.Id, out var target))
        {
            await AnswerAsync(hop.Stream, Status.MalformedMessage).ConfigureAwait(false);
            return;
        }
        var circuit = Interlocked.Increment(ref _nextCircuit);
        try
        {
            // Given back in the finally whatever comes of this: refused, allowed, or no answer in
            // time (the books may have allowed it after the deadline; they ignore a close of a
            // circuit they refused).
            var answer = await _books.Ask(new RelayServiceProtocol.OpenCircuit(circuit, source, hop.Connection, target), _settings.HandshakeTimeout).ConfigureAwait(false);
            if (answer is RelayServiceProtocol.Refused refused)
            {
                await AnswerAsync(hop.Stream, refused.Status).ConfigureAwait(false);
                return;
            }
            var stop = await OpenStopAsync(source, target).ConfigureAwait(false);
            if (stop is null)
            {
                await AnswerAsync(hop.Stream, Status.ConnectionFailed).ConfigureAwait(false);
                return;
            }
            try
            {
                // What the bridge holds while it copies: one chunk in flight each way.
                await hop.Scope.ReserveMemoryAsync(CircuitBridge.HeldPerCircuit, ReservationPriority.High).ConfigureAwait(false);
            }
            catch (ResourceLimitExceededException)
            {
                stop.Reset();
                await AnswerAsync(hop.Stream, Status.ResourceLimitExceeded).ConfigureAwait(false);
                return;
            }
            var ok = new HopMessage { Type = HopMessage.Types.Type.Status, Status = Status.Ok };
            if (_settings.Limit is { } limit)
                ok.Limit = limit;
            try
            {
                await DelimitedMessages.WriteAsync(hop.Stream, ok).ConfigureAwait(false);
            }
            catch (Exception)
            {
                stop.Reset();
                throw;
            }
            // From here the streams carry the circuit: no deadline but the circuit's own.
            hop.Stream.ReadTimeout = hop.Stream.WriteTimeout = Timeout.Infinite;
            stop.Stream.ReadTimeout = stop.Stream.WriteTimeout = Timeout.Infinite;
            await CircuitBridge.RunAsync(hop, stop, _settings.CircuitData, _settings.CircuitDuration, _materializer).ConfigureAwait(false);
        }
        finally
        {
            _books.Tell(new RelayServiceProtocol.CircuitClosed(circuit));
        }
    }

    /// <summary>Opens the stop stream to <paramref name="target"/> and has it accept; null when it cannot be reached or refuses.</summary>
    private async Task<StreamHandle?> OpenStopAsync(PeerId source, PeerId target)
    {
        using var deadline = new CancellationTokenSource(_settings.HandshakeTimeout);
        StreamHandle stop;
        try
        {
            // Over the connection the reservation keeps open: a relay does not dial its clients.
            stop = await _network.NewStreamAsync(target, [CircuitRelay.StopProtocolId],
                DialOptions.Default.WithNoDial("circuit relay: the target is reached over its reservation's connection"), deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
        try
        {
            await RelayStreams.AttachAsync(stop).ConfigureAwait(false);
            stop.Stream.ReadTimeout = stop.Stream.WriteTimeout = (int)_settings.HandshakeTimeout.TotalMilliseconds;
            var connect = new StopMessage { Type = StopMessage.Types.Type.Connect, Peer = new PbPeer { Id = ByteString.CopyFrom(source.ToBytes()) } };
            if (_settings.Limit is { } limit)
                connect.Limit = limit;
            await DelimitedMessages.WriteAsync(stop.Stream, connect, deadline.Token).ConfigureAwait(false);
            var reply = await DelimitedMessages.ReadAsync(stop.Stream, StopMessage.Parser, CircuitRelay.MaxMessageSize, "circuit relay stop", deadline.Token).ConfigureAwait(false);
            if (reply is { Type: StopMessage.Types.Type.Status, Status: Status.Ok })
                return stop;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or TimeoutException or OperationCanceledException or ResourceLimitExceededException)
        {
        }
        stop.Reset();
        return null;
    }

    private static bool TryReadPeer(ByteString bytes, out PeerId peer)
    {
        try
        {
            peer = PeerId.FromBytes(bytes.Span);
            return true;
        }
        catch (FormatException)
        {
            peer = null!;
            return false;
        }
    }

    /// <summary>Answers a refusal; a peer that went away meanwhile needs no answer.</summary>
    private static async Task AnswerAsync(Stream io, Status status)
    {
        try
        {
            await DelimitedMessages.WriteAsync(io, new HopMessage { Type = HopMessage.Types.Type.Status, Status = status }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or TimeoutException or ObjectDisposedException)
        {
        }
    }
}
