using System.Diagnostics;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Dcutr;
using Libp2p.Protocols.Dcutr.Pb;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Dcutr;

/// <summary>Hole punching gave up, or a peer broke the exchange; the message says which and why.</summary>
public sealed class HolePunchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HolePunchException(string message, int attempts, Exception? inner = null) : base(message, inner) => Attempts = attempts;

    /// <summary>The CONNECT/SYNC rounds run before it ended.</summary>
    public int Attempts { get; }
}

/// <summary>A hole punch that succeeded: the direct connection, and how many rounds it took.</summary>
/// <param name="Connection">The direct connection now up.</param>
/// <param name="Attempts">The CONNECT/SYNC rounds run (1 to <see cref="HolePunchSettings.MaxAttempts"/>); 0 when the spec's unilateral upgrade (a plain dial of the peer's public addresses) sufficed.</param>
/// <param name="Rtt">The relayed round-trip time the last round measured, half of which the initiator waited before dialing.</param>
public sealed record HolePunchResult(ConnectionInfo Connection, int Attempts, TimeSpan Rtt);

/// <summary>
/// The two sides of DCUtR (libp2p/specs <c>relay/DCUtR.md</c>) over a relayed connection. The spec's
/// B, the peer that received the relayed connection, initiates: it sends CONNECT with its
/// addresses, times the relayed round trip to the peer's CONNECT, sends SYNC and dials after half
/// that time; A, which dialed through the relay, answers CONNECT and dials at once on SYNC. Both
/// dial with <see cref="DialOptions.ForceDirectDial"/> (a relayed connection does not count, a
/// relayed address is not dialed) and <see cref="DialOptions.SimultaneousConnect"/> (B is the client:
/// the initiator of security and muxer negotiation on the TCP connection both sides opened).
/// </summary>
/// <remarks>
/// Each round runs on a stream of its own, as go and rust do (a go peer closes its side after one
/// round); the serving side also takes further rounds on one stream, as the spec describes. Every
/// read has <see cref="HolePunchSettings.StreamTimeout"/> and the spec's 4 KiB bound; a malformed
/// message or an expired deadline resets the stream.
/// </remarks>
public static class HolePunchExchange
{
    /// <summary>
    /// Runs the initiator's side with <paramref name="peer"/>, over the relayed connection to it:
    /// up to <see cref="HolePunchSettings.MaxAttempts"/> rounds, each offering the addresses
    /// <paramref name="candidates"/> gives then.
    /// </summary>
    /// <exception cref="HolePunchException">Every round failed, the peer offered no address we can dial, or it broke the exchange.</exception>
    public static async Task<HolePunchResult> InitiateAsync(NetworkClient network, PeerId peer, Func<CancellationToken, Task<IReadOnlyList<Multiaddr>>> candidates,
        Func<Multiaddr, bool> canDial, HolePunchSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(canDial);
        ArgumentNullException.ThrowIfNull(settings);
        var failures = new List<string>();
        for (var attempt = 1; attempt <= settings.MaxAttempts; attempt++)
        {
            var own = Direct(await candidates(cancellationToken).ConfigureAwait(false));
            if (own.Count == 0)
                throw new HolePunchException($"dcutr with {peer}: this node has no direct address to offer", attempt - 1);
            // The stream goes over the relayed connection: it is the only one, and a limited one will do.
            var stream = await network.NewStreamAsync(peer, [HolePunchMessages.ProtocolId],
                DialOptions.Default.WithNoDial("hole punching uses the relayed connection").WithUseTransient("hole punching"), cancellationToken).ConfigureAwait(false);
            IReadOnlyList<Multiaddr> theirs;
            TimeSpan rtt;
            try
            {
                await stream.SetServiceAsync(ServiceNames.HolePunch).ConfigureAwait(false);
                await WriteAsync(stream, HolePunchMessages.Connect(own), settings, cancellationToken).ConfigureAwait(false);
                var started = Stopwatch.GetTimestamp();
                var connect = await ReadAsync(stream, HolePunch.Types.Type.Connect, settings, cancellationToken).ConfigureAwait(false);
                rtt = Stopwatch.GetElapsedTime(started);
                theirs = HolePunchMessages.Addresses(connect, canDial);
                if (theirs.Count == 0)
                {
                    stream.Reset();
                    throw new HolePunchException($"dcutr with {peer}: its CONNECT offered no direct address we can dial", attempt);
                }
                await WriteAsync(stream, HolePunchMessages.Sync(), settings, cancellationToken).ConfigureAwait(false);
                stream.Close();
            }
            catch (Exception e) when (e is not HolePunchException and not OperationCanceledException || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                stream.Reset();
                throw new HolePunchException($"dcutr with {peer}: the exchange broke in round {attempt}: {e.Message}", attempt, e);
            }
            // Half the relayed round trip: the SYNC reaches the peer then, and it dials at once.
            await Task.Delay(rtt / 2, cancellationToken).ConfigureAwait(false);
            try
            {
                var connection = await DialAsync(network, peer, theirs, isClient: true, settings, cancellationToken).ConfigureAwait(false);
                return new HolePunchResult(connection, attempt, rtt);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                failures.Add($"round {attempt}: {e.Message}");
            }
        }
        throw new HolePunchException($"dcutr with {peer}: no direct connection after {settings.MaxAttempts} rounds ({string.Join("; ", failures)})", settings.MaxAttempts);
    }

