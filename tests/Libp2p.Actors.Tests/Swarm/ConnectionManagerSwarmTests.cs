using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;
using static Libp2p.Actors.Swarm.ConnectionManagerProtocol;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>Thirty-one Swarms at once are run alone, so they neither starve nor are starved by other classes' deadlines on two cores.</summary>
[CollectionDefinition(nameof(LoopbackCrowd), DisableParallelization = true)]
public sealed class LoopbackCrowd;

/// <summary>The connection manager of a real Swarm, its peers other Swarms on loopback TCP.</summary>
[Collection(nameof(LoopbackCrowd))]
public sealed class ConnectionManagerSwarmTests : SwarmTestKit
{
    [Fact]
    public async Task A_host_with_watermarks_10_20_connected_by_30_peers_must_trim_to_10_keeping_the_protected_and_the_young_in_gos_order()
    {
        var clock = new ManualClock();
        ResourceManager? hostResources = null;
        // No silence, so the trim runs at the connection that reaches the watermark; a grace period
        // of ten minutes on the hand-moved clock, so only the clock ends it.
        var host = StartHost(configure: s =>
        {
            hostResources = s.Resources;
            return s with
            {
                Clock = clock,
                ConnectionManager = new ConnectionManagerSettings(10, 20) { GracePeriod = TimeSpan.FromMinutes(10), SilencePeriod = TimeSpan.Zero },
            };
        });
        SetHandler(host, "/echo/1.0.0", Echo);
        var dialerResources = new List<ResourceManager>();
        var peers = Enumerable.Range(0, 30).Select(_ => StartHost("", s =>
        {
            dialerResources.Add(s.Resources);
            return s;
        })).ToArray();
        var trims = CreateTestProbe();
        Sys.EventStream.Subscribe(trims.Ref, typeof(Trimmed));
        var disconnects = CreateTestProbe();
        Sys.EventStream.Subscribe(disconnects.Ref, typeof(SwarmProtocol.Disconnected));

        // 25 peers connect while young: from the 20th on the manager trims and closes nobody. Each is
        // the host's before the clock moves on below: one it took later would still be young then.
        var old = peers.Take(25).ToArray();
        foreach (var peer in old)
            DialBothSides(peer, host);
        var skipped = trims.FishForMessage<Trimmed>(t => t.LocalPeer == host.Peer, Patience);
        Assert.Equal(TrimCause.HighWater, skipped.Cause);
        Assert.Empty(skipped.Closed);
        Assert.Equal(20, skipped.CountBefore);
        Assert.Equal("20 connections, but only 0 of them may be closed (0 protected, 20 in their grace period), under the low watermark 10", skipped.Skipped);

        // Two protected (tagged lowest, so they would go first otherwise); old[2..13] valued 1..12;
        // old[14] and old[15] tied at 50, old[14] with a stream open, so old[15] goes before it;
        // old[16..24] valued above 100.
        await Manage(host, new Protect(old[0].Peer, "keep"));
        await Manage(host, new Protect(old[1].Peer, "keep"));
        await Manage(host, new TagPeer(old[0].Peer, "score", -100));
        await Manage(host, new TagPeer(old[1].Peer, "score", -100));
        for (var i = 2; i <= 13; i++)
            await Manage(host, new TagPeer(old[i].Peer, "score", i - 1));
        await Manage(host, new TagPeer(old[14].Peer, "score", 50));
        await Manage(host, new TagPeer(old[15].Peer, "score", 50));
        for (var i = 16; i < 25; i++)
            await Manage(host, new TagPeer(old[i].Peer, "score", 100 + i));
        var held = await OpenAsync(old[14], host, "/echo/1.0.0");
        clock.Advance(TimeSpan.FromMinutes(11));

        // The 26th connection, young, reaches the watermark again: 23 may be closed, down to 10.
        var young = peers.Skip(25).ToArray();
        Dial(young[0], host);
        var trim = trims.FishForMessage<Trimmed>(t => t.LocalPeer == host.Peer && t.Skipped is null, Patience);

        PeerId[] expected = [.. old[2..14].Select(p => p.Peer), old[15].Peer];
        Assert.Equal(expected, trim.Closed.Select(c => c.Peer));
        Assert.All(trim.Closed, c => Assert.True(c.Inbound));
        Assert.Equal((26, 13, 2, 1), (trim.CountBefore, trim.CountAfter, trim.Protected, trim.InGracePeriod));
        var gone = new HashSet<PeerId>(expected);
        while (gone.Count > 0)
        {
            var d = disconnects.ExpectMsg<SwarmProtocol.Disconnected>(Patience);
            if (d.LocalPeer == host.Peer)
                Assert.True(gone.Remove(d.Connection.RemotePeer), $"{d.Connection.RemotePeer} was not to be closed");
        }
        foreach (var peer in young.Skip(1))
            DialBothSides(peer, host);

        // 10 valued peers, 2 protected, 5 young.
        var kept = Conns(host).Select(c => c.RemotePeer).ToHashSet();
        Assert.Equal(17, kept.Count);
        Assert.Equal(new HashSet<PeerId>([old[0].Peer, old[1].Peer, old[14].Peer, .. old[16..].Select(p => p.Peer), .. young.Select(p => p.Peer)]), kept);
        var info = (await host.Swarm.Ask<InfoIs>(GetInfo.Instance, Patience)).Info;
        Assert.Equal((17, 2), (info.Connections, info.ProtectedPeers));
        Assert.Same(trim, info.LastTrim);

        held.Reset();
        CloseAll([host, .. peers]);
        await ScopesAtZeroAsync(hostResources!);
        foreach (var resources in dialerResources)
            await ScopesAtZeroAsync(resources);
    }

    [Fact]
    public async Task A_Swarm_without_a_connection_manager_must_say_so_to_every_command()
    {
        var host = StartHost("");

        var reply = await host.Swarm.Ask(TrimOpenConns.Instance, Patience);

        Assert.Equal(new NoConnectionManager(TrimOpenConns.Instance), reply);
        var client = new NetworkClient(host.Swarm, host.Peer);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => client.ConnectionManager.TagPeerAsync(host.Peer, "t", 1));
        Assert.StartsWith("this Swarm has no connection manager", error.Message, StringComparison.Ordinal);
        CloseAll(host);
    }

    [Fact]
    public void A_Swarm_whose_high_watermark_exceeds_its_connection_limit_must_not_start()
    {
        var events = CreateTestProbe();
        var key = PrivateKey.Generate(KeyType.Ed25519);
        var settings = new SwarmSettings(key)
        {
            Resources = new ResourceManager(new ResourceLimits { System = new ScopeLimit { Conns = 50 } }),
            ConnectionManager = new ConnectionManagerSettings(40, 60),
        };

        var swarm = Sys.ActorOf(SwarmActor.Props(settings), "too-high");
        events.Watch(swarm);

        events.ExpectTerminated(swarm, Patience);
    }

    private async Task Manage(Host host, ICommand command) => await host.Swarm.Ask(command, Patience);
}
