using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Resources;

public sealed class AllowlistTests
{
    private static readonly Multiaddr Stranger = Multiaddr.Parse("/ip4/5.6.7.8/tcp/4001");

    private static PeerId NewPeer()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        return PeerId.FromPublicKey(key.PublicKey);
    }

    /// <summary>One inbound connection fills the ordinary system scope; the allow-list has <paramref name="entries"/>.</summary>
    private static ResourceManager FullManager(params string[] entries) => new(new ResourceLimits
    {
        System = new ScopeLimit { ConnsInbound = 1 },
        AllowlistedSystem = new ScopeLimit { ConnsInbound = 2 },
        Allowlist = entries.Select(Multiaddr.Parse).ToArray(),
    });

    private static ScopeStat StatOf(ResourceManager manager, string scope) => manager.Snapshot().Single(s => s.Scope == scope).Usage;

    [Theory]
    [InlineData("/ip4/1.2.3.4", "/ip4/1.2.3.4/tcp/1", true)]
    [InlineData("/ip4/1.2.3.4", "/ip4/1.2.3.5/tcp/1", false)]
    [InlineData("/ip4/1.2.3.0/ipcidr/24", "/ip4/1.2.3.200/tcp/1", true)]
    [InlineData("/ip4/1.2.3.0/ipcidr/24", "/ip4/1.2.4.1/tcp/1", false)]
    [InlineData("/ip4/1.2.3.77/ipcidr/24", "/ip4/1.2.3.9/udp/1/quic-v1", true)]
    [InlineData("/ip4/10.0.0.0/ipcidr/8", "/ip4/10.255.1.2/tcp/1", true)]
    [InlineData("/ip4/0.0.0.0/ipcidr/0", "/ip4/8.8.8.8/tcp/1", true)]
    [InlineData("/ip6/2001:db8::/ipcidr/32", "/ip6/2001:db8:1::1/tcp/1", true)]
    [InlineData("/ip6/2001:db8::/ipcidr/32", "/ip6/2001:db9::1/tcp/1", false)]
    [InlineData("/ip4/1.2.3.0/ipcidr/24", "/ip6/::ffff:1.2.3.4/tcp/1", true)]
    [InlineData("/ip4/1.2.3.0/ipcidr/24", "/dns4/example.com/tcp/1", false)]
    public void An_entry_must_match_its_address_or_network(string entry, string endpoint, bool allowed)
    {
        var allowlist = new Allowlist([Multiaddr.Parse(entry)]);

        Assert.Equal(allowed, allowlist.Allowed(Multiaddr.Parse(endpoint)));
    }

    [Fact]
    public void An_entry_without_an_IP_or_with_a_prefix_too_long_must_be_refused()
    {
        Assert.Throws<FormatException>(() => new Allowlist([Multiaddr.Parse("/dns4/example.com")]));
        Assert.Throws<FormatException>(() => new Allowlist([Multiaddr.Parse("/ip4/1.2.3.4/ipcidr/33")]));
    }

    [Fact]
    public void A_peer_restricted_entry_must_match_only_that_peer()
    {
        var (mine, other) = (NewPeer(), NewPeer());
        var allowlist = new Allowlist([Multiaddr.Parse($"/ip4/1.2.3.0/ipcidr/24/p2p/{mine}")]);
        var endpoint = Multiaddr.Parse("/ip4/1.2.3.4/tcp/1");

        Assert.True(allowlist.Allowed(endpoint));
        Assert.True(allowlist.AllowedPeerAndMultiaddr(mine, endpoint));
        Assert.False(allowlist.AllowedPeerAndMultiaddr(other, endpoint));
        Assert.True(allowlist.Remove(Multiaddr.Parse($"/ip4/1.2.3.0/ipcidr/24/p2p/{mine}")));
        Assert.False(allowlist.Allowed(endpoint));
    }

    [Fact]
    public void An_allowlisted_address_must_get_a_connection_when_the_system_limit_is_exhausted()
    {
        var manager = FullManager("/ip4/1.2.3.0/ipcidr/24");
        using var ordinary = manager.OpenConnection(Direction.Inbound, true, Stranger);

        using var allowed = manager.OpenConnection(Direction.Inbound, true, Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001"));

        Assert.True(allowed.Allowlisted);
        Assert.False(ordinary.Allowlisted);
        Assert.StartsWith("allowlisted-transient/conn-", allowed.Name, StringComparison.Ordinal);
        Assert.Equal(1, StatOf(manager, "system").NumConnsInbound);
        Assert.Equal(1, StatOf(manager, "allowlisted-system").NumConnsInbound);
        Assert.Equal(1, StatOf(manager, "allowlisted-transient").NumConnsInbound);
        Assert.Equal(1, StatOf(manager, "allowlisted-system").NumFD);
    }

    [Fact]
    public void An_address_not_allowlisted_must_be_denied_with_the_explanation()
    {
        var manager = FullManager("/ip4/1.2.3.0/ipcidr/24");
        using var ordinary = manager.OpenConnection(Direction.Inbound, true, Stranger);

        var error = Assert.Throws<ResourceLimitExceededException>(() =>
            manager.OpenConnection(Direction.Inbound, true, Multiaddr.Parse("/ip4/9.9.9.9/tcp/1")));

        Assert.Equal("resource limit exceeded: system: inbound connections: asked 1, in use 1, limit 1 (/ip4/9.9.9.9/tcp/1 is not allow-listed)", error.Message);
        Assert.Equal(ScopeStat.Zero, StatOf(manager, "allowlisted-system"));
    }

    [Fact]
    public void The_old_overload_and_an_empty_allowlist_must_refuse_as_before()
    {
        var manager = FullManager();
        using var ordinary = manager.OpenConnection(Direction.Inbound, true);

        var error = Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(Direction.Inbound, true));

        Assert.Equal("resource limit exceeded: system: inbound connections: asked 1, in use 1, limit 1", error.Message);
    }

    [Fact]
    public void The_allowlisted_scopes_must_enforce_their_own_limits()
    {
        var manager = FullManager("/ip4/1.2.3.4");
        var endpoint = Multiaddr.Parse("/ip4/1.2.3.4/tcp/1");
        using var ordinary = manager.OpenConnection(Direction.Inbound, true, Stranger);
        using var first = manager.OpenConnection(Direction.Inbound, true, endpoint);
        using var second = manager.OpenConnection(Direction.Inbound, true, endpoint);

        var error = Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(Direction.Inbound, true, endpoint));

        Assert.Equal("allowlisted-system", error.Scope);
        Assert.Contains("/ip4/1.2.3.4/tcp/1 is allow-listed, and system had refused its inbound connections too", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SetPeer_must_keep_an_allowed_peer_in_the_allowlisted_system_scope()
    {
        var peer = NewPeer();
        var manager = FullManager($"/ip4/1.2.3.4/p2p/{peer}");
        using var ordinary = manager.OpenConnection(Direction.Inbound, true, Stranger);
        var allowed = manager.OpenConnection(Direction.Inbound, true, Multiaddr.Parse("/ip4/1.2.3.4/tcp/1"));

        allowed.SetPeer(peer);
        allowed.ReserveMemory(1000, ReservationPriority.Always);

        Assert.True(allowed.Allowlisted);
        Assert.Equal(1, manager.ViewPeer(peer, s => s.Stat().NumConnsInbound));
        Assert.Equal(new ScopeStat(0, 0, 1, 0, 1, 1000), StatOf(manager, "allowlisted-system"));
        Assert.Equal(ScopeStat.Zero, StatOf(manager, "allowlisted-transient"));
        Assert.Equal(new ScopeStat(0, 0, 1, 0, 1, 0), StatOf(manager, "system"));
        allowed.Done();
        ordinary.Done();
        Assert.All(manager.Snapshot(), s => Assert.Equal(ScopeStat.Zero, s.Usage));
    }

    [Fact]
    public void SetPeer_with_another_peer_than_the_entry_names_must_be_refused_when_the_ordinary_scopes_are_full()
    {
        var (allowedPeer, intruder) = (NewPeer(), NewPeer());
        var manager = FullManager($"/ip4/1.2.3.4/p2p/{allowedPeer}");
        using var ordinary = manager.OpenConnection(Direction.Inbound, true, Stranger);
        var connection = manager.OpenConnection(Direction.Inbound, true, Multiaddr.Parse("/ip4/1.2.3.4/tcp/1"));

        var error = Assert.Throws<ResourceLimitExceededException>(() => connection.SetPeer(intruder));

        Assert.Equal($"resource limit exceeded: system: inbound connections: asked 1, in use 1, limit 1 (/ip4/1.2.3.4/tcp/1 is allow-listed only for other peers than {intruder})", error.Message);
        Assert.Null(connection.PeerScope);
        connection.Done();
        ordinary.Done();
        Assert.All(manager.Snapshot(), s => Assert.Equal(ScopeStat.Zero, s.Usage));
    }

    [Fact]
    public void SetPeer_with_another_peer_must_move_the_connection_back_to_the_ordinary_scopes_when_they_have_room()
    {
        var (allowedPeer, other) = (NewPeer(), NewPeer());
        var manager = FullManager($"/ip4/1.2.3.4/p2p/{allowedPeer}");
        var ordinary = manager.OpenConnection(Direction.Inbound, true, Stranger);
        var connection = manager.OpenConnection(Direction.Inbound, true, Multiaddr.Parse("/ip4/1.2.3.4/tcp/1"));
        ordinary.Done();

        connection.SetPeer(other);

        Assert.False(connection.Allowlisted);
        Assert.Equal(new ScopeStat(0, 0, 1, 0, 1, 0), StatOf(manager, "system"));
        Assert.Equal(ScopeStat.Zero, StatOf(manager, "allowlisted-system"));
        Assert.Equal(ScopeStat.Zero, StatOf(manager, "allowlisted-transient"));
        connection.Done();
        Assert.All(manager.Snapshot(), s => Assert.Equal(ScopeStat.Zero, s.Usage));
    }

    [Fact]
    public void Allowlisted_scopes_must_return_to_zero_after_their_connections_close()
    {
        var manager = FullManager("/ip4/1.2.3.0/ipcidr/24");
        var ordinary = manager.OpenConnection(Direction.Inbound, true, Stranger);
        var connections = Enumerable.Range(1, 2)
            .Select(i => manager.OpenConnection(Direction.Inbound, true, Multiaddr.Parse($"/ip4/1.2.3.{i}/tcp/1")))
            .ToList();
        connections[0].SetPeer(NewPeer());
        connections[1].ReserveMemory(4096, ReservationPriority.Low);

        foreach (var connection in connections)
            connection.Done();
        ordinary.Done();

        Assert.Equal(["system", "transient", "allowlisted-system", "allowlisted-transient"], manager.Snapshot().Select(s => s.Scope));
        Assert.All(manager.Snapshot(), s => Assert.Equal(ScopeStat.Zero, s.Usage));
    }

    [Fact]
    public void A_release_after_Done_must_not_count_twice()
    {
        var manager = new ResourceManager();
        var connection = manager.OpenConnection(Direction.Inbound, true);
        connection.ReserveMemory(1000, ReservationPriority.Low);

        connection.Done();
        connection.ReleaseMemory(1000);

        Assert.All(manager.Snapshot(), s => Assert.Equal(ScopeStat.Zero, s.Usage));
    }

    [Fact]
    public void The_allowlist_and_its_limits_must_be_read_from_HOCON()
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString("""
            akka.libp2p.resource-manager {
              allowlist {
                addresses = ["/ip4/1.2.3.0/ipcidr/24", "/ip6/2001:db8::1"]
                system { conns-inbound = 16, memory = 64MiB }
                transient { conns = 8 }
              }
            }
            """);
        var fallback = ResourceLimitDefaults.Scaled(memory: 1L << 30, fileDescriptors: 1000);

        var limits = ResourceLimitDefaults.FromConfig(config, fallback);

        Assert.Equal(["/ip4/1.2.3.0/ipcidr/24", "/ip6/2001:db8::1"], limits.Allowlist.Select(a => a.ToString()));
        Assert.Equal(16, limits.AllowlistedSystem.ConnsInbound);
        Assert.Equal(64L << 20, limits.AllowlistedSystem.Memory);
        Assert.Equal(fallback.AllowlistedSystem.ConnsOutbound, limits.AllowlistedSystem.ConnsOutbound);
        Assert.Equal(8, limits.AllowlistedTransient.Conns);
        Assert.Equal(fallback.System, limits.System);
        Assert.True(new ResourceManager(limits).Allowlist.Allowed(Multiaddr.Parse("/ip4/1.2.3.99/tcp/1")));
    }

    [Fact]
    public void Scaled_defaults_must_give_the_allowlisted_scopes_the_ordinary_scopes_limits()
    {
        var limits = ResourceLimitDefaults.Scaled(memory: 1L << 30, fileDescriptors: 1000);

        Assert.Equal(limits.System, limits.AllowlistedSystem);
        Assert.Equal(limits.Transient, limits.AllowlistedTransient);
        Assert.Empty(limits.Allowlist);
    }
}
