using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Resources;

public sealed class AllowlistTests : ResourceTestKit
{
    private static readonly Multiaddr Stranger = Multiaddr.Parse("/ip4/5.6.7.8/tcp/4001");

    /// <summary>One inbound connection fills the ordinary system scope; the allow-list has <paramref name="entries"/>.</summary>
    private ResourceManager FullManager(params string[] entries) => Start(new ResourceLimits
    {
        System = new ScopeLimit { ConnsInbound = 1 },
        AllowlistedSystem = new ScopeLimit { ConnsInbound = 2 },
        Allowlist = entries.Select(Multiaddr.Parse).ToArray(),
    });


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
    public async Task An_entry_must_match_its_address_or_network(string entry, string endpoint, bool allowed)
    {
        var allowlist = new Allowlist([Multiaddr.Parse(entry)]);

        Assert.Equal(allowed, allowlist.Allowed(Multiaddr.Parse(endpoint)));
    }

    [Fact]
    public async Task An_entry_without_an_IP_or_with_a_prefix_too_long_must_be_refused()
    {
        await Assert.ThrowsAsync<FormatException>(async () => new Allowlist([Multiaddr.Parse("/dns4/example.com")]));
        await Assert.ThrowsAsync<FormatException>(async () => new Allowlist([Multiaddr.Parse("/ip4/1.2.3.4/ipcidr/33")]));
    }

    [Fact]
    public async Task A_peer_restricted_entry_must_match_only_that_peer()
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
    public async Task An_allowlisted_address_must_get_a_connection_when_the_system_limit_is_exhausted()
    {
        var manager = FullManager("/ip4/1.2.3.0/ipcidr/24");
        using var ordinary = await manager.OpenConnectionAsync(Direction.Inbound, true, Stranger);

        using var allowed = await manager.OpenConnectionAsync(Direction.Inbound, true, Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001"));

        Assert.True(allowed.Allowlisted);
        Assert.False(ordinary.Allowlisted);
        Assert.StartsWith("allowlisted-transient/conn-", allowed.Name, StringComparison.Ordinal);
        Assert.Equal(1, (await StatOfAsync(manager, "system")).NumConnsInbound);
        Assert.Equal(1, (await StatOfAsync(manager, "allowlisted-system")).NumConnsInbound);
        Assert.Equal(1, (await StatOfAsync(manager, "allowlisted-transient")).NumConnsInbound);
        Assert.Equal(1, (await StatOfAsync(manager, "allowlisted-system")).NumFD);
    }

    [Fact]
    public async Task An_address_not_allowlisted_must_be_denied_with_the_explanation()
    {
        var manager = FullManager("/ip4/1.2.3.0/ipcidr/24");
        using var ordinary = await manager.OpenConnectionAsync(Direction.Inbound, true, Stranger);

        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(async () =>
            await manager.OpenConnectionAsync(Direction.Inbound, true, Multiaddr.Parse("/ip4/9.9.9.9/tcp/1")));

        Assert.Equal("resource limit exceeded: system: inbound connections: asked 1, in use 1, limit 1 (/ip4/9.9.9.9/tcp/1 is not allow-listed)", error.Message);
        Assert.Equal(ScopeStat.Zero, await StatOfAsync(manager, "allowlisted-system"));
    }

    [Fact]
    public async Task The_old_overload_and_an_empty_allowlist_must_refuse_as_before()
    {
        var manager = FullManager();
        using var ordinary = await manager.OpenConnectionAsync(Direction.Inbound, true);

        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Inbound, true));

