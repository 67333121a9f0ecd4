using Akka.Actor;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Resources;

public sealed class ScopeActorTests : ResourceTestKit
{
    private async Task<IActorRef> ScopeActorAsync(string path) =>
        await Sys.ActorSelection(path).ResolveOne(Patience);

    [Fact]
    public async Task The_named_scopes_must_form_the_DAG_as_a_tree_of_actors_made_on_demand_and_reclaimed_when_empty()
    {
        var manager = new ResourceManager(new ResourceLimits { PeerDefault = new ScopeLimit { StreamsInbound = 3 } });
        manager.Start(Sys);
        var peer = NewPeer();
        var stream = await manager.OpenStreamAsync(peer, Direction.Inbound);
        await stream.SetProtocolAsync("/echo/1.0.0");

        var transient = await ScopeActorAsync("/user/rcmgr/system/transient-*");
        var allowlistedTransient = await ScopeActorAsync("/user/rcmgr/allowlisted-system/allowlisted-transient-*");
        var peerActor = await ScopeActorAsync($"/user/rcmgr/system/peer-{peer}-*");
        var protocolActor = await ScopeActorAsync("/user/rcmgr/system/protocol-%2Fecho%2F1.0.0-*");
        Assert.Equal("rcmgr", stream.Actor!.Path.Parent.Name);
        Assert.StartsWith("stream-", stream.Actor.Path.Name, StringComparison.Ordinal);
        var stat = await peerActor.Ask<ScopeProtocol.StatIs>(ScopeProtocol.GetStat.Instance, Patience);
        Assert.Equal(($"peer:{peer}", 1, 3), (stat.Scope.Scope, stat.Scope.Usage.NumStreamsInbound, stat.Scope.Limit.StreamsInbound));

        Watch(peerActor);
        Watch(protocolActor);
        stream.Done();
        // Idle and empty: both scopes are reclaimed, and their actors stop; the fixed ones stay.
        var gone = new[] { ExpectMsg<Terminated>(Patience).ActorRef, ExpectMsg<Terminated>(Patience).ActorRef };
        Assert.Equal(new HashSet<IActorRef> { peerActor, protocolActor }, gone.ToHashSet());
        Assert.Equal(["system", "transient", "allowlisted-system", "allowlisted-transient"], (await manager.SnapshotAsync()).Select(s => s.Scope));
        Assert.Equal(transient, await ScopeActorAsync("/user/rcmgr/system/transient-*"));
        Assert.Equal(allowlistedTransient, await ScopeActorAsync("/user/rcmgr/allowlisted-system/allowlisted-transient-*"));
    }

    [Fact]
    public async Task A_scope_made_again_must_get_a_new_actor_and_count_from_zero()
    {
        var manager = Start();
        var peer = NewPeer();
        await DoneAsync(await manager.OpenStreamAsync(peer, Direction.Outbound));
        var again = await manager.OpenStreamAsync(peer, Direction.Outbound);
        Assert.Equal(1, (await manager.ViewPeerAsync(peer)).Usage.NumStreamsOutbound);
        again.Done();
        await AllAtZeroAsync(manager);
    }

    [Fact]
    public async Task An_owner_stopped_in_the_middle_of_a_reservation_must_leave_nothing_behind()
    {
        var manager = Start(new ResourceLimits { System = new ScopeLimit { Memory = 1L << 30 } });
        for (var i = 0; i < 50; i++)
        {
            var owner = Sys.ActorOf(Props.Create(() => new Idle()));
            var stream = await manager.OpenStreamAsync(NewPeer(), Direction.Inbound, owner);
            var span = await stream.BeginSpanAsync();
            // Reservations on their way through the named scopes while their owner goes.
            for (var r = 0; r < 4; r++)
                _ = span.ReserveMemoryAsync(1024, ReservationPriority.Always).ContinueWith(_ => { }, TaskScheduler.Default);
            _ = stream.ReserveMemoryAsync(4096, ReservationPriority.Always).ContinueWith(_ => { }, TaskScheduler.Default);
            Sys.Stop(owner);
        }
        await AllAtZeroAsync(manager);
        await AwaitAssertAsync(async () => Assert.Equal(4, (await manager.SnapshotAsync()).Count), Patience);
    }

    [Fact]
    public async Task A_scope_actor_killed_in_the_middle_of_a_reservation_must_leave_nothing_behind()
    {
        var manager = Start();
        var peer = NewPeer();
        for (var i = 0; i < 50; i++)
        {
            var connection = await manager.OpenConnectionAsync(Direction.Inbound, true);
            await connection.SetPeerAsync(peer);
            var stream = await manager.OpenStreamAsync(peer, Direction.Outbound);
            _ = stream.ReserveMemoryAsync(1000, ReservationPriority.Always).ContinueWith(_ => { }, TaskScheduler.Default);
            _ = connection.ReserveMemoryAsync(1000, ReservationPriority.Always).ContinueWith(_ => { }, TaskScheduler.Default);
            // A failure, not Done: the actor is stopped by its supervisor, and DeathWatch gives back what it held.
            stream.Actor!.Tell(Kill.Instance);
            connection.Actor!.Tell(Kill.Instance);
        }
        await AllAtZeroAsync(manager);
        await AwaitAssertAsync(async () => Assert.Equal(4, (await manager.SnapshotAsync()).Count), Patience);
    }

