using Akka.Actor;
using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// A way to move raw bytes between two hosts (the seed's <c>transport.Transport</c>): TCP, or the
/// in-memory transport for tests. A connection is an Akka.Streams flow of bytes; security and
/// muxing are layered on top by the upgrader, so every transport gets them the same way.
/// </summary>
public interface ITransport
{
    /// <summary>The multiaddr protocol names this transport serves, e.g. <c>tcp</c> or <c>memory</c>.</summary>
    string Name { get; }

    /// <summary>Whether <paramref name="address"/> is one this transport can dial.</summary>
    bool CanDial(Multiaddr address);

    /// <summary>Whether <paramref name="address"/> is one this transport can listen on.</summary>
    bool CanListen(Multiaddr address);

    /// <summary>
    /// A flow that connects to <paramref name="address"/> when materialized. Its materialized task
    /// completes with both ends' addresses once connected, or fails with a
    /// <see cref="TransportException"/>.
    /// </summary>
    Flow<ByteString, ByteString, Task<TransportConnection>> Dial(ActorSystem system, Multiaddr address, TimeSpan connectTimeout);

    /// <summary>
    /// A source of inbound connections on <paramref name="address"/>, listening once materialized.
    /// Its materialized task gives the bound listener (port 0 is replaced by the real port).
    /// </summary>
    Source<InboundConnection, Task<TransportListener>> Listen(ActorSystem system, Multiaddr address);
}

/// <summary>The two ends of an established transport connection.</summary>
public sealed record TransportConnection(Multiaddr LocalAddress, Multiaddr RemoteAddress);

/// <summary>A connection accepted by a listener: its addresses and the flow that carries its bytes.</summary>
public sealed record InboundConnection(TransportConnection Addresses, Flow<ByteString, ByteString, Akka.NotUsed> Flow);

/// <summary>A bound listener: the address it listens on, and how to stop listening.</summary>
public sealed class TransportListener
{
    private readonly Func<Task> _unbind;

    /// <summary>Creates the handle; <paramref name="unbind"/> stops accepting connections.</summary>
    public TransportListener(Multiaddr address, Func<Task> unbind)
    {
        Address = address;
        _unbind = unbind;
    }

    /// <summary>The address actually bound (with the real port where port 0 was asked for).</summary>
    public Multiaddr Address { get; }

    /// <summary>Stops accepting; connections already accepted stay open.</summary>
    public Task UnbindAsync() => _unbind();
}

/// <summary>Why a transport could not connect, where it knows.</summary>
public enum TransportFailure
{
    /// <summary>Anything else; the message says what.</summary>
    Other,

    /// <summary>The remote host refused the connection: nothing listens there, or a firewall rejects it.</summary>
    Refused,

    /// <summary>No route to the host or its network.</summary>
    Unreachable,

    /// <summary>Nothing answered within the connect timeout.</summary>
    TimedOut,
}

/// <summary>A transport could not dial or listen; the message names the address and the cause.</summary>
public sealed class TransportException : Exception
{
    /// <summary>Creates the exception with the reason text.</summary>
    public TransportException(string message) : base(message) { }

    /// <summary>Creates the exception with the reason text and its cause.</summary>
    public TransportException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception with the reason text, its kind and, if any, its cause.</summary>
    public TransportException(string message, TransportFailure failure, Exception? inner = null) : base(message, inner) => Failure = failure;

    /// <summary>Why the connect failed, where the transport knows; <see cref="TransportFailure.Other"/> otherwise.</summary>
    public TransportFailure Failure { get; }
}
