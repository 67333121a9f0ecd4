using System.Security.Cryptography;
using FsCheck.Xunit;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tests.Crypto;

namespace Libp2p.Protocols.Tests.Peer;

public sealed class PeerIdTests
{
    // Expected IDs are computed here independently of PeerId: identity or sha2-256 multihash, base58btc.
    private static string ExpectedPeerId(string publicHex)
    {
        var encoded = Convert.FromHexString(publicHex);
        byte[] multihash = encoded.Length <= 42 ? [0x00, (byte)encoded.Length, .. encoded] : [0x12, 0x20, .. SHA256.HashData(encoded)];
        return SimpleBase.Base58.Bitcoin.Encode(multihash);
    }

    [Theory]
    [InlineData(KeyVectors.Ed25519Public, "12D3KooW")]
    [InlineData(KeyVectors.Secp256k1Public, "16Uiu2")]
    [InlineData(KeyVectors.EcdsaPublic, "Qm")]
    [InlineData(KeyVectors.RsaPublic, "Qm")]
    public void The_peer_ID_of_a_spec_key_must_follow_the_spec(string publicHex, string prefix)
    {
        var key = PublicKey.FromProtobuf(Convert.FromHexString(publicHex));

        var peer = PeerId.FromPublicKey(key);

        Assert.Equal(ExpectedPeerId(publicHex), peer.ToString());
        Assert.StartsWith(prefix, peer.ToString(), StringComparison.Ordinal);
        Assert.Equal(peer, PeerId.Parse(peer.ToString()));
        Assert.Equal(peer, PeerId.Parse(peer.ToCidString()));
        Assert.Equal(peer, PeerId.FromBytes(peer.ToBytes()));
        Assert.True(peer.Matches(key));
    }

    [Fact]
    public void The_spec_CID_example_must_be_the_spec_base58_example()
    {
        var fromCid = PeerId.Parse("bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe");
        Assert.Equal("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", fromCid.ToString());
        Assert.Equal("bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe", fromCid.ToCidString());
    }

    [Fact]
    public void An_inlined_key_must_be_extractable_and_a_hashed_one_not()
    {
        var ed = PeerId.FromPublicKey(PublicKey.FromProtobuf(Convert.FromHexString(KeyVectors.Ed25519Public)));
        Assert.True(ed.TryExtractPublicKey(out var key));
        Assert.Equal(KeyVectors.Ed25519Public, Convert.ToHexStringLower(key.ToProtobuf()));

        var rsa = PeerId.FromPublicKey(PublicKey.FromProtobuf(Convert.FromHexString(KeyVectors.RsaPublic)));
        Assert.False(rsa.TryExtractPublicKey(out _));
    }

    [Fact]
    public void Peer_IDs_must_compare_by_value()
    {
        var a = PeerId.Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
        var b = PeerId.Parse("bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe");
        var c = PeerId.Parse("QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC");
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.True(a != c);
        Assert.Equal(0, a.CompareTo(b));
        Assert.NotEqual(0, a.CompareTo(c));
    }

    [Theory]
    [InlineData("", "empty text")]
    [InlineData("Qm0000", "not base58btc")]
    [InlineData("QmxoHT6iViN5xAjoz1VZ553cL31U9F94ht3QvWR1FrEbZY", "multihash:")]
    [InlineData("k2jmtxwoe2phm1hbqp0e7nufqf6umvuu2e9qd7ana7h411a0haqj6i2z", "expected libp2p-key (0x72)")]
    [InlineData("hello", "neither base58btc nor a multibase CID")]
    [InlineData("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "expected libp2p-key (0x72)")]
    public void Malformed_peer_IDs_must_be_refused_with_the_reason(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => PeerId.Parse(text));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.False(PeerId.TryParse(text, out _));
    }

    [Property(MaxTest = 1000)]
    public bool Random_bytes_must_be_a_peer_ID_or_a_format_error(byte[] bytes)
    {
        try
        {
            var peer = PeerId.FromBytes(bytes);
            return PeerId.Parse(peer.ToString()) == peer;
        }
        catch (FormatException)
        {
            return true;
        }
    }

    [Property(MaxTest = 1000)]
    public bool Random_text_must_be_a_peer_ID_or_a_format_error(string? text, bool asCid)
    {
        try
        {
            PeerId.Parse((asCid ? "b" : "Qm") + text);
            return true;
        }
        catch (FormatException)
        {
            return true;
        }
    }
}
