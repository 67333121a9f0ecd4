using Akka.Actor;
using Akka.Configuration;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Actors.Tests.Resources;

public sealed class ConnectionLimiterTests : ResourceTestKit
{
    private ResourceManager Manager(SubnetLimits? subnets = null, params string[] allowlist) => Start(new ResourceLimits
    {
        Subnets = subnets ?? SubnetLimits.Default,
        Allowlist = allowlist.Select(Multiaddr.Parse).ToArray(),
    });

    private static Multiaddr At(string ip, int port = 4001) =>
        Multiaddr.Parse(ip.Contains(':', StringComparison.Ordinal) ? $"/ip6/{ip}/tcp/{port}" : $"/ip4/{ip}/tcp/{port}");

    private static async Task<List<ConnectionManagementScope>> Open(ResourceManager manager, string ip, int count, Direction direction = Direction.Inbound)
    {
        var opened = new List<ConnectionManagementScope>();
        for (var i = 0; i < count; i++)
            opened.Add(await manager.OpenConnectionAsync(direction, true, At(ip, 4001 + i)));
        return opened;
    }

    [Fact]
    public async Task The_ninth_connection_from_one_IPv4_address_must_be_refused_with_the_subnet_its_count_and_its_limit()
    {
        var manager = Manager();
        var eight = await Open(manager, "1.2.3.4", 8);

        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Inbound, true, At("1.2.3.4", 5000)));

        Assert.Equal("resource limit exceeded: subnet:/ip4/1.2.3.4/ipcidr/32: connections: asked 1, in use 8, limit 8 (connections from /ip4/1.2.3.4/tcp/5000 are limited per /32 subnet)", error.Message);
        Assert.Equal("subnet:/ip4/1.2.3.4/ipcidr/32", error.Scope);
        Assert.Equal(8, (await manager.ViewTransientAsync()).Usage.NumConnsInbound);
        Assert.Equal(1, (await manager.ViewSubnetsAsync()).Refused);
        using var other = await manager.OpenConnectionAsync(Direction.Inbound, true, At("1.2.3.5"));
        Assert.Equal(9, (await manager.ViewTransientAsync()).Usage.NumConnsInbound);
        eight.ForEach(c => c.Done());
    }

    [Fact]
    public async Task Openings_at_once_from_one_address_must_admit_exactly_its_limit()
    {
        var manager = Manager();

        var attempts = await Task.WhenAll(Enumerable.Range(0, 30).Select(async i =>
        {
            try
            {
                return (Scope: (ConnectionManagementScope?)await manager.OpenConnectionAsync(Direction.Inbound, true, At("1.2.3.4", 4001 + i)), Error: (Exception?)null);
            }
            catch (ResourceLimitExceededException e)
            {
                return (Scope: (ConnectionManagementScope?)null, Error: (Exception?)e);
            }
        }));

        Assert.Equal(8, attempts.Count(a => a.Scope is not null));
        Assert.Equal(22, attempts.Count(a => a.Error is ResourceLimitExceededException { Scope: "subnet:/ip4/1.2.3.4/ipcidr/32" }));
        var subnets = await manager.ViewSubnetsAsync(1);
        Assert.Equal(22, subnets.Refused);
        Assert.Equal(new SubnetUsage("subnet:/ip4/1.2.3.4/ipcidr/32", 8, 0, 8, 22), subnets.Busiest.Single());
        Assert.Equal(8, (await manager.ViewTransientAsync()).Usage.NumConnsInbound);
        foreach (var (scope, _) in attempts)
            scope?.Done();
    }

    [Fact]
    public async Task A_connection_scope_whose_actor_is_killed_must_give_its_place_back()
    {
        var manager = Manager();
        var eight = await Open(manager, "1.2.3.4", 8);
        Watch(eight[3].Actor!);

        eight[3].Actor!.Tell(Kill.Instance);

        await ExpectTerminatedAsync(eight[3].Actor!, Patience);
        using var again = await manager.OpenConnectionAsync(Direction.Inbound, true, At("1.2.3.4", 5000));
        Assert.Equal(8, (await manager.ViewSubnetsAsync(1)).Busiest.Single().Inbound);
        eight.ForEach(c => c.Done());
        await AwaitAssertAsync(async () => Assert.Equal(1, (await manager.ViewSubnetsAsync()).Tracked), Patience);
    }

    [Fact]
    public async Task Done_must_give_the_place_back_whatever_ended_the_connection()
    {
        var manager = Manager();
        var eight = await Open(manager, "1.2.3.4", 8);
        await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Inbound, true, At("1.2.3.4", 5000)));

        await DoneAsync(eight[0]);
        eight[0].Done();
        using var again = await manager.OpenConnectionAsync(Direction.Inbound, true, At("1.2.3.4", 5000));

        await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Inbound, true, At("1.2.3.4", 5001)));
        again.Done();
        eight.ForEach(c => c.Done());
        await AwaitAssertAsync(async () => Assert.Equal(0, (await manager.ViewSubnetsAsync()).Tracked), Patience);
        await AwaitAssertAsync(async () => Assert.Equal(["system", "transient", "allowlisted-system", "allowlisted-transient"], (await manager.SnapshotAsync()).Select(s => s.Scope)), Patience);
    }

    [Fact]
    public async Task A_connection_refused_by_a_scope_must_not_keep_its_place_in_the_subnet()
    {
        var manager = Start(new ResourceLimits { Subnets = SubnetLimits.Default, System = new ScopeLimit { ConnsInbound = 1 } });
        using var first = await manager.OpenConnectionAsync(Direction.Inbound, true, At("1.2.3.4"));

        await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Inbound, true, At("1.2.3.4", 5000)));

        Assert.Equal(1, (await manager.ViewSubnetsAsync(1)).Busiest.Single().Inbound);
    }

    [Fact]
    public async Task Both_directions_must_count_against_the_same_limit()
    {
        var manager = Manager();
        var inbound = await Open(manager, "1.2.3.4", 5);
        var outbound = await Open(manager, "1.2.3.4", 3, Direction.Outbound);

        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Outbound, true, At("1.2.3.4", 5000)));

        Assert.Equal(8, error.Current);
        Assert.Equal(new SubnetUsage("subnet:/ip4/1.2.3.4/ipcidr/32", 5, 3, 8, 1), (await manager.ViewSubnetsAsync(1)).Busiest.Single());
        inbound.Concat(outbound).ToList().ForEach(c => c.Done());
    }

    [Fact]
    public async Task IPv6_addresses_must_share_the_limit_of_their_56_and_their_48()
    {
        var manager = Manager();
        var first = await Open(manager, "2001:db8:0:1::1", 8);

        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Inbound, true, At("2001:db8:0:1::2")));
        Assert.Equal("subnet:/ip6/2001:db8::/ipcidr/56", error.Scope);

        // Other /56s of the same /48 pass until the /48 holds 64.
        var more = new List<ConnectionManagementScope>();
        for (var i = 1; i <= 7; i++)
            more.AddRange(await Open(manager, $"2001:db8:0:{i * 256:x}::1", 8));
        var full = await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Inbound, true, At("2001:db8:0:ff00::1")));
        Assert.Equal("resource limit exceeded: subnet:/ip6/2001:db8::/ipcidr/48: connections: asked 1, in use 64, limit 64 (connections from /ip6/2001:db8:0:ff00::1/tcp/4001 are limited per /48 subnet)", full.Message);
        using var elsewhere = await manager.OpenConnectionAsync(Direction.Inbound, true, At("2001:db8:1::1"));
        first.Concat(more).ToList().ForEach(c => c.Done());
    }

    [Fact]
    public async Task A_network_limit_must_count_its_addresses_together_in_place_of_the_subnet_limits()
    {
        var manager = Manager(SubnetLimits.Default with { Networks = [new NetworkLimit(Multiaddr.Parse("/ip4/10.0.0.0/ipcidr/8"), 12)] });
        var one = await Open(manager, "10.0.0.1", 10);
        var two = await Open(manager, "10.9.9.9", 2);

        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Inbound, true, At("10.1.1.1")));

        Assert.Equal("resource limit exceeded: network:/ip4/10.0.0.0/ipcidr/8: connections: asked 1, in use 12, limit 12 (/ip4/10.1.1.1/tcp/4001 is in /ip4/10.0.0.0/ipcidr/8, which is limited as a whole)", error.Message);
        Assert.Equal(1, (await manager.ViewSubnetsAsync()).Tracked);
        one.Concat(two).ToList().ForEach(c => c.Done());
    }

    [Fact]
    public async Task The_most_specific_network_must_be_the_one_an_address_counts_in()
    {
        var manager = Manager(SubnetLimits.Default with
        {
            Networks = [new NetworkLimit(Multiaddr.Parse("/ip4/10.0.0.0/ipcidr/8"), 1), new NetworkLimit(Multiaddr.Parse("/ip4/10.1.0.0/ipcidr/16"), 2)],
        });
        var inner = await Open(manager, "10.1.2.3", 2);
        using var outer = await manager.OpenConnectionAsync(Direction.Inbound, true, At("10.2.0.1"));

        Assert.Equal("network:/ip4/10.1.0.0/ipcidr/16", (await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Inbound, true, At("10.1.9.9")))).Scope);
        Assert.Equal("network:/ip4/10.0.0.0/ipcidr/8", (await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await manager.OpenConnectionAsync(Direction.Inbound, true, At("10.3.0.1")))).Scope);
        inner.ForEach(c => c.Done());
    }

    [Fact]
    public async Task Loopback_must_be_unlimited_by_default_and_limited_once_the_networks_are_replaced()
    {
        var defaults = Manager();
        var many = await Open(defaults, "127.0.0.1", 50);
        Assert.Contains((await defaults.SnapshotAsync()), s => s.Scope == "network:/ip4/127.0.0.0/ipcidr/8" && s.Usage.NumConnsInbound == 50 && s.Limit == ScopeLimit.Unlimited);
        many.ForEach(c => c.Done());

        var strict = Manager(SubnetLimits.Default with { Networks = [] });
        var eight = await Open(strict, "127.0.0.2", 8);
        await Assert.ThrowsAsync<ResourceLimitExceededException>(async () => await strict.OpenConnectionAsync(Direction.Inbound, true, At("127.0.0.2", 5000)));
        using var other = await strict.OpenConnectionAsync(Direction.Inbound, true, At("127.0.0.3"));
        eight.ForEach(c => c.Done());
    }

    [Fact]
    public async Task An_allowlisted_address_must_not_be_counted_per_subnet()
    {
        var manager = Manager(null, "/ip4/1.2.3.0/ipcidr/24");

        var twenty = await Open(manager, "1.2.3.4", 20);

        Assert.Equal(20, (await manager.ViewTransientAsync()).Usage.NumConnsInbound);
        Assert.Equal(0, (await manager.ViewSubnetsAsync()).Tracked);
        twenty.ForEach(c => c.Done());
    }

    [Fact]
    public async Task Endpoints_without_an_IP_and_managers_without_rules_must_not_be_counted()
    {
        var manager = Manager();
        var memory = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => manager.OpenConnectionAsync(Direction.Inbound, true, Multiaddr.Parse("/memory/7"))));
        var unknown = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => manager.OpenConnectionAsync(Direction.Inbound, true)));
        var unlimited = Start();
        var plenty = await Open(unlimited, "1.2.3.4", 20);

        Assert.Equal(0, (await manager.ViewSubnetsAsync()).Tracked);
        Assert.Equal(0, (await unlimited.ViewSubnetsAsync()).Tracked);
        memory.Concat(unknown).Concat(plenty).ToList().ForEach(c => c.Done());
    }

    [Fact]
    public async Task The_snapshot_must_list_the_busiest_subnets_after_the_scopes()
    {
        var manager = Manager();
        var connections = new List<ConnectionManagementScope>();
        for (var i = 1; i <= 10; i++)
            connections.AddRange(await Open(manager, $"1.2.3.{i}", i % 8 + 1));

        var subnets = (await manager.SnapshotAsync()).Skip(4).ToList();

        Assert.Equal(ResourceManager.SnapshotSubnets, subnets.Count);
        Assert.Equal("subnet:/ip4/1.2.3.7/ipcidr/32", subnets[0].Scope);
        Assert.Equal(new ScopeStat(0, 0, 8, 0, 0, 0), subnets[0].Usage);
        Assert.Equal(8, subnets[0].Limit.Conns);
        Assert.Equal(10, (await manager.ViewSubnetsAsync()).Tracked);
        connections.ForEach(c => c.Done());
    }

    [Fact]
    public async Task The_limits_must_be_read_from_HOCON_each_list_replacing_its_default()
    {
        var config = ConfigurationFactory.ParseString("""
            akka.libp2p.resource-manager.connections-per-subnet {
              ipv4 = [{ prefix = 24, conns = 3 }]
              networks = [{ network = "/ip4/10.0.0.0/ipcidr/8", conns = 100 }, { network = "/ip6/::1/ipcidr/128", conns = unlimited }]
            }
            """);

        var limits = ResourceLimitDefaults.FromConfig(config).Subnets;

        Assert.Equal([new SubnetLimit(24, 3)], limits.IPv4);
        Assert.Equal(SubnetLimits.Default.IPv6, limits.IPv6);
        Assert.Equal([new NetworkLimit(Multiaddr.Parse("/ip4/10.0.0.0/ipcidr/8"), 100), new NetworkLimit(Multiaddr.Parse("/ip6/::1/ipcidr/128"), int.MaxValue)], limits.Networks);
        Assert.Equal(SubnetLimits.Default, ResourceLimitDefaults.FromConfig(ConfigurationFactory.Empty).Subnets);
    }

    [Theory]
    [InlineData("ipv4 = [{ prefix = 33, conns = 1 }]")]
    [InlineData("ipv6 = [{ conns = 1 }]")]
    [InlineData("ipv4 = [{ prefix = 24, conns = many }]")]
    [InlineData("networks = [{ network = \"/dns4/example.com\", conns = 1 }]")]
    [InlineData("networks = [{ network = \"10.0.0.0/8\", conns = 1 }]")]
    public async Task A_bad_rule_in_HOCON_must_be_refused(string rule)
    {
        var config = ConfigurationFactory.ParseString($"akka.libp2p.resource-manager.connections-per-subnet {{ {rule} }}");

        await Assert.ThrowsAsync<FormatException>(async () => ResourceLimitDefaults.FromConfig(config));
    }
}
