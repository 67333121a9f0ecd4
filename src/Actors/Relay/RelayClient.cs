using Libp2p.Actors.Network;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Relay;
using Libp2p.Protocols.Relay.Pb;
using Libp2p.Protocols.Records;
using Status = Libp2p.Protocols.Relay.Pb.Status;

namespace Libp2p.Actors.Relay;

/// <summary>A reservation on a relay, as the relay granted it.</summary>
/// <param name="Relay">The relay.</param>
/// <param name="Expiration">When it ends unless renewed (reserve again before then).</param>
/// <param name="Addresses">Where others reach this node through the relay: the relay's addresses with <c>/p2p-circuit</c> (without this node's <c>/p2p</c>, as identify advertises addresses).</param>
/// <param name="Voucher">The relay's signed voucher, verified; null if the relay sent none.</param>
/// <param name="DurationLimit">How long each circuit may stay open; null for no limit.</param>
/// <param name="DataLimit">How many bytes each circuit carries each way; null for no limit.</param>
public sealed record RelayReservation(PeerId Relay, DateTimeOffset Expiration, IReadOnlyList<Multiaddr> Addresses, ReservationVoucher? Voucher,
    TimeSpan? DurationLimit, long? DataLimit);

/// <summary>
/// Reserves a slot on a relay (the hop protocol's RESERVE), so that the relay opens circuits to
/// this node. The reservation lasts while the connection to the relay does and until it expires;
/// reserve again before <see cref="RelayReservation.Expiration"/> to keep it.
/// </summary>
public static class RelayClient
{
    /// <summary>Reserves on <paramref name="relay"/>, dialing it at <paramref name="addresses"/> (or its known addresses) if not connected.</summary>
    /// <exception cref="CircuitRelayException">The relay refused (its status is the spec's code), answered something else, or sent a voucher that does not verify.</exception>
    /// <exception cref="TimeoutException">No answer within <paramref name="timeout"/>.</exception>
    /// <exception cref="ResourceLimitExceededException">This node's resource manager refused the hop stream (the relay service's scope is full).</exception>
    public static async Task<RelayReservation> ReserveAsync(NetworkClient network, PeerId relay, IReadOnlyList<Multiaddr>? addresses = null,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(relay);
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        var options = DialOptions.Default.WithTimeout(limit);
        try
        {
            if (addresses is { Count: > 0 })
                await network.DialPeerAsync(relay, options, addresses, deadline.Token).ConfigureAwait(false);
            var hop = await network.NewStreamAsync(relay, [CircuitRelay.HopProtocolId], options, deadline.Token).ConfigureAwait(false);
            try
            {
                await RelayStreams.AttachAsync(hop).ConfigureAwait(false);
                var io = hop.Stream;
                io.ReadTimeout = io.WriteTimeout = (int)limit.TotalMilliseconds;
                await DelimitedMessages.WriteAsync(io, new HopMessage { Type = HopMessage.Types.Type.Reserve }, deadline.Token).ConfigureAwait(false);
                var reply = await DelimitedMessages.ReadAsync(io, HopMessage.Parser, CircuitRelay.MaxMessageSize, "circuit relay hop", deadline.Token).ConfigureAwait(false)
                    ?? throw new CircuitRelayException(Status.Unused, $"relay {relay} closed the hop stream without answering the reservation");
                hop.Close();
                return Read(network.LocalPeer, relay, reply);
            }
            catch
            {
                hop.Reset();
                throw;
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"reservation on relay {relay} timed out after {limit.TotalSeconds:0.###} s");
        }
    }

    /// <summary>Checks a reservation answer and takes it apart.</summary>
    private static RelayReservation Read(PeerId local, PeerId relay, HopMessage reply)
    {
        if (reply.Type != HopMessage.Types.Type.Status)
            throw new CircuitRelayException(Status.UnexpectedMessage, $"relay {relay} answered RESERVE with {reply.Type}, not STATUS");
        if (reply.Status != Status.Ok)
            throw new CircuitRelayException(reply.Status, $"relay {relay} refused the reservation: {CircuitRelay.NameOf(reply.Status)}");
        if (reply.Reservation is not { HasExpire: true } reservation)
            throw new CircuitRelayException(Status.MalformedMessage, $"relay {relay} accepted the reservation but sent no expiration");
        var expiration = DateTimeOffset.FromUnixTimeSeconds((long)Math.Min(reservation.Expire, (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds()));
        ReservationVoucher? voucher = null;
        if (reservation.HasVoucher)
        {
            try
            {
                voucher = ReservationVoucher.Open(reservation.Voucher.Span);
            }
            catch (Exception e) when (e is FormatException or InvalidSignatureException)
            {
                throw new CircuitRelayException(Status.MalformedMessage, $"relay {relay} sent a voucher that does not verify: {e.Message}", e);
            }
            if (voucher.Relay != relay || voucher.Peer != local)
                throw new CircuitRelayException(Status.MalformedMessage, $"relay {relay} sent a voucher for relay {voucher.Relay} and peer {voucher.Peer}");
        }
        var addresses = new List<Multiaddr>();
        foreach (var bytes in reservation.Addrs)
        {
            // As go does: an address that does not parse, or is another relay's, is skipped.
            if (!Multiaddr.TryFromBytes(bytes.Span, out var address) || address.Has(MultiaddrProtocol.P2pCircuit))
                continue;
            var withRelay = address.PeerIdText is null ? address.Encapsulate($"/p2p/{relay}") : address;
            if (withRelay.PeerIdText == relay.ToString())
                addresses.Add(withRelay.Encapsulate("/p2p-circuit"));
        }
        TimeSpan? duration = reply.Limit is { Duration: > 0 } d ? TimeSpan.FromSeconds(d.Duration) : null;
        long? data = reply.Limit is { Data: > 0 } l ? (long)Math.Min(l.Data, long.MaxValue) : null;
        return new RelayReservation(relay, expiration, addresses, voucher, duration, data);
    }
}
