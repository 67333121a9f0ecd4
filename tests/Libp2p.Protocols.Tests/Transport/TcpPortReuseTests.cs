using System.Net.Sockets;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Tests.Connections;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Transport;

/// <summary>Dials leave from the node's listen port (go's reuseport transport), so a NAT maps them to it.</summary>
public sealed class TcpPortReuseTests : ConnectionTestKit
{
    [Fact]
    public async Task A_dial_must_leave_from_the_listen_port_and_a_second_to_the_same_peer_from_another()
    {
        var node = new SocketTransport(reusePort: true);
        var own = await node.Listen(Sys, Multiaddr.Parse("/ip4/0.0.0.0/tcp/0")).To(Sink.Ignore<InboundConnection>()).Run(Materializer).WaitAsync(Patience);
        var (peer, accepted) = await ListenAsync(SocketTransport.Instance);
        var port = own.Address.ValueFor("tcp");

        var first = await DialAsync(node, peer.Address);
        var second = await DialAsync(node, peer.Address);

        Assert.Equal($"/ip4/127.0.0.1/tcp/{port}", first.LocalAddress.ToString());
        // The same four endpoints cannot be used twice: the second falls back to an ephemeral port.
        Assert.NotEqual(first.LocalAddress, second.LocalAddress);
        Assert.Equal(first.LocalAddress, (await accepted.Reader.ReadAsync().AsTask().WaitAsync(Patience)).Addresses.RemoteAddress);
        await own.UnbindAsync();
        Assert.Empty(node.PortReuse!.Listening);
        await peer.UnbindAsync();
    }

    [Fact]
    public async Task Without_port_reuse_a_dial_must_leave_from_an_ephemeral_port()
    {
        var node = SocketTransport.Instance;
        var own = await node.Listen(Sys, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")).To(Sink.Ignore<InboundConnection>()).Run(Materializer).WaitAsync(Patience);
        var (peer, _) = await ListenAsync(SocketTransport.Instance);

        var dialed = await DialAsync(node, peer.Address);

        Assert.NotEqual(own.Address.ValueFor("tcp"), dialed.LocalAddress.ValueFor("tcp"));
        await own.UnbindAsync();
        await peer.UnbindAsync();
    }

    [Fact]
    public async Task A_port_another_listener_holds_must_still_be_refused_with_port_reuse_on()
    {
        var holder = new SocketTransport(reusePort: true);
        var taken = await holder.Listen(Sys, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")).To(Sink.Ignore<InboundConnection>()).Run(Materializer).WaitAsync(Patience);
        var other = new SocketTransport(reusePort: true);

        var error = await Assert.ThrowsAsync<TransportException>(() => other.Listen(Sys, taken.Address).To(Sink.Ignore<InboundConnection>()).Run(Materializer).WaitAsync(Patience));

        Assert.Equal($"tcp: listen on {taken.Address} failed: address already in use", error.Message);
        Assert.Equal(SocketError.AddressAlreadyInUse, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
        await taken.UnbindAsync();
    }

    private async Task<(TransportListener Bound, System.Threading.Channels.Channel<InboundConnection> Accepted)> ListenAsync(SocketTransport transport)
    {
        var accepted = System.Threading.Channels.Channel.CreateUnbounded<InboundConnection>();
        var bound = await transport.Listen(Sys, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))
            .To(Sink.ForEach<InboundConnection>(c =>
            {
                c.Flow.Join(Flow.Create<ByteString>()).Run(Materializer);
                accepted.Writer.TryWrite(c);
            }))
            .Run(Materializer).WaitAsync(Patience);
        return (bound, accepted);
    }

    private async Task<TransportConnection> DialAsync(SocketTransport transport, Multiaddr address) =>
        await Source.Never<ByteString>().ViaMaterialized(transport.Dial(Sys, address, Patience), Keep.Right)
            .To(Sink.Ignore<ByteString>()).Run(Materializer).WaitAsync(Patience);
}
