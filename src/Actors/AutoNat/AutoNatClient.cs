using System.Collections.Concurrent;
using System.Security.Cryptography;
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

/// <summary>What an AutoNAT v2 server found: the address it dialed and how the dial went.</summary>
/// <param name="Server">The server asked.</param>
/// <param name="Address">The address the server chose (the request's <c>addrIdx</c>).</param>
/// <param name="Index">Its index in the request.</param>
/// <param name="Status">The server's DialStatus, <see cref="DialStatus.Ok"/> only when the nonce came back to this node.</param>
public sealed record AutoNatResult(PeerId Server, Multiaddr Address, int Index, DialStatus Status)
{
    /// <summary>The address is reachable: the server dialed it and the nonce arrived.</summary>
    public bool Reachable => Status == DialStatus.Ok;

    /// <summary>The address is unreachable: the server could not connect to it.</summary>
    public bool Unreachable => Status == DialStatus.EDialError;
}

/// <summary>
/// The client's side of AutoNAT v2: asks a server to dial one of this node's addresses
/// (<see cref="CheckAsync"/>), pays dial data when asked, and takes the server's dial-back
/// (<see cref="ServeDialBackAsync"/>, the <see cref="AutoNatV2.DialBackProtocolId"/> handler),
/// which must carry the nonce of a check in progress. A reachable result is reported only when the
/// nonce came back: a server that claims OK without delivering it is not believed.
/// </summary>
public sealed class AutoNatClient
{
    private readonly NetworkClient _network;
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<bool>> _pending = new();

    /// <summary>A client that asks through <paramref name="network"/>; register <see cref="ServeDialBackAsync"/> for <see cref="AutoNatV2.DialBackProtocolId"/> on the same node.</summary>
    public AutoNatClient(NetworkClient network) => _network = network ?? throw new ArgumentNullException(nameof(network));

    /// <summary>The most dial data this client sends before it gives up on a check (the spec's upper bound).</summary>
    public int MaxDialData { get; init; } = AutoNatV2.MaxDialData;

