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

    private static PeerId NewPeer()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        return PeerId.FromPublicKey(key.PublicKey);
    }

    private sealed record Call(PeerId Server, IReadOnlyList<Multiaddr> Addresses);

    /// <summary>Answers GetPeers with the peers it was made with, as a Swarm connected to them would.</summary>
    private sealed class ConnectedTo : ReceiveActor
    {
        public ConnectedTo(IReadOnlyList<PeerId> peers) => Receive<SwarmProtocol.GetPeers>(_ => Sender.Tell(new SwarmProtocol.PeersAre(peers)));
    }

    private (IActorRef Prober, IActorRef Addresses, Akka.TestKit.TestProbe Tracker, Akka.TestKit.TestProbe Calls) Start(
        IReadOnlyList<PeerId> connected, Func<PeerId, IReadOnlyList<Multiaddr>, AutoNatResult> answer)
    {
        var calls = CreateTestProbe();
        var tracker = CreateTestProbe();
        var swarm = Sys.ActorOf(Props.Create(() => new ConnectedTo(connected)));
        var addresses = Sys.ActorOf(AddressManagerActor.Props(_local, AddressManagerSettings.Default with { Clock = _clock }));
        addresses.Tell(new AddressManagerProtocol.ListenAddressesChanged([Listen]));
        var settings = AutoNatProbeSettings.Default with { FirstDelay = TimeSpan.Zero, RetryInterval = TimeSpan.FromMilliseconds(20), Clock = _clock };
        var prober = Sys.ActorOf(AutoNatProbeActor.Props(_local, (server, asked, _) =>
        {
            calls.Ref.Tell(new Call(server, asked));
            return Task.Run(() => answer(server, asked));
        }, swarm, addresses, tracker.Ref, settings));
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
        var state = await addresses.Ask<AddressManagerProtocol.StateIs>(AddressManagerProtocol.GetState.Instance, Patience);
        Assert.Equal([Listen], state.Confirmed);
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