    /// <summary>
    /// Random interleavings of every operation of the seed's scopes across peers, protocols,
    /// services, connections, streams and spans: after each step, each named scope holds exactly
    /// what the live connections, streams and spans charged to it hold (the model), never more
    /// than its limit; and once everything closes, every scope is back to zero and reclaimed.
    /// </summary>
    [Property(MaxTest = 25)]
    public Property Every_scope_must_hold_the_sum_of_what_its_live_children_hold_after_every_step() =>
        Prop.ForAll(Gen.ArrayOf(Gen.Choose(0, 999), 40).ToArbitrary(), steps =>
        {
            RunInterleavingAsync(steps).GetAwaiter().GetResult();
            return true;
        });

    private static readonly ResourceLimits ModelLimits = new()
    {
        System = new ScopeLimit { Memory = 40_000, Streams = 12 },
        PeerDefault = new ScopeLimit { ConnsInbound = 2, Memory = 20_000 },
        ProtocolDefault = new ScopeLimit { StreamsInbound = 2, StreamsOutbound = 3 },
        Transient = new ScopeLimit { StreamsInbound = 4 },
    };

    /// <summary>A connection, stream or span of the model: what it holds itself, and where that is charged.</summary>
    private sealed class Holder(ResourceScopeSpan scope, Holder? parent)
    {
        public ResourceScopeSpan Scope { get; } = scope;
        public Holder? Parent { get; } = parent;
        public List<Holder> Spans { get; } = [];
        public PeerId? Peer { get; set; }
        public bool HasProtocol { get; set; }
        public bool HasService { get; set; }
        public long Memory { get; set; }
        public List<string> Charged { get; set; } = [];
    }

    private readonly record struct ModelUsage(int StreamsIn, int StreamsOut, int ConnsIn, int FD, long Memory)
    {
        public static ModelUsage operator +(ModelUsage a, ModelUsage b) => new(a.StreamsIn + b.StreamsIn, a.StreamsOut + b.StreamsOut, a.ConnsIn + b.ConnsIn, a.FD + b.FD, a.Memory + b.Memory);
        public ScopeStat ToStat() => new(StreamsIn, StreamsOut, ConnsIn, 0, FD, Memory);
    }