    /// <summary>
    /// The spec's unilateral upgrade, tried before any CONNECT: when the peer advertises public
    /// addresses (identify's listen addresses: not loopback, private, shared or link-local), it may
    /// be reachable as it is, so they are dialed directly (<see cref="DialOptions.ForceDirectDial"/>,
    /// within <see cref="HolePunchSettings.DialTimeout"/>). Null when it advertises none or the
    /// dial fails; then the CONNECT/SYNC exchange runs.
    /// </summary>
    public static async Task<HolePunchResult?> TryDirectDialAsync(NetworkClient network, PeerId peer, IReadOnlyList<Multiaddr> advertised,
        Func<Multiaddr, bool> canDial, HolePunchSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(advertised);
        ArgumentNullException.ThrowIfNull(canDial);
        ArgumentNullException.ThrowIfNull(settings);
        var reachable = advertised.Where(a => !a.Has(MultiaddrProtocol.P2pCircuit) && IsPublic(a) && canDial(a)).Distinct().ToList();
        if (reachable.Count == 0)
            return null;
        try
        {
            var options = DialOptions.Default.WithForceDirectDial("hole punching: the peer's public addresses").WithTimeout(settings.DialTimeout);
            var connection = await network.DialPeerAsync(peer, options, reachable, cancellationToken).ConfigureAwait(false);
            return new HolePunchResult(connection, 0, TimeSpan.Zero);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="address"/> is an IP address that may be reachable from anywhere: not loopback, private (RFC 1918, RFC 4193), shared (RFC 6598), link-local or unspecified.</summary>
    public static bool IsPublic(Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.TryGetIPEndPoint(out var endPoint))
            return false;
        var ip = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        if (System.Net.IPAddress.IsLoopback(ip) || ip.Equals(System.Net.IPAddress.Any) || ip.Equals(System.Net.IPAddress.IPv6Any))
            return false;
        var b = ip.GetAddressBytes();
        return ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? !(b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) || (b[0] == 100 && (b[1] & 0xc0) == 64) || (b[0] == 169 && b[1] == 254))
            : !((b[0] & 0xfe) == 0xfc || ip.IsIPv6LinkLocal);
    }

