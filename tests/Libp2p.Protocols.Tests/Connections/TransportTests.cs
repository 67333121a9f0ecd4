using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Connections;

public sealed class TransportTests : ConnectionTestKit
{
    [Theory]
    [InlineData("tcp", "/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/tcp/")]
    [InlineData("tcp", "/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/")]
    [InlineData("tcp", "/ip6/::1/tcp/0", "/ip6/::1/tcp/")]
    [InlineData("socket", "/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/tcp/")]
    [InlineData("socket", "/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/")]
    [InlineData("socket", "/ip6/::1/tcp/0", "/ip6/::1/tcp/")]
    [InlineData("socket", "/ip6/::/tcp/0", "/ip6/::/tcp/")]
    public async Task Tcp_must_listen_and_report_the_bound_port(string engine, string address, string prefix)
    {
        var bound = await Tcp(engine).Listen(Sys, Multiaddr.Parse(address))
            .To(Sink.Ignore<InboundConnection>()).Run(Materializer).WaitAsync(Patience);
        Assert.StartsWith(prefix, bound.Address.ToString(), StringComparison.Ordinal);
        Assert.NotEqual("0", bound.Address.ValueFor("tcp"));
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task Memory_must_refuse_a_dial_to_nowhere_with_the_reason()
    {
        var connected = Source.Never<ByteString>()
            .ViaMaterialized(MemoryTransport.Instance.Dial(Sys, Multiaddr.Parse("/memory/987654321"), Patience), Keep.Right)
            .To(Sink.Ignore<ByteString>()).Run(Materializer);
        var error = await Assert.ThrowsAsync<TransportException>(() => connected.WaitAsync(Patience));
        Assert.Equal("memory: dial /memory/987654321 failed: nothing listens there", error.Message);
    }
}