    /// <summary>
    /// Asks <paramref name="server"/> to dial the first of <paramref name="addresses"/> it is willing
    /// to, and reports which address it chose and how that went.
    /// </summary>
    /// <exception cref="AutoNatException">The server refused (its ResponseStatus is set), broke the protocol, asked for more dial data than <see cref="MaxDialData"/>, or said OK without delivering the nonce.</exception>
    /// <exception cref="TimeoutException">No answer within <paramref name="timeout"/>.</exception>
    public async Task<AutoNatResult> CheckAsync(PeerId server, IReadOnlyList<Multiaddr> addresses, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count == 0 || addresses.Count > AutoNatV2.MaxAddresses)
            throw new ArgumentOutOfRangeException(nameof(addresses), $"an AutoNAT request carries 1 to {AutoNatV2.MaxAddresses} addresses, not {addresses.Count}");
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        var nonce = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(sizeof(ulong)));
        var delivered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[nonce] = delivered;
        try
        {
            var stream = await _network.NewStreamAsync(server, [AutoNatV2.DialRequestProtocolId], DialOptions.Default.WithTimeout(limit), deadline.Token).ConfigureAwait(false);
            try
            {
                var io = stream.Stream;
                io.ReadTimeout = io.WriteTimeout = (int)limit.TotalMilliseconds;
                var request = new DialRequest { Nonce = nonce };
                request.Addrs.AddRange(addresses.Select(a => ByteString.CopyFrom(a.Bytes)));
                await DelimitedMessages.WriteAsync(io, new Message { DialRequest = request }, deadline.Token).ConfigureAwait(false);
                var response = await ReadResponseAsync(io, server, addresses.Count, deadline.Token).ConfigureAwait(false);
                stream.Close();
                if (response.Status != ResponseStatus.Ok)
                    throw new AutoNatException(response.Status, $"autonat server {server} refused the check: {response.Status}");
                if (response.AddrIdx >= addresses.Count)
                    throw new AutoNatException(response.Status, $"autonat server {server} answered about address {response.AddrIdx} of a request of {addresses.Count}");
                var status = response.DialStatus;
                if (status is not (DialStatus.Ok or DialStatus.EDialError or DialStatus.EDialBackError))
                    throw new AutoNatException(response.Status, $"autonat server {server} answered a dial status this client does not know: {(int)status}");
                // The server answers after the dial-back's response, which the handler sends after
                // marking the nonce: an OK without it is a server claiming a dial that never came.
                if (status == DialStatus.Ok && !delivered.Task.IsCompleted)
                    throw new AutoNatException(response.Status, $"autonat server {server} reported the dial-back OK but its nonce never arrived");
                return new AutoNatResult(server, addresses[(int)response.AddrIdx], (int)response.AddrIdx, status);
            }
            catch
            {
                stream.Reset();
                throw;
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"autonat check with {server} timed out after {limit.TotalSeconds:0.###} s");
        }
        finally
        {
            _pending.TryRemove(nonce, out _);
        }
    }

    /// <summary>Reads until the DialResponse, paying each dial-data request on the way.</summary>
    private async Task<DialResponse> ReadResponseAsync(Stream io, PeerId server, int count, CancellationToken cancellationToken)
    {
        var paid = false;
        while (true)
        {
            var message = await DelimitedMessages.ReadAsync(io, Message.Parser, AutoNatV2.MaxMessageSize, "autonat v2 response", cancellationToken).ConfigureAwait(false)
                ?? throw new AutoNatException(null, $"autonat server {server} closed the stream without a DialResponse");
            switch (message.MsgCase)
            {
                case Message.MsgOneofCase.DialResponse:
                    return message.DialResponse;
                case Message.MsgOneofCase.DialDataRequest when !paid:
                    var ask = message.DialDataRequest;
                    if (ask.AddrIdx >= count)
                        throw new AutoNatException(null, $"autonat server {server} asked dial data for address {ask.AddrIdx} of a request of {count}");
                    if (ask.NumBytes > (ulong)MaxDialData)
                        throw new AutoNatException(null, $"autonat server {server} asked {ask.NumBytes} bytes of dial data, above this client's {MaxDialData}");
                    await SendDialDataAsync(io, ask.NumBytes, cancellationToken).ConfigureAwait(false);
                    paid = true;
                    break;
                default:
                    throw new AutoNatException(null, $"autonat server {server} sent {message.MsgCase} where a DialResponse was due");
            }
        }
    }

    private static async Task SendDialDataAsync(Stream io, ulong numBytes, CancellationToken cancellationToken)
    {
        // One chunk serialized once and sent as often as needed: the spec lets the last one overshoot.
        var chunk = DelimitedMessages.ToDelimitedBytes(new Message { DialDataResponse = new DialDataResponse { Data = ByteString.CopyFrom(new byte[AutoNatV2.MaxDialDataChunk]) } });
        for (ulong sent = 0; sent < numBytes; sent += AutoNatV2.MaxDialDataChunk)
            await io.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
        await io.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Serves one dial-back stream: reads the DialBack, marks its nonce delivered if it is one of a
    /// check in progress, answers OK and closes. A nonce no check sent is reset, as is bad input.
    /// </summary>
    public async Task ServeDialBackAsync(StreamHandle stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var io = stream.Stream;
        io.ReadTimeout = io.WriteTimeout = 10_000;
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var back = await DelimitedMessages.ReadAsync(io, DialBack.Parser, AutoNatV2.MaxMessageSize, "autonat v2 dial-back", deadline.Token).ConfigureAwait(false);
            if (back is null || !_pending.TryGetValue(back.Nonce, out var delivered))
            {
                stream.Reset();
                return;
            }
            delivered.TrySetResult(true);
            await DelimitedMessages.WriteAsync(io, new DialBackResponse { Status = DialBackResponse.Types.DialBackStatus.Ok }, deadline.Token).ConfigureAwait(false);
            stream.Close();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            stream.Reset();
        }
    }
}