    private async Task RunInterleavingAsync(int[] steps)
    {
        var manager = Start(ModelLimits);
        var peers = new[] { NewPeer(), NewPeer(), NewPeer() };
        var live = new List<Holder>();
        // What each live holder has charged to each named scope, by scope name.
        var own = new Dictionary<Holder, Dictionary<string, ModelUsage>>();

        void Charge(Holder h, IEnumerable<string> scopes, ModelUsage u)
        {
            var map = own.TryGetValue(h, out var m) ? m : own[h] = [];
            foreach (var scope in scopes)
                map[scope] = map.GetValueOrDefault(scope) + u;
        }

        void Move(Holder h, string from, string to)
        {
            var map = own[h];
            if (map.Remove(from, out var u))
                map[to] = map.GetValueOrDefault(to) + u;
        }

        void Forget(Holder h)
        {
            foreach (var span in h.Spans.ToArray())
                Forget(span);
            own.Remove(h);
            live.Remove(h);
            h.Parent?.Spans.Remove(h);
        }

        async Task CheckAsync()
        {
            var expected = new Dictionary<string, ScopeStat>();
            foreach (var map in own.Values)
                foreach (var (scope, u) in map.Where(m => IsNamed(m.Key)))
                    expected[scope] = expected.TryGetValue(scope, out var e) ? Add(e, u.ToStat()) : u.ToStat();
            await AwaitAssertAsync(async () =>
            {
                var snapshot = await manager.SnapshotAsync();
                foreach (var scope in snapshot.Where(s => !s.Scope.StartsWith("subnet:", StringComparison.Ordinal)))
                {
                    Assert.Equal(expected.GetValueOrDefault(scope.Scope, ScopeStat.Zero), scope.Usage);
                    Assert.InRange(scope.Usage.Memory, 0, scope.Limit.Memory);
                    Assert.InRange(scope.Usage.NumStreamsInbound, 0, scope.Limit.StreamsInbound);
                }
                foreach (var (scope, stat) in expected.Where(e => e.Value != ScopeStat.Zero))
                    Assert.Contains(snapshot, s => s.Scope == scope && s.Usage == stat);
            }, Patience, TimeSpan.FromMilliseconds(5));
        }

        foreach (var step in steps)
        {
            var random = new Random(step);
            var pick = live.Count == 0 ? null : live[random.Next(live.Count)];
            try
            {
                switch (step % 10)
                {
                    case 0: // a connection opens, in transient
                        var connection = new Holder(await manager.OpenConnectionAsync(Direction.Inbound, true), null) { Charged = ["system", "transient"] };
                        live.Add(connection);
                        Charge(connection, connection.Charged, new ModelUsage(0, 0, 1, 1, 0));
                        break;
                    case 1 when pick is { Scope: ConnectionManagementScope c, Peer: null }:
                        var peer = peers[random.Next(peers.Length)];
                        await c.SetPeerAsync(peer);
                        pick.Peer = peer;
                        Move(pick, "transient", $"peer:{peer}");
                        pick.Charged = ["system", $"peer:{peer}"];
                        break;
                    case 2: // a stream opens on a peer
                        var streamPeer = peers[random.Next(peers.Length)];
                        var direction = random.Next(2) == 0 ? Direction.Inbound : Direction.Outbound;
                        var stream = new Holder(await manager.OpenStreamAsync(streamPeer, direction), null) { Peer = streamPeer, Charged = ["system", $"peer:{streamPeer}", "transient"] };
                        live.Add(stream);
                        Charge(stream, stream.Charged, direction == Direction.Inbound ? new ModelUsage(1, 0, 0, 0, 0) : new ModelUsage(0, 1, 0, 0, 0));
                        break;
                    case 3 when pick is { Scope: StreamManagementScope s, HasProtocol: false }:
                        var protocol = $"/p{random.Next(2)}/1.0.0";
                        await s.SetProtocolAsync(protocol);
                        pick.HasProtocol = true;
                        Move(pick, "transient", $"protocol:{protocol}");
                        pick.Charged = [.. pick.Charged.Where(c => c != "transient"), $"protocol:{protocol}"];
                        break;
                    case 4 when pick is { Scope: StreamManagementScope s, HasService: false }:
                        var service = $"s{random.Next(2)}";
                        await s.SetServiceAsync(service);
                        pick.HasService = true;
                        var streamUsage = own[pick]["system"];
                        // The service, and the stream's peer's share of it.
                        string[] joined = [$"service:{service}", $"service-peer:{service}/{pick.Peer}"];
                        Charge(pick, joined, streamUsage);
                        pick.Charged = [.. pick.Charged, .. joined];
                        break;
                    case 5 or 6 when pick is not null: // memory reserved
                        var size = random.Next(1, 8_000);
                        await pick.Scope.ReserveMemoryAsync(size, (byte)random.Next(100, 256));
                        pick.Memory += size;
                        Charge(pick, pick.Charged, new ModelUsage(0, 0, 0, 0, size));
                        break;
                    case 7 when pick is { Memory: > 0 }: // memory given back, then a question as a barrier
                        var back = (int)Math.Min(pick.Memory, random.Next(1, 8_000));
                        pick.Scope.ReleaseMemory(back);
                        await pick.Scope.StatAsync();
                        pick.Memory -= back;
                        Charge(pick, pick.Charged, new ModelUsage(0, 0, 0, 0, -back));
                        break;
                    case 8 when pick is not null && pick.Spans.Count < 2:
                        var span = new Holder(await pick.Scope.BeginSpanAsync(), pick) { Charged = [.. pick.Charged, $"{pick.Scope.Name}"] };
                        pick.Spans.Add(span);
                        live.Add(span);
                        own[span] = [];
                        break;
                    case 9 when pick is not null: // Done: a span, a stream or a connection closes with its spans
                        await DoneAsync(pick.Scope);
                        Forget(pick);
                        break;
                }
            }
            catch (ResourceLimitExceededException)
            {
                // Refused: nothing changes anywhere, which the check below confirms.
            }
            await CheckAsync();
        }
        foreach (var holder in live.Where(h => h.Parent is null).ToArray())
        {
            holder.Scope.Done();
            Forget(holder);
        }
        await AllAtZeroAsync(manager);
        await AwaitAssertAsync(async () => Assert.Equal(4, (await manager.SnapshotAsync()).Count), Patience);
    }

    /// <summary>system, transient, peer:…, protocol:…, service:…, service-peer:…; not a connection's, stream's or span's own scope.</summary>
    private static bool IsNamed(string scope) =>
        scope is "system" or "transient" || scope.StartsWith("protocol:", StringComparison.Ordinal) || scope.StartsWith("service:", StringComparison.Ordinal)
        || scope.StartsWith("service-peer:", StringComparison.Ordinal)
        || (scope.StartsWith("peer:", StringComparison.Ordinal) && !scope.Contains('/', StringComparison.Ordinal));

    private static ScopeStat Add(ScopeStat a, ScopeStat b) => new(a.NumStreamsInbound + b.NumStreamsInbound, a.NumStreamsOutbound + b.NumStreamsOutbound,
        a.NumConnsInbound + b.NumConnsInbound, a.NumConnsOutbound + b.NumConnsOutbound, a.NumFD + b.NumFD, a.Memory + b.Memory);

    private sealed class Idle : ReceiveActor
    {
        public Idle() => ReceiveAny(_ => { });
    }
}
