using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Resources;

public sealed class ScopeActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Each_named_scope_is_an_actor_from_when_it_is_made_until_it_is_reclaimed()
    {
        var manager = new ResourceManager(new ResourceLimits { PeerDefault = new ScopeLimit { StreamsInbound = 3 } });
        var rcmgr = Sys.ActorOf(ResourceManagerActor.Props(manager), "rcmgr");
        var fixedScopes = await ScopesAsync(rcmgr);
        Assert.Equal(["allowlisted-system", "allowlisted-transient", "system", "transient"], fixedScopes.Keys.Order(StringComparer.Ordinal));

        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        var stream = manager.OpenStream(peer, Direction.Inbound);
        stream.SetProtocol("/echo/1.0.0");

        IActorRef peerActor = null!, protocolActor = null!;
        await AwaitAssertAsync(async () =>
        {
            var scopes = await ScopesAsync(rcmgr);
            peerActor = scopes[$"peer:{peer}"];
            protocolActor = scopes["protocol:/echo/1.0.0"];
        }, Patience);
        Assert.StartsWith($"peer-{peer}", peerActor.Path.Name, StringComparison.Ordinal);
        var stat = await peerActor.Ask<ScopeActor.StatIs>(ScopeActor.GetStat.Instance, Patience);
        Assert.Equal(1, stat.Scope.Usage.NumStreamsInbound);
        Assert.Equal(3, stat.Scope.Limit.StreamsInbound);

        Watch(peerActor);
        Watch(protocolActor);
        stream.Done();
        // Idle and empty: both scopes are reclaimed, and their actors stop.
        var gone = new[] { ExpectMsg<Terminated>(Patience).ActorRef, ExpectMsg<Terminated>(Patience).ActorRef };
        Assert.Equal(new HashSet<IActorRef> { peerActor, protocolActor }, gone.ToHashSet());
        Assert.Equal(4, (await ScopesAsync(rcmgr)).Count);
    }

    [Fact]
    public async Task A_scope_made_again_gets_a_new_actor()
    {
        var manager = new ResourceManager();
        var rcmgr = Sys.ActorOf(ResourceManagerActor.Props(manager));
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        manager.OpenStream(peer, Direction.Outbound).Done();
        var again = manager.OpenStream(peer, Direction.Outbound);
        await AwaitAssertAsync(async () => Assert.True((await ScopesAsync(rcmgr)).ContainsKey($"peer:{peer}")), Patience);
        var stat = await (await ScopesAsync(rcmgr))[$"peer:{peer}"].Ask<ScopeActor.StatIs>(ScopeActor.GetStat.Instance, Patience);
        Assert.Equal(1, stat.Scope.Usage.NumStreamsOutbound);
        again.Done();
    }

    private static async Task<IReadOnlyDictionary<string, IActorRef>> ScopesAsync(IActorRef rcmgr) =>
        (await rcmgr.Ask<ResourceManagerActor.ScopesAre>(ResourceManagerActor.GetScopes.Instance, Patience)).Scopes;
}
