using Akka.Actor;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Actors.Tests.Swarm;

namespace Libp2p.Actors.Tests.Resources;

public sealed class ResourceManagerSwarmTests : SwarmTestKit
{
    [Fact]
    public async Task A_protocol_limit_of_N_inbound_streams_must_serve_N_and_refuse_the_rest_then_return_to_zero()
    {
        const int limit = 5;
        var resources = new ResourceManager(new ResourceLimits
        {
            Protocols = new Dictionary<string, ScopeLimit> { ["/echo/1.0.0"] = new() { StreamsInbound = limit } },
        });
        var server = StartHost(configure: s => s with { Resources = resources });
        var client = StartHost();
        var release = new TaskCompletionSource();
        // The handler holds each stream until the test lets go, so all N stay counted at once.
        SetHandler(server, "/echo/1.0.0", Libp2p.Actors.Connections.StreamHandler.From(async s =>
        {
            await release.Task;
            await s.Stream.CopyToAsync(s.Stream);
        }));

        var opened = await Task.WhenAll(Enumerable.Range(0, limit + 10).Select(async _ =>
        {
            try
            {
                return await OpenAsync(client, server, "/echo/1.0.0");
            }
            catch (Protocols.Connections.StreamResetException)
            {
                return null; // the reset beat the end of the negotiation
            }
        }));
        // Each refused stream is reset by the server once its protocol scope said no.
        var streams = opened.Where(s => s is not null).Select(s => s!).ToList();
        var refused = opened.Length - streams.Count;
        while (refused < 10)
        {
            var ended = await Task.WhenAny(streams.Select(s => s.Completion)).WaitAsync(Patience);
            streams.RemoveAll(s => s.Completion == ended);
            refused++;
        }
        Assert.Equal(limit, streams.Count);
        Assert.Equal(limit, (await resources.ViewProtocolAsync("/echo/1.0.0")).Usage.NumStreamsInbound);

        release.SetResult();
        var served = 0;
        foreach (var stream in streams)
        {
            Assert.Equal("ok"u8.ToArray(), await EchoThroughAsync(stream, "ok"u8.ToArray()));
            served++;
        }
        Assert.Equal(limit, served);

        var during = await server.Swarm.Ask<SwarmProtocol.ResourceSnapshotIs>(SwarmProtocol.GetResourceSnapshot.Instance, Patience);
        Assert.Contains(during.Scopes, s => s.Scope == "system" && s.Usage.NumConnsInbound == 1);
        CloseAll(client, server);
        await ScopesAtZeroAsync(resources);
    }

    [Fact]
    public async Task A_system_connection_limit_must_refuse_the_extra_connection_with_the_explanation()
    {
        var resources = new ResourceManager(new ResourceLimits { System = new ScopeLimit { ConnsOutbound = 1 } });
        var client = StartHost(configure: s => s with { Resources = resources });
        var first = StartHost();
        var second = StartHost();
        Dial(client, first);

        var reply = await client.Swarm.Ask<SwarmProtocol.DialFailed>(
            new SwarmProtocol.Dial(second.Peer, Network.DialOptions.Default, second.Addresses), Patience);

        Assert.Equal("resource limit exceeded: system: outbound connections: asked 1, in use 1, limit 1", reply.Reason.Message);
        CloseAll(client, first, second);
        await ScopesAtZeroAsync(resources);
    }
}
