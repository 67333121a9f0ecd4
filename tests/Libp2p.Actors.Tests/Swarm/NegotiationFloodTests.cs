using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Transport;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>A peer that opens streams and never finishes negotiating them takes nobody else's budget.</summary>
public sealed class NegotiationFloodTests : SwarmTestKit
{
    [Fact]
    public async Task Half_negotiated_streams_must_be_cut_off_within_the_deadline_while_another_peer_keeps_working()
    {
        var resources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var deadline = TimeSpan.FromSeconds(2);
        var server = StartHost(configure: s => s with { Resources = resources, Streams = s.Streams with { NegotiationTimeout = deadline } });
        var honest = StartHost();
        SetHandler(server, "/echo/1.0.0", Echo);
        var transientLimit = resources.Limits.Transient.StreamsInbound;
        var materializer = Sys.Materializer();
        using var attackerKey = PrivateKey.Generate(KeyType.Ed25519);

        // Two connections, 500 streams each: more than the node-wide transient budget together.
        var hostile = new List<MuxedStream>();
        for (var c = 0; c < 2; c++)
        {
            var dial = Upgrader.Dial(Sys, materializer, TcpTransport.Instance, server.Addresses[0], new UpgradeSettings(attackerKey), server.Peer);
            await dial.Connection.Upgraded.WaitAsync(Patience);
            for (var i = 0; i < 500; i++)
            {
                var stream = await dial.Connection.OpenStreamAsync().WaitAsync(Patience);
                // Half a multistream header, then silence with the stream held open.
                stream.Sink.RunWith(Source.Single(ByteString.FromBytes([0x13, .. "/multistream"u8])).Concat(Source.Never<ByteString>()), materializer);
                hostile.Add(stream);
            }
        }
        Assert.True(hostile.Count > transientLimit, $"the attack must exceed the transient limit of {transientLimit}");

        // Another peer's streams are served meanwhile.
        for (var i = 0; i < 5; i++)
        {
            var stream = await OpenAsync(honest, server, "/echo/1.0.0");
            Assert.Equal("ok"u8.ToArray(), await EchoThroughAsync(stream, "ok"u8.ToArray()));
        }

        // Every hostile stream is reset: past the backlog at once, the others at their deadline, 32 at a time.
        foreach (var stream in hostile)
            await Assert.ThrowsAsync<StreamResetException>(() => stream.Completion.WaitAsync(Patience));
        await AwaitAssertAsync(async () => Assert.Equal(0, (await resources.ViewTransientAsync()).Usage.NumStreamsInbound), Patience);
        CloseAll(honest, server);
    }
}
