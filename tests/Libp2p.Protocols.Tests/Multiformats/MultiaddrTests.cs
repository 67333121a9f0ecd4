using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Tests.Multiformats;

public sealed class MultiaddrTests
{
    public static TheoryData<string> Valid => new(MultiaddrVectors.Valid);
    public static TheoryData<string> Invalid => new(MultiaddrVectors.Invalid);
    public static TheoryData<string> RoundTrips => new(MultiaddrVectors.RoundTrip);
    public static TheoryData<string, string> Binary
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var (text, hex) in MultiaddrVectors.Binary)
                data.Add(text, hex);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Valid))]
    public void Multiaddr_must_accept_every_valid_spec_vector_and_round_trip_it(string text)
    {
        var address = Multiaddr.Parse(text);

        var fromBytes = Multiaddr.FromBytes(address.ToBytes());
        var fromText = Multiaddr.Parse(address.ToString());

        Assert.Equal(address, fromBytes);
        Assert.Equal(address, fromText);
        Assert.Equal(address.ToString(), fromBytes.ToString());
        Assert.Equal(address.GetHashCode(), fromBytes.GetHashCode());
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Multiaddr_must_reject_every_invalid_spec_vector_with_a_format_error(string text)
    {
        var error = Assert.Throws<FormatException>(() => Multiaddr.Parse(text));
        Assert.StartsWith("multiaddr '", error.Message, StringComparison.Ordinal);
        Assert.False(Multiaddr.TryParse(text, out _));
    }

    [Theory]
    [MemberData(nameof(Binary))]
    public void Multiaddr_must_map_text_and_binary_as_the_spec_vectors_do(string text, string hex)
    {
        Assert.Equal(hex, Convert.ToHexStringLower(Multiaddr.Parse(text).ToBytes()));
        Assert.Equal(text, Multiaddr.FromBytes(Convert.FromHexString(hex)).ToString());
    }

    [Theory]
    [MemberData(nameof(RoundTrips))]
    public void Multiaddr_must_print_these_addresses_exactly_as_written(string text) =>
        Assert.Equal(text, Multiaddr.Parse(text).ToString());

    [Fact]
    public void Multiaddr_must_print_the_ipfs_alias_as_p2p()
    {
        var p2p = Multiaddr.Parse("/p2p/QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP");
        var ipfs = Multiaddr.Parse("/ipfs/QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP");
        Assert.Equal(p2p, ipfs);
        Assert.Equal("/p2p/QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP", ipfs.ToString());
    }

    [Theory]
    [InlineData("/zzz/1", "unknown protocol 'zzz'")]
    [InlineData("ip4/1.2.3.4", "must begin with '/'")]
    [InlineData("/tcp", "protocol tcp needs a value")]
    [InlineData("/tcp/65536", "invalid value '65536' for tcp: 65536 is out of range for a port number")]
    [InlineData("/ip4/1.2.3.04", "invalid value '1.2.3.04' for ip4: '1.2.3.04' is not an IPv4 address")]
    [InlineData("/ip6/fe80::1%eth0", "'fe80::1%eth0' is not an IPv6 address")]
    [InlineData("/ip4//tcp/1", "invalid value '' for ip4")]
    [InlineData("/dns4/a/b", "unknown protocol 'b'")]
    public void Multiaddr_must_say_precisely_what_is_wrong(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => Multiaddr.Parse(text));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty binary multiaddr")]
    [InlineData("04", "ip4 needs 4 value bytes")]
    [InlineData("047f00000106", "tcp needs 2 value bytes")]
    [InlineData("ffff03", "unknown protocol code 65535")]
    [InlineData("80", "bad protocol code")]
    [InlineData("3500", "empty value for dns")]
    [InlineData("3505616263", "dns needs 5 value bytes")]
    [InlineData("900300", "empty value for unix")]
    [InlineData("a503221221c05877cbae039d70a5e600ea02c6f9f2942439285c9e344e26f8d280c850fad6", "invalid p2p value")]
    [InlineData("9003022f61047f000001", "component after the path component unix")]
    public void Multiaddr_must_reject_malformed_binary_with_a_precise_error(string hex, string reason)
    {
        var error = Assert.Throws<FormatException>(() => Multiaddr.FromBytes(Convert.FromHexString(hex)));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encapsulate_and_Decapsulate_must_behave_as_go_multiaddr()
    {
        var address = Multiaddr.Parse("/ip4/127.0.0.1/udp/1234");
        var both = address.Encapsulate("/udp/5678");
        Assert.Equal("/ip4/127.0.0.1/udp/1234/udp/5678", both.ToString());
        Assert.Equal("/ip4/127.0.0.1/udp/1234", both.Decapsulate(Multiaddr.Parse("/udp/5678")).ToString());
        Assert.True(address.Decapsulate(Multiaddr.Parse("/ip4/127.0.0.1")).IsEmpty);

        (string Left, string Right, string Expected)[] cases =
        [
            ("/ip4/1.2.3.4/tcp/1234", "/ip4/1.2.3.4", ""),
            ("/ip4/1.2.3.4", "/ip4/1.2.3.4/tcp/1234", "/ip4/1.2.3.4"),
            ("/ip4/1.2.3.5/tcp/1234", "/ip4/5.3.2.1", "/ip4/1.2.3.5/tcp/1234"),
            ("/ip4/1.2.3.5/udp/1234/quic-v1", "/udp/1234", "/ip4/1.2.3.5"),
            ("/ip4/1.2.3.6/udp/1234/quic-v1", "/udp/1234/quic-v1", "/ip4/1.2.3.6"),
            ("/ip4/1.2.3.7/tcp/1234", "/ws", "/ip4/1.2.3.7/tcp/1234"),
            ("/dnsaddr/wss.com/tcp/4001", "/ws", "/dnsaddr/wss.com/tcp/4001"),
            ("/dnsaddr/wss.com/tcp/4001/ws", "/wss", "/dnsaddr/wss.com/tcp/4001/ws"),
            ("/dnsaddr/wss.com/ws", "/wss", "/dnsaddr/wss.com/ws"),
            ("/dnsaddr/wss.com/ws", "/dnsaddr/wss.com", ""),
            ("/dnsaddr/wss.com/tcp/4001/wss", "/wss", "/dnsaddr/wss.com/tcp/4001"),
        ];
        foreach (var (left, right, expected) in cases)
            Assert.Equal(expected, Multiaddr.Parse(left).Decapsulate(Multiaddr.Parse(right)).ToString());
        Assert.Equal("/ip4/1.2.3.4/tcp/1", Multiaddr.Parse("/ip4/1.2.3.4/tcp/1/p2p/QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP").Decapsulate("p2p").ToString());
    }

    [Fact]
    public void Value_lookup_must_find_the_first_component_of_a_protocol()
    {
        var address = Multiaddr.Parse("/ip4/127.0.0.1/utp/tcp/5555/udp/1234/tls/utp/ipfs/QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP");
        Assert.Equal("127.0.0.1", address.ValueFor("ip4"));
        Assert.Equal("", address.ValueFor("utp"));
        Assert.Equal("5555", address.ValueFor("tcp"));
        Assert.Equal("1234", address.ValueFor("udp"));
        Assert.Equal("QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP", address.ValueFor("p2p"));
        Assert.Equal("QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP", address.PeerIdText);
        Assert.Null(address.ValueFor("ip6"));
        Assert.False(address.TryGetValue("ip6", out _));
        Assert.Equal("/a/b/c/d", Multiaddr.Parse("/ip4/0.0.0.0/unix/a/b/c/d").ValueFor("unix"));
        Assert.Equal("tmp%2Fbar", Multiaddr.Parse("/http-path/tmp%2Fbar/p2p-circuit").ValueFor("http-path"));
    }

    [Fact]
    public void Equality_must_be_over_the_binary_form()
    {
        Assert.Equal(Multiaddr.Parse("/ip4/127.0.0.1/tcp/1234"), Multiaddr.Parse("/ip4/127.0.0.1/tcp/1234/"));
        Assert.True(Multiaddr.Parse("/ip4/127.0.0.1/tcp/1234") == Multiaddr.Parse("/ip4/127.0.0.1/tcp/01234"));
        Assert.True(Multiaddr.Parse("/ip4/127.0.0.1/udp/1234") != Multiaddr.Parse("/ip4/127.0.0.1/tcp/1234"));
    }

    [Theory]
    [InlineData("127.0.0.1", 4001, "/ip4/127.0.0.1/tcp/4001")]
    [InlineData("::1", 0, "/ip6/::1/tcp/0")]
    [InlineData("2001:db8:0:1:1:1:1:1", 80, "/ip6/2001:db8:0:1:1:1:1:1/tcp/80")]
    public void IP_endpoints_must_convert_both_ways(string ip, int port, string text)
    {
        var address = Multiaddr.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));
        Assert.Equal(text, address.ToString());
        Assert.True(address.TryGetIPEndPoint(out var endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.Parse(ip), port), endPoint);
    }

    [Theory]
    [InlineData("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1")]
    [InlineData("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")]
    [InlineData("0:0:0:0:0:0:0:0", "::")]
    [InlineData("::1.2.3.4", "::102:304")]
    [InlineData("1.2.3.4", "::ffff:1.2.3.4")]
    [InlineData("FE80::ABCD", "fe80::abcd")]
    public void IPv6_must_print_as_Go_prints_it(string input, string printed) =>
        Assert.Equal($"/ip6/{printed}", Multiaddr.Parse($"/ip6/{input}").ToString());

    private static readonly string[] Values = ["1.2.3.4", "::1", "example.com", "4001", "QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP"];

    private static Gen<string> ComponentText() => Gen.OneOf(
        Gen.Choose(0, 255).Four().Select(t => $"/ip4/{t.Item1}.{t.Item2}.{t.Item3}.{t.Item4}"),
        Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), 16).Select(b => $"/ip6/{new IPAddress(b)}"),
        Gen.Elements("tcp", "udp", "sctp", "dccp").SelectMany(p => Gen.Choose(0, 65535).Select(n => $"/{p}/{n}")),
        Gen.Elements("dns", "dns4", "dns6", "dnsaddr", "sni").SelectMany(p => Gen.Elements("a.b", "example.com", "x-y.z").Select(h => $"/{p}/{h}")),
        Gen.Elements(MultiaddrProtocol.All.Where(p => !p.HasValue).Select(p => "/" + p.Name).ToArray()),
        Gen.Choose(0, 128).Select(n => $"/ipcidr/{n}"),
        ArbMap.Default.GeneratorFor<ulong>().Select(n => $"/memory/{n}"),
        Gen.Elements("/p2p/QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP", "/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV"),
        Gen.Elements("/http-path/a%20b", "/http-path/x", "/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g"));

    [Property(MaxTest = 300)]
    public Property Every_generated_multiaddr_must_round_trip_through_bytes_and_text() =>
        Prop.ForAll(Gen.NonEmptyListOf(ComponentText()).Select(parts => string.Concat(parts)).ToArbitrary(), text =>
        {
            var address = Multiaddr.Parse(text);
            return Multiaddr.FromBytes(address.ToBytes()) == address && Multiaddr.Parse(address.ToString()) == address;
        });

    [Property(MaxTest = 2000)]
    public bool Random_bytes_must_parse_to_an_address_or_a_format_error(byte[] bytes)
    {
        try
        {
            var address = Multiaddr.FromBytes(bytes);
            return Multiaddr.Parse(address.ToString()) == address;
        }
        catch (FormatException)
        {
            return true;
        }
    }

    [Property(MaxTest = 2000)]
    public bool Random_text_must_parse_to_an_address_or_a_format_error(string? text, int pick)
    {
        // Mix known protocol names in, so the fuzz reaches the value parsers.
        var names = MultiaddrProtocol.All;
        var input = $"/{names[(int)((uint)pick % names.Count)].Name}/{text}";
        try
        {
            var address = Multiaddr.Parse(input);
            return Multiaddr.FromBytes(address.ToBytes()) == address;
        }
        catch (FormatException)
        {
            return true;
        }
    }
}
