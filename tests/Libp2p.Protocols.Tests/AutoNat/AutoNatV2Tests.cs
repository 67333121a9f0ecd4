using System.Net;
using Libp2p.Protocols.AutoNat;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Tests.AutoNat;

/// <summary>The AutoNAT v2 server's decisions: which address it dials, and when that costs dial data.</summary>
public sealed class AutoNatV2Tests
{
    private static Multiaddr A(string text) => Multiaddr.Parse(text);

    [Theory]
    [InlineData("/ip4/1.2.3.4/tcp/4001", "/ip4/1.2.3.4/tcp/50000", false)]
    [InlineData("/ip4/1.2.3.5/tcp/4001", "/ip4/1.2.3.4/tcp/50000", true)]
    [InlineData("/ip6/2001:db8::1/tcp/4001", "/ip6/2001:db8::1/tcp/1", false)]
    [InlineData("/ip6/2001:db8::2/tcp/4001", "/ip6/2001:db8::1/tcp/1", true)]
    [InlineData("/ip4/1.2.3.4/tcp/4001", "/ip6/::ffff:1.2.3.4/tcp/1", false)]
    [InlineData("/dns4/example.com/tcp/4001", "/ip4/1.2.3.4/tcp/1", true)]
    // Over a relay the observed IP is the relay's: asking about the relay's own IP is not free.
    [InlineData("/ip4/1.2.3.4/tcp/4001", "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit", true)]
    public void Dial_data_must_be_charged_exactly_when_the_IP_differs_from_the_observed_one(string selected, string observed, bool charged) =>
        Assert.Equal(charged, AutoNatV2.RequiresDialData(A(selected), A(observed)));

    [Fact]
    public void The_first_public_direct_TCP_address_must_be_selected()
    {
        Multiaddr?[] addresses =
        [
            null,
            A("/ip4/192.168.1.2/tcp/4001"),
            A("/ip4/127.0.0.1/tcp/4001"),
            A("/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit"),
            A("/ip4/1.2.3.4/udp/4001/quic-v1"),
            A("/ip4/100.64.0.1/tcp/4001"),
            A("/ip4/1.2.3.4/tcp/4001"),
        ];

        Assert.Equal(6, AutoNatV2.SelectAddress(addresses, allowPrivate: false));
        Assert.Equal(1, AutoNatV2.SelectAddress(addresses, allowPrivate: true));
        Assert.Equal(-1, AutoNatV2.SelectAddress(addresses, allowPrivate: false, ipv4: false));
    }

    [Theory]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.16.0.1", false)]
    [InlineData("172.32.0.1", true)]
    [InlineData("169.254.1.1", false)]
    [InlineData("::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("2001:db8::1", true)]
    [InlineData("8.8.8.8", true)]
    public void Private_and_loopback_addresses_must_not_count_as_public(string ip, bool isPublic) =>
        Assert.Equal(isPublic, AutoNatV2.IsPublic(IPAddress.Parse(ip)));
}
