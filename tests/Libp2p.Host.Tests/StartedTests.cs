using Libp2p.Protocols.Multiformats;

namespace Libp2p.Host.Tests;

public sealed class StartedTests : HostTestKit
{
    [Fact]
    public async Task Started_must_give_dialable_addresses_ending_in_the_peer_id_not_the_wildcard()
    {
        var node = await StartAsync(s => s with { ListenAddresses = [Multiaddr.Parse("/ip4/0.0.0.0/tcp/0")] });

        var started = await node.Started.WaitAsync(Patience);

        Assert.NotEmpty(started);
        Assert.All(started, a => Assert.EndsWith($"/p2p/{node.PeerId}", a.ToString(), StringComparison.Ordinal));
        Assert.DoesNotContain(started, a => a.ToString().Contains("/0.0.0.0/", StringComparison.Ordinal) || a.ToString().Contains("/tcp/0/", StringComparison.Ordinal));
        Assert.Contains(started, a => a.ToString().StartsWith("/ip4/127.0.0.1/tcp/", StringComparison.Ordinal));
        var dialer = await StartAsync(s => s with { ListenAddresses = [] });
        var loopback = started.First(a => a.ToString().StartsWith("/ip4/127.0.0.1/", StringComparison.Ordinal));
        var connection = await dialer.ConnectAsync(loopback).WaitAsync(Patience);
        Assert.Equal(node.PeerId, connection.RemotePeer);
    }
}