        Assert.Equal("resource limit exceeded: system: inbound connections: asked 1, in use 1, limit 1", error.Message);
    }

    [Fact]
    public async Task The_allowlisted_scopes_must_enforce_their_own_limits()
    {
        var manager = FullManager("/ip4/1.2.3.4");
        var endpoint = Multiaddr.Parse("/ip4/1.2.3.4/tcp/1");
        using var ordinary = await manager.OpenConnectionAsync(Direction.Inbound, true, Stranger);
        using var first = await manager.OpenConnectionAsync(Direction.Inbound, true, endpoint);
        using var second = await manager.OpenConnectionAsync(Direction.Inbound, true, endpoint);

        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Inbound, true, endpoint));

        Assert.Equal("allowlisted-system", error.Scope);
        Assert.Contains("/ip4/1.2.3.4/tcp/1 is allow-listed, and system had refused its inbound connections too", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetPeer_must_keep_an_allowed_peer_in_the_allowlisted_system_scope()
    {
        var peer = NewPeer();
        var manager = FullManager($"/ip4/1.2.3.4/p2p/{peer}");
        using var ordinary = await manager.OpenConnectionAsync(Direction.Inbound, true, Stranger);
        var allowed = await manager.OpenConnectionAsync(Direction.Inbound, true, Multiaddr.Parse("/ip4/1.2.3.4/tcp/1"));

        await allowed.SetPeerAsync(peer);
        await allowed.ReserveMemoryAsync(1000, ReservationPriority.Always);

        Assert.True(allowed.Allowlisted);
        Assert.Equal(1, (await manager.ViewPeerAsync(peer)).Usage.NumConnsInbound);
        Assert.Equal(new ScopeStat(0, 0, 1, 0, 1, 1000), await StatOfAsync(manager, "allowlisted-system"));
        Assert.Equal(ScopeStat.Zero, await StatOfAsync(manager, "allowlisted-transient"));
        Assert.Equal(new ScopeStat(0, 0, 1, 0, 1, 0), await StatOfAsync(manager, "system"));
        allowed.Done();
        ordinary.Done();
        await AllAtZeroAsync(manager);
    }

    [Fact]
    public async Task SetPeer_with_another_peer_than_the_entry_names_must_be_refused_when_the_ordinary_scopes_are_full()
    {
        var (allowedPeer, intruder) = (NewPeer(), NewPeer());
        var manager = FullManager($"/ip4/1.2.3.4/p2p/{allowedPeer}");
        using var ordinary = await manager.OpenConnectionAsync(Direction.Inbound, true, Stranger);
        var connection = await manager.OpenConnectionAsync(Direction.Inbound, true, Multiaddr.Parse("/ip4/1.2.3.4/tcp/1"));

        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await connection.SetPeerAsync(intruder));

        Assert.Equal($"resource limit exceeded: system: inbound connections: asked 1, in use 1, limit 1 (/ip4/1.2.3.4/tcp/1 is allow-listed only for other peers than {intruder})", error.Message);
        Assert.Null(connection.PeerScope);
        connection.Done();
        ordinary.Done();
        await AllAtZeroAsync(manager);
    }

    [Fact]
    public async Task SetPeer_with_another_peer_must_move_the_connection_back_to_the_ordinary_scopes_when_they_have_room()
    {
        var (allowedPeer, other) = (NewPeer(), NewPeer());
        var manager = FullManager($"/ip4/1.2.3.4/p2p/{allowedPeer}");
        var ordinary = await manager.OpenConnectionAsync(Direction.Inbound, true, Stranger);
        var connection = await manager.OpenConnectionAsync(Direction.Inbound, true, Multiaddr.Parse("/ip4/1.2.3.4/tcp/1"));
        await DoneAsync(ordinary);

        await connection.SetPeerAsync(other);

        Assert.False(connection.Allowlisted);
        Assert.Equal(new ScopeStat(0, 0, 1, 0, 1, 0), await StatOfAsync(manager, "system"));
        Assert.Equal(ScopeStat.Zero, await StatOfAsync(manager, "allowlisted-system"));
        Assert.Equal(ScopeStat.Zero, await StatOfAsync(manager, "allowlisted-transient"));
        connection.Done();
        await AllAtZeroAsync(manager);
    }

    [Fact]
    public async Task Allowlisted_scopes_must_return_to_zero_after_their_connections_close()
    {
        var manager = FullManager("/ip4/1.2.3.0/ipcidr/24");
        var ordinary = await manager.OpenConnectionAsync(Direction.Inbound, true, Stranger);
        var connections = new List<ConnectionManagementScope>();
        for (var i = 1; i <= 2; i++)
            connections.Add(await manager.OpenConnectionAsync(Direction.Inbound, true, Multiaddr.Parse($"/ip4/1.2.3.{i}/tcp/1")));
        await connections[0].SetPeerAsync(NewPeer());
        await connections[1].ReserveMemoryAsync(4096, ReservationPriority.Low);

        foreach (var connection in connections)
            connection.Done();
        ordinary.Done();

        await AwaitAssertAsync(async () => Assert.Equal(["system", "transient", "allowlisted-system", "allowlisted-transient"], (await manager.SnapshotAsync()).Select(s => s.Scope)), Patience);
        await AllAtZeroAsync(manager);
    }

    [Fact]
    public async Task A_release_after_Done_must_not_count_twice()
    {
        var manager = Start();
        var connection = await manager.OpenConnectionAsync(Direction.Inbound, true);
        await connection.ReserveMemoryAsync(1000, ReservationPriority.Low);

        connection.Done();
        connection.ReleaseMemory(1000);

        await AllAtZeroAsync(manager);
    }

    [Fact]
    public async Task The_allowlist_and_its_limits_must_be_read_from_HOCON()
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
    public async Task Scaled_defaults_must_give_the_allowlisted_scopes_the_ordinary_scopes_limits()
    {
        var limits = ResourceLimitDefaults.Scaled(memory: 1L << 30, fileDescriptors: 1000);

        Assert.Equal(limits.System, limits.AllowlistedSystem);
        Assert.Equal(limits.Transient, limits.AllowlistedTransient);
        Assert.Empty(limits.Allowlist);
    }
}
