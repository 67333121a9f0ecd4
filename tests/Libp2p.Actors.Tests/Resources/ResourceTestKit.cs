using Akka.Actor;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Resources;

/// <summary>Tests of the scope actors without a Swarm: each manager gets its <see cref="ResourceManagerActor"/> in the test's system.</summary>
public abstract class ResourceTestKit : Akka.TestKit.Xunit2.TestKit
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    protected ResourceManager Start(ResourceLimits? limits = null)
    {
        var manager = new ResourceManager(limits);
        manager.Start(Sys, $"rcmgr-{Guid.NewGuid():N}");
        return manager;
    }

    protected static PeerId NewPeer()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        return PeerId.FromPublicKey(key.PublicKey);
    }

    protected static async Task<ScopeStat> StatOfAsync(ResourceManager manager, string scope) =>
        (await manager.SnapshotAsync()).SingleOrDefault(s => s.Scope == scope)?.Usage ?? ScopeStat.Zero;

    /// <summary>Every scope back to zero: releases are messages, so this waits for them.</summary>
    protected Task AllAtZeroAsync(ResourceManager manager) =>
        AwaitAssertAsync(async () => Assert.All(await manager.SnapshotAsync(), s => Assert.Equal(ScopeStat.Zero, s.Usage)), Patience);

    /// <summary>Closes the scope and waits until its actor has stopped, so all it held was given back.</summary>
    protected async Task DoneAsync(ResourceScopeSpan scope)
    {
        var probe = CreateTestProbe();
        probe.Watch(scope.Actor!);
        scope.Done();
        await probe.ExpectTerminatedAsync(scope.Actor!, Patience);
        // The releases the actor sent on its way out are in the named scopes' mailboxes; a question
        // to each (the snapshot) comes after them.
    }
}
