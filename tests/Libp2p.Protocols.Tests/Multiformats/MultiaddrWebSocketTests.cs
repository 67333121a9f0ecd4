using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Tests.Multiformats;

/// <summary>The WebSocket addresses of the websockets spec, to bytes (multicodec table codes) and back.</summary>
public sealed class MultiaddrWebSocketTests
{
    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/4001/ws", "047f000001060fa1dd03")]
    [InlineData("/ip4/127.0.0.1/tcp/443/wss", "047f00000106" + "01bb" + "de03")]
    [InlineData("/ip6/::1/tcp/443/tls/ws", "2900000000000000000000000000000001" + "0601bb" + "c003" + "dd03")]
    [InlineData("/dns4/example.com/tcp/443/tls/sni/example.com/ws", "360b6578616d706c652e636f6d" + "0601bb" + "c003" + "c1030b6578616d706c652e636f6d" + "dd03")]
    [InlineData("/dns6/example.com/tcp/80/ws", "370b6578616d706c652e636f6d" + "060050" + "dd03")]
    [InlineData("/dns/example.com/wss", "350b6578616d706c652e636f6d" + "de03")]
    [InlineData("/dns/example.com/wss/http-path/path%2Fto%2Fendpoint", "350b6578616d706c652e636f6d" + "de03" + "e103" + "10" + "706174682f746f2f656e64706f696e74")]
    public void A_WebSocket_address_must_encode_to_the_spec_bytes_and_back(string text, string hex)
    {
        var address = Multiaddr.Parse(text);
        Assert.Equal(hex, Convert.ToHexStringLower(address.Bytes));
        Assert.Equal(text, Multiaddr.FromBytes(Convert.FromHexString(hex)).ToString());
    }
}
