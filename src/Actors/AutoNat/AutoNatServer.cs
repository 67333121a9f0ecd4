using Google.Protobuf;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Protocols.AutoNat;
using Libp2p.Protocols.AutoNat.Pb;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using ResponseStatus = Libp2p.Protocols.AutoNat.Pb.DialResponse.Types.ResponseStatus;

namespace Libp2p.Actors.AutoNat;

/// <summary>
/// The server's side of AutoNAT v2 (<see cref="AutoNatV2.DialRequestProtocolId"/>): one inbound
/// stream, one DialRequest. It picks the first address it is willing to dial
/// (<see cref="AutoNatV2.SelectAddress"/>), charges dial data when that address's IP is not the
/// requester's, dials it from <paramref name="dialer"/> (a Swarm of its own, with its own identity:
/// a fresh connection to exactly that address, never the request's connection reused), sends the
/// nonce on the dial-back stream, and answers the DialResponse with the outcome. Bad input (an
/// unparsable or oversized message, one of the wrong type, dial data over its chunk limit) resets
/// the stream; a peer over its rate is answered E_REQUEST_REJECTED.
/// </summary>
/// <param name="dialer">The Swarm the dial-backs go out from; not the node's own, so no connection to the client is reused.</param>
/// <param name="settings">Limits and deadlines.</param>
public sealed class AutoNatServer(NetworkClient dialer, AutoNatServerSettings settings)
{
    private readonly RateLimiter _limiter = new(settings);

