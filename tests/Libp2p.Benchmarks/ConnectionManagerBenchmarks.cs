using Akka.Actor;
using BenchmarkDotNet.Attributes;
using Libp2p.Actors.Network;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Benchmarks;

/// <summary>
/// The connection manager's bookkeeping: choosing whom to close among 10,000 connections (one per
/// peer, every peer tagged and past its grace, a tenth of them with streams), and one tag update,
/// on the book alone and as a message to the actor.
/// </summary>
[MemoryDiagnoser]
public class ConnectionManagerBenchmarks
{
    private const int Connections = 10_000;
    private ConnectionBook _book = null!;
    private PeerId[] _peers = null!;
    private DateTimeOffset _now;
    private ActorSystem _system = null!;
    private IActorRef _manager = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var local = PeerId.FromPublicKey(key.PublicKey);
        var start = DateTimeOffset.UnixEpoch;
        _now = start + TimeSpan.FromHours(1);
        _book = new ConnectionBook();
        _system = ActorSystem.Create("bench", "akka.loglevel = WARNING");
        _manager = _system.ActorOf(ConnectionManagerActor.Props(new ConnectionManagerSettings(1_000, 20_000), local, TimeProvider.System));
        var random = new Random(42);
        _peers = new PeerId[Connections];
        var address = Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001");
        for (var i = 0; i < Connections; i++)
        {
            using var peerPrivate = PrivateKey.Generate(KeyType.Ed25519);
            var peerKey = peerPrivate.PublicKey;
            _peers[i] = PeerId.FromPublicKey(peerKey);
            var info = new ConnectionInfo(new ConnectionId(i + 1), local, _peers[i], peerKey, address, address, "/noise", "/yamux/1.0.0",
                new Stats(i % 2 == 0 ? Direction.Inbound : Direction.Outbound, start, false, new Dictionary<string, object>()), ActorRefs.Nobody);
            _book.Connected(info, start);
            _book.Tag(_peers[i], "score", random.Next(100), start);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().Wait();

    /// <summary>Candidates, sort, choice: 9,000 of 10,000 connections chosen.</summary>
    [Benchmark]
    public int PlanTrimOf10000Connections() =>
        _book.PlanTrim(_now, TimeSpan.FromMinutes(1), 1_000, id => id.Value % 10 == 0 ? 2 : 0).ConnectionsToClose;

    [Benchmark]
    public int TagUpdateOnTheBook() => _book.Tag(_peers[_next++ % Connections], "score", _next, _now);

    [Benchmark]
    public async Task<int> TagUpdateAskedOfTheActor() =>
        (await _manager.Ask<ConnectionManagerProtocol.PeerValueIs>(new ConnectionManagerProtocol.TagPeer(_peers[_next++ % Connections], "score", _next), TimeSpan.FromSeconds(10))).Value;
}