    /// <summary>
    /// Serves one DCUtR stream (the spec's A): answers each CONNECT with our addresses, and on SYNC
    /// dials the addresses the peer sent. Refuses, by resetting, a stream on a connection we
    /// accepted: the peer that received the relayed connection initiates, the one that dialed it
    /// serves. Returns when the peer closes the stream between rounds.
    /// </summary>
    /// <exception cref="HolePunchException">The peer broke the exchange (the stream is reset); the handler's caller logs it.</exception>
    public static async Task ServeAsync(StreamHandle stream, NetworkClient network, Func<CancellationToken, Task<IReadOnlyList<Multiaddr>>> candidates,
        Func<Multiaddr, bool> canDial, HolePunchSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(canDial);
        ArgumentNullException.ThrowIfNull(settings);
        var peer = stream.Connection.RemotePeer;
        if (stream.Connection.Stat.Direction == Direction.Inbound)
        {
            stream.Reset();
            throw new HolePunchException($"dcutr from {peer}: refused on a connection we accepted (the side that received the relayed connection initiates)", 0);
        }
        await stream.SetServiceAsync(ServiceNames.HolePunch).ConfigureAwait(false);
        for (var round = 1; ; round++)
        {
            IReadOnlyList<Multiaddr> theirs;
            try
            {
                var connect = await ReadFirstAsync(stream, settings, cancellationToken).ConfigureAwait(false);
                if (connect is null)
                {
                    // The peer is done: a go peer closes after one round.
                    stream.Close();
                    return;
                }
                if (!connect.HasType || connect.Type != HolePunch.Types.Type.Connect)
                    throw new InvalidDataException($"dcutr: a {(connect.HasType ? connect.Type.ToString() : "message without its type")} where a CONNECT was due");
                theirs = HolePunchMessages.Addresses(connect, canDial);
                var own = Direct(await candidates(cancellationToken).ConfigureAwait(false));
                await WriteAsync(stream, HolePunchMessages.Connect(own), settings, cancellationToken).ConfigureAwait(false);
                await ReadAsync(stream, HolePunch.Types.Type.Sync, settings, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                stream.Reset();
                throw new HolePunchException($"dcutr from {peer}: round {round} broke: {e.Message}", round, e);
            }
            if (theirs.Count == 0)
            {
                stream.Reset();
                throw new HolePunchException($"dcutr from {peer}: its CONNECT offered no direct address we can dial", round);
            }
            try
            {
                await DialAsync(network, peer, theirs, isClient: false, settings, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // The initiator decides whether to run another round; our failed dial is no error of the stream.
            }
        }
    }

    private static async Task<ConnectionInfo> DialAsync(NetworkClient network, PeerId peer, IReadOnlyList<Multiaddr> addresses, bool isClient,
        HolePunchSettings settings, CancellationToken cancellationToken)
    {
        var options = DialOptions.Default
            .WithForceDirectDial("hole punching")
            .WithSimultaneousConnect(isClient, "hole punching")
            .WithTimeout(settings.DialTimeout);
        return await network.DialPeerAsync(peer, options, addresses, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Relayed addresses are never offered: a hole is punched to a direct address.</summary>
    private static List<Multiaddr> Direct(IReadOnlyList<Multiaddr> addresses) =>
        addresses.Where(a => !a.Has(MultiaddrProtocol.P2pCircuit)).Distinct().ToList();

    private static CancellationTokenSource Deadline(HolePunchSettings settings, CancellationToken cancellationToken)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.StreamTimeout);
        return deadline;
    }

    /// <summary>A round's CONNECT, or null when the peer closed the stream before it (it is done).</summary>
    private static async Task<HolePunch?> ReadFirstAsync(StreamHandle stream, HolePunchSettings settings, CancellationToken cancellationToken)
    {
        using var deadline = Deadline(settings, cancellationToken);
        try
        {
            return await DelimitedMessages.ReadAsync(stream.Stream, HolePunch.Parser, HolePunchMessages.MaxMessageSize, "dcutr", deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no CONNECT within {settings.StreamTimeout.TotalSeconds:0.###} s");
        }
    }

    private static async Task<HolePunch> ReadAsync(StreamHandle stream, HolePunch.Types.Type expected, HolePunchSettings settings, CancellationToken cancellationToken)
    {
        using var deadline = Deadline(settings, cancellationToken);
        try
        {
            return await HolePunchMessages.ReadAsync(stream.Stream, expected, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no {expected} within {settings.StreamTimeout.TotalSeconds:0.###} s");
        }
    }

    private static async Task WriteAsync(StreamHandle stream, HolePunch message, HolePunchSettings settings, CancellationToken cancellationToken)
    {
        using var deadline = Deadline(settings, cancellationToken);
        try
        {
            var output = new System.Buffers.ArrayBufferWriter<byte>();
            HolePunchMessages.Write(message, output);
            await stream.Stream.WriteAsync(output.WrittenMemory, deadline.Token).ConfigureAwait(false);
            await stream.Stream.FlushAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the {message.Type} was not taken within {settings.StreamTimeout.TotalSeconds:0.###} s");
        }
    }
}
