using Libp2p.Actors.Dcutr;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Actors.Tests.Relay;

public sealed class HolePunchAddressTests
{
    [Theory]
    [InlineData("/ip4/198.18.0.10/tcp/4001", true)]
    [InlineData("/ip4/8.8.8.8/tcp/4001", true)]
    [InlineData("/ip6/2001:db8::1/tcp/4001", true)]
    [InlineData("/ip4/127.0.0.1/tcp/4001", false)]
    [InlineData("/ip4/10.1.0.2/tcp/4001", false)]
    [InlineData("/ip4/172.20.0.1/tcp/4001", false)]
    [InlineData("/ip4/192.168.1.1/tcp/4001", false)]
    [InlineData("/ip4/100.64.0.1/tcp/4001", false)]
    [InlineData("/ip4/169.254.1.1/tcp/4001", false)]
    [InlineData("/ip4/0.0.0.0/tcp/4001", false)]
    [InlineData("/ip6/::1/tcp/4001", false)]
    [InlineData("/ip6/fd00::1/tcp/4001", false)]
    [InlineData("/ip6/fe80::1/tcp/4001", false)]
    [InlineData("/dns4/example.com/tcp/4001", false)]
    public void Only_addresses_reachable_from_anywhere_must_be_dialed_unilaterally(string address, bool isPublic) =>
        Assert.Equal(isPublic, HolePunchExchange.IsPublic(Multiaddr.Parse(address)));
}
