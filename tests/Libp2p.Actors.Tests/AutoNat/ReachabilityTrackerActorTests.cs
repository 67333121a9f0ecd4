using Akka.Actor;
using Libp2p.Actors.AutoNat;
using Libp2p.Actors.Network;
using Libp2p.Protocols.AutoNat.Pb;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.AutoNat;

/// <summary>The reachability verdict from AutoNAT results, and its events.</summary>
public sealed class ReachabilityTrackerActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly Multiaddr Address = Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001");
    private readonly PeerId _local = NewPeer();

    private static PeerId NewPeer()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        return PeerId.FromPublicKey(key.PublicKey);
    }

    private static ReachabilityTrackerProtocol.Record From(PeerId server, DialStatus status) => new(new AutoNatResult(server, Address, 0, status));

    private IActorRef Start()
    {
        var probe = CreateTestProbe();
        Sys.EventStream.Subscribe(probe.Ref, typeof(ReachabilityChanged));
        _probe = probe;
        return Sys.ActorOf(ReachabilityTrackerActor.Props(_local));
    }

    private Akka.TestKit.TestProbe _probe = null!;

    /// <summary>The tracker's state; once answered, every event of the results told before is in the probe (publishing is synchronous).</summary>
    private static Task<ReachabilityTrackerProtocol.ReachabilityIs> StateAsync(IActorRef tracker) =>
        tracker.Ask<ReachabilityTrackerProtocol.ReachabilityIs>(ReachabilityTrackerProtocol.GetReachability.Instance, TimeSpan.FromSeconds(10));

    [Fact]
    public async Task Three_servers_that_dialed_back_must_make_the_node_Public()
    {
        var tracker = Start();
        tracker.Tell(From(NewPeer(), DialStatus.Ok));
        tracker.Tell(From(NewPeer(), DialStatus.Ok));
        await StateAsync(tracker);
        Assert.False(_probe.HasMessages);

        tracker.Tell(From(NewPeer(), DialStatus.Ok));

        Assert.Equal(new ReachabilityChanged(_local, Reachability.Public), _probe.ExpectMsg<ReachabilityChanged>());
    }

    [Fact]
    public async Task Three_failed_dials_must_make_the_node_Private_and_dial_back_errors_must_not_count()
    {
        var tracker = Start();
        tracker.Tell(From(NewPeer(), DialStatus.EDialError));
        tracker.Tell(From(NewPeer(), DialStatus.EDialBackError));
        tracker.Tell(From(NewPeer(), DialStatus.EDialError));
        var state = await StateAsync(tracker);
        Assert.Equal((Reachability.Unknown, 2), (state.Reachability, state.Results.Count));

        tracker.Tell(From(NewPeer(), DialStatus.EDialError));

        Assert.Equal(new ReachabilityChanged(_local, Reachability.Private), _probe.ExpectMsg<ReachabilityChanged>());
    }

    [Fact]
    public async Task One_server_must_not_outvote_the_others()
    {
        var tracker = Start();
        var server = NewPeer();
        for (var i = 0; i < 5; i++)
            tracker.Tell(From(server, DialStatus.Ok));

        var state = await StateAsync(tracker);

        Assert.Equal((Reachability.Unknown, 1), (state.Reachability, state.Results.Count));
        Assert.False(_probe.HasMessages);
    }

    [Fact]
    public async Task A_Public_node_must_turn_Private_when_the_last_results_fail()
    {
        var tracker = Start();
        var servers = Enumerable.Range(0, 5).Select(_ => NewPeer()).ToArray();
        foreach (var server in servers.Take(3))
            tracker.Tell(From(server, DialStatus.Ok));
        _probe.ExpectMsg<ReachabilityChanged>(c => c.Reachability == Reachability.Public);

        foreach (var server in servers.Take(3))
            tracker.Tell(From(server, DialStatus.EDialError));

        Assert.Equal(new ReachabilityChanged(_local, Reachability.Private), _probe.ExpectMsg<ReachabilityChanged>());
        await StateAsync(tracker);
        Assert.False(_probe.HasMessages);
    }
}
