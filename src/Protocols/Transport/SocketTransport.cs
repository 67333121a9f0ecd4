using Akka.Actor;
using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// TCP on <see cref="System.Net.Sockets.Socket"/> directly, as graph stages of our own:
/// <c>/ip4/…/tcp/N</c> and <c>/ip6/…/tcp/N</c> (0.0.0.0 and :: included) to listen, and
/// <c>/dns*/…/tcp/N</c> as well to dial. The same contract as <see cref="TcpTransport"/> (the
/// Akka.IO engine), without an actor per connection: see docs/connections.md for why both exist.
/// </summary>
public sealed class SocketTransport : ITransport
{
    /// <summary>The shared instance, without port reuse: each dial leaves from an ephemeral port.</summary>
    public static SocketTransport Instance { get; } = new();

    /// <summary>A transport whose dials leave from its listeners' ports when <paramref name="reusePort"/> is set (make one per node).</summary>
    public SocketTransport(bool reusePort = false) => PortReuse = reusePort ? new TcpPortReuse() : null;

    /// <summary>The listen ports this transport's dials leave from; null when port reuse is off.</summary>
    public TcpPortReuse? PortReuse { get; }

    /// <inheritdoc />
    public string Name => "tcp";

    /// <inheritdoc />
    public bool CanDial(Multiaddr address) => TcpAddresses.TryGetDialEndPoint(address, out _);

    /// <inheritdoc />
    public bool CanListen(Multiaddr address) => TcpAddresses.TryGetListenEndPoint(address, out _);

    /// <inheritdoc />
    public Flow<ByteString, ByteString, Task<TransportConnection>> Dial(ActorSystem system, Multiaddr address, TimeSpan connectTimeout)
    {
        if (!TcpAddresses.TryGetDialEndPoint(address, out var endPoint))
            throw new TransportException($"tcp: cannot dial {address}: not an /ip4, /ip6 or /dns address with /tcp");
        return Flow.FromGraph(new SocketConnectionStage(endPoint!, address, connectTimeout, PortReuse));
    }

    /// <inheritdoc />
    public Source<InboundConnection, Task<TransportListener>> Listen(ActorSystem system, Multiaddr address)
    {
        if (!TcpAddresses.TryGetListenEndPoint(address, out var endPoint))
            throw new TransportException($"tcp: cannot listen on {address}: not an /ip4 or /ip6 address with /tcp");
        return Source.FromGraph(new SocketListenerStage(endPoint!, address, PortReuse));
    }
}
