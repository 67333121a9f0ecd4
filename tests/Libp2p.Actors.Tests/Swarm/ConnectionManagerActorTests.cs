using Akka.Actor;
using Akka.TestKit;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using static Libp2p.Actors.Swarm.ConnectionManagerProtocol;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>
/// The connection manager alone: its connections are probes that answer how many streams they
/// carry and record the close a trim sends them, and its clock is moved by hand.
/// </summary>
public sealed class ConnectionManagerActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly PublicKey Key = PrivateKey.Generate(KeyType.Ed25519).PublicKey;
    private readonly ManualClock _clock = new();
    private readonly PeerId _local = PeerId.FromPublicKey(PrivateKey.Generate(KeyType.Ed25519).PublicKey);
    private long _nextId;

    public ConnectionManagerActorTests() : base("akka.loglevel = WARNING") { }

    private sealed record FakeConnection(PeerId Peer, ConnectionInfo Info, TestProbe Probe);

    private IActorRef Manager(int low, int high, TimeSpan? grace = null) => Sys.ActorOf(ConnectionManagerActor.Props(
        new ConnectionManagerSettings(low, high) { GracePeriod = grace ?? TimeSpan.FromMinutes(1), SilencePeriod = TimeSpan.FromHours(1), DecayResolution = TimeSpan.FromMinutes(1) },
        _local, _clock));

    private FakeConnection Connect(IActorRef manager, Direction direction = Direction.Inbound, int streams = 0, PeerId? peer = null)
    {
        peer ??= PeerId.FromPublicKey(PrivateKey.Generate(KeyType.Ed25519).PublicKey);
        var probe = CreateTestProbe();
        var stats = new Stats(direction, _clock.GetUtcNow(), false, new Dictionary<string, object>());
        probe.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is Conn.GetStats)
                sender.Tell(new Conn.StatsAre(stats, streams));
            return AutoPilot.KeepRunning;
        }));
        var info = new ConnectionInfo(new ConnectionId(++_nextId), _local, peer, Key, Multiaddr.Parse("/ip4/127.0.0.1/tcp/1"),
            Multiaddr.Parse($"/ip4/10.0.0.{_nextId % 250}/tcp/4001"), "/noise", "/yamux/1.0.0", stats, probe.Ref);
        manager.Tell(new SwarmProtocol.Connected(info));
        return new FakeConnection(peer, info, probe);
    }

    /// <summary>Waits until the manager has taken every connection told so far, so the clock moves after it did.</summary>
    private void Advance(IActorRef manager, TimeSpan by)
    {
        Ask<InfoIs>(manager, GetInfo.Instance);
        _clock.Advance(by);
    }

    private Trimmed Trim(IActorRef manager) => manager.Ask<Trimmed>(TrimOpenConns.Instance, TimeSpan.FromSeconds(10)).Result;

    private T Ask<T>(IActorRef manager, object message) => manager.Ask<T>(message, TimeSpan.FromSeconds(10)).Result;

    [Fact]
    public void A_trim_must_close_whole_peers_in_gos_order_value_then_streamless_then_inbound_then_fewer_streams()
    {
        var manager = Manager(2, 100);
        // Built so each rule of the order decides one place: 8 connections down to 2 closes whole
        // peers until 6 connections are chosen, the last peer's two overshooting by one, as go's.
        var busyOutbound = Connect(manager, Direction.Outbound, streams: 3);
        var idleOutbound = Connect(manager, Direction.Outbound, streams: 0);
        var busyInbound = Connect(manager, Direction.Inbound, streams: 3);
        var lightInbound = Connect(manager, Direction.Inbound, streams: 1);
        var lowValue = Connect(manager, Direction.Outbound, streams: 5);
        var valuable = Connect(manager, Direction.Inbound, streams: 0);
        var twoConnections = Connect(manager, Direction.Outbound, streams: 2);
        Connect(manager, Direction.Outbound, streams: 2, peer: twoConnections.Peer);
        Ask<PeerValueIs>(manager, new TagPeer(lowValue.Peer, "score", -1));
        Ask<PeerValueIs>(manager, new TagPeer(valuable.Peer, "score", 10));
        Advance(manager, TimeSpan.FromMinutes(2));

        var trim = Trim(manager);

        // Lowest value; then, at value 0, the one without streams; then inbound before outbound;
        // then fewer streams. The valuable peer alone is left.
        Assert.Null(trim.Skipped);
        Assert.Equal(TrimCause.Requested, trim.Cause);
        Assert.Equal([lowValue.Peer, idleOutbound.Peer, lightInbound.Peer, busyInbound.Peer, busyOutbound.Peer, twoConnections.Peer], trim.Closed.Select(c => c.Peer));
        Assert.Equal((8, 1), (trim.CountBefore, trim.CountAfter));
        Assert.Equal(new TrimmedPeer(twoConnections.Peer, 0, 2, 4, false), trim.Closed[^1]);
        foreach (var closed in new[] { lowValue, idleOutbound, lightInbound, busyInbound, busyOutbound, twoConnections })
            closed.Probe.FishForMessage(m => m is Conn.Close);
        Assert.Equal(1, Ask<InfoIs>(manager, GetInfo.Instance).Info.Trims);
    }

    [Fact]
    public void A_protected_peer_must_survive_TrimOpenConns_and_be_closed_once_unprotected()
    {
        var manager = Manager(1, 100);
        var guarded = Connect(manager);
        var other = Connect(manager);
        var third = Connect(manager);
        Ask<PeerValueIs>(manager, new TagPeer(guarded.Peer, "score", -100));
        Ask<ProtectionIs>(manager, new Protect(guarded.Peer, "a"));
        Ask<ProtectionIs>(manager, new Protect(guarded.Peer, "b"));
        Advance(manager, TimeSpan.FromMinutes(2));

        var trim = Trim(manager);

        Assert.DoesNotContain(guarded.Peer, trim.Closed.Select(c => c.Peer));
        Assert.Equal(1, trim.Protected);
        Assert.Single(trim.Closed);
        Assert.True(Ask<ProtectionIs>(manager, new Unprotect(guarded.Peer, "a")).Protected);
        Assert.True(Ask<ProtectionIs>(manager, new IsProtected(guarded.Peer)).Protected);
        Assert.False(Ask<ProtectionIs>(manager, new Unprotect(guarded.Peer, "b")).Protected);
        manager.Tell(new SwarmProtocol.Disconnected(trim.Closed[0].Peer == other.Peer ? other.Info : third.Info));

        var second = Trim(manager);

        Assert.Equal([guarded.Peer], second.Closed.Select(c => c.Peer));
    }

    [Fact]
    public void Peers_in_their_grace_period_must_be_kept_and_a_trim_with_too_few_others_must_say_why_it_closed_nothing()
    {
        var manager = Manager(3, 100, grace: TimeSpan.FromMinutes(1));
        Connect(manager);
        Connect(manager);
        Advance(manager, TimeSpan.FromMinutes(2));
        var young = Enumerable.Range(0, 3).Select(_ => Connect(manager)).ToArray();

        var trim = Trim(manager);

        Assert.Empty(trim.Closed);
        Assert.Equal(3, trim.InGracePeriod);
        Assert.Equal("5 connections, but only 2 of them may be closed (0 protected, 3 in their grace period), under the low watermark 3", trim.Skipped);
        _ = young;
    }

    [Fact]
    public void Tags_must_move_a_peer_in_the_order_and_be_reported_by_GetTagInfo()
    {
        var manager = Manager(1, 100);
        var a = Connect(manager);
        var b = Connect(manager);
        Advance(manager, TimeSpan.FromMinutes(2));
        Assert.Equal(5, Ask<PeerValueIs>(manager, new TagPeer(a.Peer, "x", 5)).Value);
        Assert.Equal(8, Ask<PeerValueIs>(manager, new UpsertTag(a.Peer, "y", v => v + 3)).Value);
        Assert.Equal(3, Ask<PeerValueIs>(manager, new UntagPeer(a.Peer, "x")).Value);

        var info = Ask<TagInfoIs>(manager, new GetTagInfo(a.Peer)).Info!;
        Assert.Equal(3, info.Value);
        Assert.Equal(new Dictionary<string, int> { ["y"] = 3 }, info.Tags);
        Assert.Equal([a.Info.RemoteAddress.ToString()], info.Connections.Keys);
        Assert.Null(Ask<TagInfoIs>(manager, new GetTagInfo(PeerId.FromPublicKey(PrivateKey.Generate(KeyType.Ed25519).PublicKey))).Info);
        Assert.Equal([b.Peer], Trim(manager).Closed.Select(c => c.Peer));
    }

    [Fact]
    public void Decaying_tags_must_decay_at_their_interval_and_move_the_order()
    {
        var manager = Manager(1, 100);
        var a = Connect(manager);
        var b = Connect(manager);
        Advance(manager, TimeSpan.FromMinutes(2));
        // 90 s is rounded up to the resolution's two minutes.
        Assert.Equal(TimeSpan.FromMinutes(2), Ask<DecayingTagRegistered>(manager, new RegisterDecayingTag("fading", TimeSpan.FromSeconds(90), DecayPresets.Fixed(4), DecayPresets.BumpSumBounded(0, 10))).Interval);
        Assert.IsType<InvalidOperationException>(Ask<DecayingTagFailed>(manager, new RegisterDecayingTag("fading", TimeSpan.FromMinutes(1), DecayPresets.None, DecayPresets.BumpOverwrite)).Reason);
        Ask<DecayingTagRegistered>(manager, new RegisterDecayingTag("steady", TimeSpan.FromMinutes(1), DecayPresets.None, DecayPresets.BumpSumUnbounded));
        Assert.Equal(10, Ask<PeerValueIs>(manager, new BumpDecayingTag("fading", a.Peer, 25)).Value); // bounded at 10
        Assert.Equal(3, Ask<PeerValueIs>(manager, new BumpDecayingTag("steady", b.Peer, 3)).Value);
        Assert.IsType<KeyNotFoundException>(Ask<DecayingTagFailed>(manager, new BumpDecayingTag("nope", a.Peer, 1)).Reason);

        // One step (10 -> 6): a is still worth more than b.
        Advance(manager, TimeSpan.FromMinutes(2));
        manager.Tell(ConnectionManagerActor.DecayTick.Instance);
        Assert.Equal(6, Ask<TagInfoIs>(manager, new GetTagInfo(a.Peer)).Info!.Tags["fading"]);
        // Another (6 -> 2): now b is worth more, and a goes first.
        Advance(manager, TimeSpan.FromMinutes(2));
        manager.Tell(ConnectionManagerActor.DecayTick.Instance);
        Assert.Equal(2, Ask<TagInfoIs>(manager, new GetTagInfo(a.Peer)).Info!.Value);

        Assert.Equal([a.Peer], Trim(manager).Closed.Select(c => c.Peer));

        // A third step takes the value to zero or less, which removes it.
        Advance(manager, TimeSpan.FromMinutes(2));
        manager.Tell(ConnectionManagerActor.DecayTick.Instance);
        Assert.False(Ask<TagInfoIs>(manager, new GetTagInfo(a.Peer)).Info!.Tags.ContainsKey("fading"));
        Ask<DecayingTagClosed>(manager, new CloseDecayingTag("steady"));
        Assert.Equal(0, Ask<TagInfoIs>(manager, new GetTagInfo(b.Peer)).Info!.Value);
    }

    [Fact]
    public void The_decay_presets_must_do_what_gos_do()
    {
        var peer = _local;
        var now = DateTimeOffset.UnixEpoch;
        var value = new DecayingValue("t", peer, 10, now, now);
        Assert.Equal((10, false), DecayPresets.None(value, now));
        Assert.Equal((7, false), DecayPresets.Fixed(3)(value, now));
        Assert.Equal((0, true), DecayPresets.Fixed(10)(value, now));
        Assert.Equal((5, false), DecayPresets.Linear(0.5)(value, now));
        Assert.Equal((0, true), DecayPresets.Linear(0.05)(value, now));
        Assert.Equal((10, false), DecayPresets.ExpireWhenInactive(TimeSpan.FromMinutes(1))(value, now + TimeSpan.FromSeconds(59)));
        Assert.Equal((10, true), DecayPresets.ExpireWhenInactive(TimeSpan.FromMinutes(1))(value, now + TimeSpan.FromMinutes(1)));
        Assert.Equal(15, DecayPresets.BumpSumUnbounded(value, 5));
        Assert.Equal(12, DecayPresets.BumpSumBounded(0, 12)(value, 5));
        Assert.Equal(0, DecayPresets.BumpSumBounded(0, 12)(value, -50));
        Assert.Equal(5, DecayPresets.BumpOverwrite(value, 5));
    }

    [Fact]
    public void A_peer_tagged_before_it_connects_must_be_temporary_and_forgotten_by_a_trim_past_its_grace()
    {
        var manager = Manager(1, 100);
        var early = PeerId.FromPublicKey(PrivateKey.Generate(KeyType.Ed25519).PublicKey);
        Ask<PeerValueIs>(manager, new TagPeer(early, "t", 50));
        Connect(manager);
        Connect(manager);
        Advance(manager, TimeSpan.FromMinutes(2));

        var trim = Trim(manager);

        Assert.Single(trim.Closed);
        Assert.DoesNotContain(early, trim.Closed.Select(c => c.Peer));
        Assert.Null(Ask<TagInfoIs>(manager, new GetTagInfo(early)).Info);
    }

    [Fact]
    public void Watermarks_above_the_resource_managers_connection_limit_must_be_refused_naming_both_numbers()
    {
        var limits = new Libp2p.Actors.Resources.ResourceLimits { System = new Libp2p.Actors.Resources.ScopeLimit { Conns = 400 } };

        Assert.Null(new ConnectionManagerSettings(300, 400).Conflict(limits));
        var error = Assert.Throws<ArgumentException>(() => new ConnectionManagerSettings(300, 500).Validate(limits));
        Assert.StartsWith("connection-manager high-water 500 exceeds the resource manager's system connection limit 400", error.Message, StringComparison.Ordinal);
        Assert.Equal("connection-manager low-water 50 is above high-water 40", new ConnectionManagerSettings(50, 40).Conflict(limits));
    }
}
