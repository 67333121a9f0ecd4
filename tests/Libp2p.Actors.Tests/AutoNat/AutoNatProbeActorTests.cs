using Akka.Actor;
using Libp2p.Actors.AutoNat;
using Libp2p.Actors.Swarm;
using Libp2p.Actors.Tests.Swarm;
using Libp2p.Protocols.AutoNat;
using Libp2p.Protocols.AutoNat.Pb;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.AutoNat;

/// <summary>Periodic AutoNAT: which server is asked, about what, where the results go, and the backoff of a failing server.</summary>
public sealed class AutoNatProbeActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly Multiaddr Listen = Multiaddr.Parse("/ip4/198.51.100.20/tcp/4001");
    private readonly PeerId _local = NewPeer();
    private readonly ManualClock _clock = new();
    private IActorRef _swarm = ActorRefs.Nobody;

    private static PeerId NewPeer()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        return PeerId.FromPublicKey(key.PublicKey);
    }

    private sealed record Call(PeerId Server, IReadOnlyList<Multiaddr> Addresses);

    /// <summary>Answers GetPeers with the peers it was made with, as a Swarm connected to them would.</summary>
    private sealed class ConnectedTo : ReceiveActor
    {
        public ConnectedTo(IReadOnlyList<PeerId> peers)
        {
            Receive<SwarmProtocol.GetPeers>(_ => Sender.Tell(new SwarmProtocol.PeersAre(peers)));
            Receive<Disconnected>(d => peers = [.. peers.Where(p => p != d.Peer)]);
        }
    }

    private sealed record Disconnected(PeerId Peer);

    /// <summary>A prober whose Swarm (<see cref="_swarm"/>) is connected to <paramref name="connected"/>, with the test's settings changed by <paramref name="configure"/>.</summary>
    private (IActorRef Prober, IActorRef Addresses, Akka.TestKit.TestProbe Tracker, Akka.TestKit.TestProbe Calls) Start(
        IReadOnlyList<PeerId> connected, Func<PeerId, IReadOnlyList<Multiaddr>, AutoNatResult> answer, Func<AutoNatProbeSettings, AutoNatProbeSettings>? configure = null)
    {
        var calls = CreateTestProbe();
        var tracker = CreateTestProbe();
        _swarm = Sys.ActorOf(Props.Create(() => new ConnectedTo(connected)));
        var addresses = Sys.ActorOf(AddressManagerActor.Props(_local, AddressManagerSettings.Default with { Clock = _clock }));
        addresses.Tell(new AddressManagerProtocol.ListenAddressesChanged([Listen]));
        var settings = AutoNatProbeSettings.Default with { FirstDelay = TimeSpan.Zero, RetryInterval = TimeSpan.FromMilliseconds(20), Clock = _clock };
        var prober = Sys.ActorOf(AutoNatProbeActor.Props(_local, (server, asked, _) =>
        {
            calls.Ref.Tell(new Call(server, asked));
            return Task.Run(() => answer(server, asked));
        }, _swarm, addresses, tracker.Ref, configure?.Invoke(settings) ?? settings));
        return (prober, addresses, tracker, calls);
    }

    private static AutoNatProbeProtocol.PeerProtocols Serves(PeerId peer) => new(peer, ["/ipfs/id/1.0.0", AutoNatV2.DialRequestProtocolId]);

    [Fact]
    public async Task A_server_identify_named_must_be_asked_and_its_result_must_reach_the_tracker_and_the_address_manager()
    {
        var server = NewPeer();
        var (prober, addresses, tracker, calls) = Start([server], (s, asked) => new AutoNatResult(s, asked[0], 0, DialStatus.Ok));
        // A peer without the protocol is never asked.
        prober.Tell(new AutoNatProbeProtocol.PeerProtocols(NewPeer(), ["/ipfs/id/1.0.0"]));

        prober.Tell(Serves(server));

        var call = calls.ExpectMsg<Call>(Patience);
        Assert.Equal(server, call.Server);
        Assert.Equal([Listen], call.Addresses);
        var recorded = tracker.ExpectMsg<ReachabilityTrackerProtocol.Record>(Patience);
        Assert.Equal((server, Listen, DialStatus.Ok), (recorded.Result.Server, recorded.Result.Address, recorded.Result.Status));
        // The prober tells the tracker first and the address manager after: the result may reach it a moment later.
        await AwaitAssertAsync(async () =>
        {
            var state = await addresses.Ask<AddressManagerProtocol.StateIs>(AddressManagerProtocol.GetState.Instance, Patience);
            Assert.Equal([Listen], state.Confirmed);
        }, Patience);
        // Everything checked and one server asked this interval: nothing more to ask it until the interval is over.
        calls.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_failing_server_must_be_left_alone_for_its_backoff_while_another_is_asked()
    {
        var (failing, working) = (NewPeer(), NewPeer());
        var (prober, _, tracker, calls) = Start([failing, working], (s, asked) => s == failing
            ? throw new AutoNatException(DialResponse.Types.ResponseStatus.EInternalError, "the server broke")
            : new AutoNatResult(s, asked[0], 0, DialStatus.EDialError));
        prober.Tell(Serves(failing));
        prober.Tell(Serves(working));

        var asked = new[] { calls.ExpectMsg<Call>(Patience).Server, calls.ExpectMsg<Call>(Patience).Server };
        Assert.Equal(new HashSet<PeerId> { failing, working }, asked.ToHashSet());
        Assert.Equal(working, tracker.ExpectMsg<ReachabilityTrackerProtocol.Record>(Patience).Result.Server);
        // The call is seen when the server is asked; its failure is recorded a moment later.
        await AwaitAssertAsync(async () =>
        {
            var state = await prober.Ask<AutoNatProbeProtocol.ProbeStateIs>(AutoNatProbeProtocol.GetProbeState.Instance, Patience);
            Assert.Equal((failing, 1), (state.Backoff.Single().Server, state.Backoff.Single().Failures));
        }, Patience);

        prober.Tell(AutoNatProbeProtocol.ProbeNow.Instance);
        calls.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        _clock.Advance(TimeSpan.FromMinutes(1));
        prober.Tell(AutoNatProbeProtocol.ProbeNow.Instance);
        Assert.Equal(failing, calls.ExpectMsg<Call>(Patience).Server);
        await AwaitAssertAsync(async () =>
        {
            var state = await prober.Ask<AutoNatProbeProtocol.ProbeStateIs>(AutoNatProbeProtocol.GetProbeState.Instance, Patience);
            Assert.Equal((2, TimeSpan.FromMinutes(2)), (state.Backoff.Single().Failures, state.Backoff.Single().Until - _clock.GetUtcNow()));
        }, Patience);
    }

    [Fact]
    public async Task A_dial_back_error_must_leave_the_address_unchecked_and_the_server_in_backoff()
    {
        var server = NewPeer();
        var (prober, addresses, _, calls) = Start([server], (s, asked) => new AutoNatResult(s, asked[0], 0, DialStatus.EDialBackError));

        prober.Tell(Serves(server));
        calls.ExpectMsg<Call>(Patience);

        await AwaitAssertAsync(async () =>
        {
            var state = await prober.Ask<AutoNatProbeProtocol.ProbeStateIs>(AutoNatProbeProtocol.GetProbeState.Instance, Patience);
            Assert.Equal((0L, 1L, server), (state.Checks, state.Failures, state.Backoff.Single().Server));
            Assert.Contains("E_DIAL_BACK_ERROR", state.LastFailure, StringComparison.Ordinal);
        }, Patience);
        var candidates = await addresses.Ask<AddressManagerProtocol.AutoNatCandidatesAre>(AddressManagerProtocol.GetAutoNatCandidates.Instance, Patience);
        Assert.Equal(1, candidates.Unchecked);
        // Once its backoff is over the server is asked again: the address is still unchecked.
        _clock.Advance(TimeSpan.FromMinutes(1));
        prober.Tell(AutoNatProbeProtocol.ProbeNow.Instance);
        Assert.Equal(server, calls.ExpectMsg<Call>(Patience).Server);
    }

    [Fact]
    public async Task A_server_that_refuses_every_address_must_not_be_backed_off_and_must_be_asked_about_a_new_one()
    {
        // E_DIAL_REFUSED says the server would dial none of the addresses (private ones, say): a
        // healthy server's answer about them, not its failure, as go-libp2p's client reads it.
        var server = NewPeer();
        var observed = Multiaddr.Parse("/ip4/203.0.113.7/tcp/4001");
        var (prober, addresses, tracker, calls) = Start([server], (s, asked) => asked.Contains(observed)
            ? new AutoNatResult(s, observed, asked.ToList().IndexOf(observed), DialStatus.EDialError)
            : throw new AutoNatException(DialResponse.Types.ResponseStatus.EDialRefused, "autonat server refused the check: EDialRefused"));

        prober.Tell(Serves(server));
        Assert.Equal([Listen], calls.ExpectMsg<Call>(Patience).Addresses);
        await AwaitAssertAsync(async () =>
        {
            var state = await prober.Ask<AutoNatProbeProtocol.ProbeStateIs>(AutoNatProbeProtocol.GetProbeState.Instance, Patience);
            Assert.Equal((0, 0L, 1L), (state.Backoff.Count, state.Failures, state.Refusals));
        }, Patience);
        // Not asked again about what it refused.
        prober.Tell(AutoNatProbeProtocol.ProbeNow.Instance);
        calls.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        // A new candidate (a peer observed us at it) is asked about at once, with no clock advanced.
        addresses.Tell(new AddressManagerProtocol.ListenAddressesChanged([Listen, observed]));
        prober.Tell(AutoNatProbeProtocol.ProbeNow.Instance);
        Assert.Contains(observed, calls.ExpectMsg<Call>(Patience).Addresses);
        var recorded = tracker.ExpectMsg<ReachabilityTrackerProtocol.Record>(Patience).Result;
        Assert.Equal((server, observed, DialStatus.EDialError), (recorded.Server, recorded.Address, recorded.Status));
    }

    [Fact]
    public async Task A_server_gone_must_be_forgotten_at_the_next_round()
    {
        // Every peer that ever served AutoNAT would stay in the prober's tables otherwise: a node
        // that runs for weeks meets many. Identify names a server again when it comes back.
        var server = NewPeer();
        var (prober, _, _, calls) = Start([server], (s, asked) => new AutoNatResult(s, asked[0], 0, DialStatus.Ok));
        prober.Tell(Serves(server));
        calls.ExpectMsg<Call>(Patience);

        _swarm.Tell(new Disconnected(server));
        prober.Tell(AutoNatProbeProtocol.ProbeNow.Instance);

        await AwaitAssertAsync(async () =>
            Assert.Empty((await prober.Ask<AutoNatProbeProtocol.ProbeStateIs>(AutoNatProbeProtocol.GetProbeState.Instance, Patience)).Servers), Patience);
    }

    [Fact]
    public void A_lone_server_that_failed_must_be_asked_again_when_its_backoff_ends()
    {
        // Not after a wait that doubled meanwhile: rounds with nobody to ask come 0.2, 0.4, 0.8, …
        // 3.2 s after the failure, so a server due at 4 s would be asked at 6.4 s.
        var server = NewPeer();
        var failures = 0;
        var (prober, _, _, calls) = Start([server], (s, asked) => Interlocked.Increment(ref failures) == 1
                ? throw new TimeoutException("autonat check timed out")
                : new AutoNatResult(s, asked[0], 0, DialStatus.Ok),
            settings => settings with
            {
                RetryInterval = TimeSpan.FromMilliseconds(200), ServerBackoff = TimeSpan.FromSeconds(4), Interval = TimeSpan.FromHours(1), Clock = TimeProvider.System,
            });

        prober.Tell(Serves(server));
        calls.ExpectMsg<Call>(Patience);

        // Asked at 4 s, due within [3.5 s, 6 s]: as much room for a slow machine as the 6.4 s of the
        // doubled wait leaves.
        calls.ExpectNoMsg(TimeSpan.FromSeconds(3.5));
        Assert.Equal(server, calls.ExpectMsg<Call>(TimeSpan.FromSeconds(2.5)).Server);
    }

    [Fact]
    public void A_check_that_never_answers_must_fail_at_its_deadline()
    {
        var server = NewPeer();
        var calls = CreateTestProbe();
        var swarm = Sys.ActorOf(Props.Create(() => new ConnectedTo(new[] { server })));
        var addresses = Sys.ActorOf(AddressManagerActor.Props(_local));
        addresses.Tell(new AddressManagerProtocol.ListenAddressesChanged([Listen]));
        var never = new TaskCompletionSource<AutoNatResult>();
        var prober = Sys.ActorOf(AutoNatProbeActor.Props(_local, (s, _, _) =>
        {
            calls.Ref.Tell(s);
            return never.Task;
        }, swarm, addresses, CreateTestProbe().Ref, AutoNatProbeSettings.Default with { FirstDelay = TimeSpan.Zero, CheckTimeout = TimeSpan.FromMilliseconds(200) }));

        prober.Tell(Serves(server));
        calls.ExpectMsg<PeerId>(Patience);

        AwaitAssert(() =>
        {
            var state = prober.Ask<AutoNatProbeProtocol.ProbeStateIs>(AutoNatProbeProtocol.GetProbeState.Instance, Patience).Result;
            Assert.Equal((1L, server), (state.Failures, state.Backoff.Single().Server));
        }, Patience);
    }
}