    /// <summary>Serves one request stream; returns when it is answered or reset.</summary>
    public async Task ServeAsync(StreamHandle stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var peer = stream.Connection.RemotePeer;
        var io = stream.Stream;
        io.ReadTimeout = io.WriteTimeout = (int)settings.StreamTimeout.TotalMilliseconds;
        using var deadline = new CancellationTokenSource(settings.StreamTimeout);
        var admitted = false;
        try
        {
            var message = await DelimitedMessages.ReadAsync(io, Message.Parser, AutoNatV2.MaxMessageSize, "autonat v2 request", deadline.Token).ConfigureAwait(false);
            if (message is null)
                return;
            if (message.MsgCase != Message.MsgOneofCase.DialRequest)
                throw new InvalidDataException($"autonat v2: {peer} opened with {(message.MsgCase == Message.MsgOneofCase.None ? "a message of no type" : message.MsgCase.ToString())}, not a DialRequest");
            var request = message.DialRequest;
            if (request.Addrs.Count > AutoNatV2.MaxAddresses)
                throw new InvalidDataException($"autonat v2: {peer} asked about {request.Addrs.Count} addresses, above the limit of {AutoNatV2.MaxAddresses}");
            if (!(admitted = _limiter.TryAdmit(peer)))
            {
                await AnswerAsync(stream, ResponseStatus.ERequestRejected, 0, DialStatus.Unused, deadline.Token).ConfigureAwait(false);
                return;
            }
            var addresses = request.Addrs.Select(a => Multiaddr.TryFromBytes(a.Span, out var address) ? address : null).ToList();
            var index = AutoNatV2.SelectAddress(addresses, settings.AllowPrivateAddresses);
            if (index < 0)
            {
                await AnswerAsync(stream, ResponseStatus.EDialRefused, 0, DialStatus.Unused, deadline.Token).ConfigureAwait(false);
                return;
            }
            var selected = addresses[index]!;
            if (AutoNatV2.RequiresDialData(selected, stream.Connection.RemoteAddress))
                await ChargeDialDataAsync(io, peer, (uint)index, deadline.Token).ConfigureAwait(false);
            var outcome = await DialBackAsync(peer, selected, request.Nonce).ConfigureAwait(false);
            await AnswerAsync(stream, ResponseStatus.Ok, (uint)index, outcome, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            // Bad input or a peer too slow or gone: nothing useful to answer; the reset says it.
            stream.Reset();
        }
        finally
        {
            if (admitted)
                _limiter.Release(peer);
        }
    }

    /// <summary>Asks for dial data and reads it until at least the asked bytes came; a chunk over the spec's 4096 bytes or another message is bad input.</summary>
    private async Task ChargeDialDataAsync(Stream io, PeerId peer, uint index, CancellationToken cancellationToken)
    {
        var numBytes = (ulong)Math.Clamp(settings.DialDataBytes, AutoNatV2.MinDialData, AutoNatV2.MaxDialData);
        await DelimitedMessages.WriteAsync(io, new Message { DialDataRequest = new DialDataRequest { AddrIdx = index, NumBytes = numBytes } }, cancellationToken).ConfigureAwait(false);
        ulong received = 0;
        while (received < numBytes)
        {
            var message = await DelimitedMessages.ReadAsync(io, Message.Parser, AutoNatV2.MaxMessageSize, "autonat v2 dial data", cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException($"autonat v2: {peer} closed the stream after {received} of {numBytes} dial data bytes");
            if (message.MsgCase != Message.MsgOneofCase.DialDataResponse)
                throw new InvalidDataException($"autonat v2: {peer} sent {message.MsgCase} while dial data was due");
            var length = message.DialDataResponse.Data.Length;
            if (length > AutoNatV2.MaxDialDataChunk)
                throw new InvalidDataException($"autonat v2: {peer} sent a dial data chunk of {length} bytes, above the spec's {AutoNatV2.MaxDialDataChunk}");
            received += (ulong)length;
        }
    }

    /// <summary>Dials <paramref name="address"/> alone on a fresh connection and delivers the nonce; the outcome is the spec's DialStatus.</summary>
    private async Task<DialStatus> DialBackAsync(PeerId peer, Multiaddr address, ulong nonce)
    {
        using var deadline = new CancellationTokenSource(settings.DialBackTimeout);
        var options = DialOptions.Default.WithTimeout(settings.DialBackTimeout);
        try
        {
            try
            {
                await dialer.DialPeerAsync(peer, options, [address], deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return DialStatus.EDialError;
            }
            StreamHandle back;
            try
            {
                back = await dialer.NewStreamAsync(peer, [AutoNatV2.DialBackProtocolId], options.WithNoDial("autonat v2: the dial-back uses the connection just made"), deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return DialStatus.EDialBackError;
            }
            try
            {
                back.Stream.ReadTimeout = back.Stream.WriteTimeout = (int)settings.DialBackTimeout.TotalMilliseconds;
                await DelimitedMessages.WriteAsync(back.Stream, new DialBack { Nonce = nonce }, deadline.Token).ConfigureAwait(false);
                var reply = await DelimitedMessages.ReadAsync(back.Stream, DialBackResponse.Parser, AutoNatV2.MaxMessageSize, "autonat v2 dial-back response", deadline.Token).ConfigureAwait(false);
                back.Close();
                return reply is { Status: DialBackResponse.Types.DialBackStatus.Ok } ? DialStatus.Ok : DialStatus.EDialBackError;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or TimeoutException or OperationCanceledException or ObjectDisposedException)
            {
                back.Reset();
                return DialStatus.EDialBackError;
            }
        }
        finally
        {
            // The next check of this peer must dial afresh, not find this connection.
            try
            {
                using var closing = new CancellationTokenSource(settings.DialBackTimeout);
                await dialer.ClosePeerAsync(peer, closing.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
            }
        }
    }

    private static async Task AnswerAsync(StreamHandle stream, ResponseStatus status, uint index, DialStatus dialStatus, CancellationToken cancellationToken)
    {
        var response = new DialResponse { Status = status, AddrIdx = index, DialStatus = dialStatus };
        await DelimitedMessages.WriteAsync(stream.Stream, new Message { DialResponse = response }, cancellationToken).ConfigureAwait(false);
        stream.CloseWrite();
    }

    /// <summary>
    /// One request at a time per peer (its dial-backs share the dialer's connection to it), and at
    /// most so many per minute per peer and in all. Request streams run on the thread pool, so the
    /// counts are under a lock; nothing inside it waits.
    /// </summary>
    private sealed class RateLimiter(AutoNatServerSettings settings)
    {
        private readonly object _gate = new();
        private readonly HashSet<PeerId> _busy = [];
        private readonly Queue<(DateTimeOffset At, PeerId Peer)> _lastMinute = new();

        public bool TryAdmit(PeerId peer)
        {
            lock (_gate)
            {
                var now = settings.Clock.GetUtcNow();
                while (_lastMinute.Count > 0 && now - _lastMinute.Peek().At >= TimeSpan.FromMinutes(1))
                    _lastMinute.Dequeue();
                if (_busy.Contains(peer) || _lastMinute.Count >= settings.RequestsPerMinute
                    || _lastMinute.Count(r => r.Peer == peer) >= settings.RequestsPerPeerPerMinute)
                    return false;
                _busy.Add(peer);
                _lastMinute.Enqueue((now, peer));
                return true;
            }
        }

        public void Release(PeerId peer)
        {
            lock (_gate)
                _busy.Remove(peer);
        }
    }
}
