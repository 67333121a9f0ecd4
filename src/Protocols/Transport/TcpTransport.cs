using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// TCP over Akka.IO, through Akka.Streams' <c>Tcp</c> stages: <c>/ip4/…/tcp/N</c> and
/// <c>/ip6/…/tcp/N</c>. Host names (<c>/dns*</c>) are resolved before dialing.
/// </summary>
public sealed class TcpTransport : ITransport
{
    /// <summary>The shared instance; the transport holds no state.</summary>
    public static TcpTransport Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "tcp";

    /// <inheritdoc />
    public bool CanDial(Multiaddr address) => TcpAddresses.TryGetDialEndPoint(address, out _);

    /// <inheritdoc />
    public bool CanListen(Multiaddr address) => TcpAddresses.TryGetListenEndPoint(address, out _);

    /// <inheritdoc />
    /// <remarks>
    /// The materialized task fails with a <see cref="TransportException"/> whose
    /// <see cref="TransportException.Failure"/> says whether the connect timed out, was refused, or
    /// found no route.
    /// </remarks>
    public Flow<ByteString, ByteString, Task<TransportConnection>> Dial(ActorSystem system, Multiaddr address, TimeSpan connectTimeout)
    {
        if (!TcpAddresses.TryGetDialEndPoint(address, out var endPoint))
            throw new TransportException($"tcp: cannot dial {address}: not an /ip4, /ip6 or /dns address with /tcp");
        // Half-close off: libp2p closes streams inside the muxer; the socket closes as a whole.
        // The timeout is kept here, not by Akka.IO, whose failure does not say it was a timeout;
        // Akka's own, a little later, only backs it up. The kill switch cuts the connect short.
        return system.TcpStream()
            .OutgoingConnection(endPoint!, null, null, false, connectTimeout + ConnectBackstop)
            .ViaMaterialized(KillSwitches.Single<ByteString>(), Keep.Both)
            // Fails with the owner's reason, before the connect fails, when the owner cuts the
            // connection (a dial that another address won). Ending without a reason proves nothing:
            // the stage above completes so when the TCP stage gives up on its own.
            .WatchTermination((m, cut) => ConnectedAsync(address, endPoint!, m.Item1, m.Item2, cut, connectTimeout));
    }

    private static readonly TimeSpan ConnectBackstop = TimeSpan.FromSeconds(1);

    private static async Task<TransportConnection> ConnectedAsync(Multiaddr address, EndPoint endPoint, Task<Akka.Streams.Dsl.Tcp.OutgoingConnection> connecting,
        UniqueKillSwitch connect, Task cut, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var connected = await connecting.WaitAsync(timeout).ConfigureAwait(false);
            return new TransportConnection(TcpAddresses.ToMultiaddr(connected.LocalAddress), TcpAddresses.ToMultiaddr(connected.RemoteAddress));
        }
        catch (TimeoutException) when (!connecting.IsCompleted)
        {
            var error = new TransportException($"tcp: dial {address} failed: timed out after {timeout.TotalSeconds:0.###} s", TransportFailure.TimedOut);
            _ = connecting.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            connect.Abort(error);
            throw error;
        }
        catch (Exception e) when (cut.IsFaulted && cut.Exception!.GetBaseException() is not Akka.Streams.StreamTcpException)
        {
            // Cut by its owner, not refused: nothing to diagnose, and no second connect to make.
            throw new TransportException($"tcp: dial {address} ended: the connection was closed before it connected", e.GetBaseException());
        }
        catch (Exception e)
        {
            throw await DiagnoseAsync(address, endPoint, e, timeout, timeout - Stopwatch.GetElapsedTime(started)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Akka.IO reports every failed connect alike ("Connection failed"), without the socket's error:
    /// one plain socket connect to the same endpoint learns whether it was refused or unreachable.
    /// </summary>
    private static async Task<TransportException> DiagnoseAsync(Multiaddr address, EndPoint endPoint, Exception error, TimeSpan timeout, TimeSpan budget)
    {
        var reason = error.GetBaseException();
        if (reason is not Akka.Streams.StreamTcpException || budget <= TimeSpan.Zero)
            return new TransportException($"tcp: dial {address} failed: {reason.Message}", reason);
        // A host name may resolve to either family: a dual-mode socket then takes both.
        using var probe = endPoint.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
            ? new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var deadline = new CancellationTokenSource(budget);
        try
        {
            await probe.ConnectAsync(endPoint, deadline.Token).ConfigureAwait(false);
            // Something accepts there now: whatever failed the first connect is gone.
            return new TransportException($"tcp: dial {address} failed: {reason.Message}", reason);
        }
        catch (SocketException e)
        {
            var (failure, what) = e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => (TransportFailure.Refused, "connection refused (nothing listens there)"),
                SocketError.HostUnreachable => (TransportFailure.Unreachable, "host unreachable"),
                SocketError.NetworkUnreachable => (TransportFailure.Unreachable, "network unreachable"),
                SocketError.TimedOut => (TransportFailure.TimedOut, "timed out"),
                _ => (TransportFailure.Other, e.Message),
            };
            return new TransportException($"tcp: dial {address} failed: {what}", failure, e);
        }
        catch (OperationCanceledException)
        {
            return new TransportException($"tcp: dial {address} failed: timed out after {timeout.TotalSeconds:0.###} s", TransportFailure.TimedOut, reason);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>TcpExt.Bind</c> takes a host name and resolves it, and .NET refuses to resolve 0.0.0.0
    /// and ::, so Akka.Streams' public API cannot listen on every interface; the stage under it
    /// takes an endpoint but is internal. A wildcard address is therefore served by the socket
    /// engine's listener (<see cref="SocketTransport"/>): its connections run on the socket
    /// stage. Every other address uses Akka.IO.
    /// </remarks>
    public Source<InboundConnection, Task<TransportListener>> Listen(ActorSystem system, Multiaddr address)
    {
        if (!TcpAddresses.TryGetListenEndPoint(address, out var endPoint) || endPoint is null)
            throw new TransportException($"tcp: cannot listen on {address}: not an /ip4 or /ip6 address with /tcp");
        if (endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any))
            return SocketTransport.Instance.Listen(system, address);
        return system.TcpStream().Bind(endPoint.Address.ToString(), endPoint.Port, backlog: 512, halfClose: false)
            .Select(incoming => new InboundConnection(
                new TransportConnection(TcpAddresses.ToMultiaddr(incoming.LocalAddress), TcpAddresses.ToMultiaddr(incoming.RemoteAddress)),
                incoming.Flow))
            .MapMaterializedValue(bound => bound.ContinueWith(
                t => t.IsCompletedSuccessfully
                    ? new TransportListener(TcpAddresses.ToMultiaddr(t.Result.LocalAddress), t.Result.Unbind)
                    : throw new TransportException($"tcp: listen on {address} failed: {t.Exception?.GetBaseException().Message ?? "cancelled"}", t.Exception?.GetBaseException()!),
                TaskScheduler.Default));
    }
}
