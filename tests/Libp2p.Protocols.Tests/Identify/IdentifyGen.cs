using FsCheck;
using FsCheck.Fluent;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Tests.Crypto;

namespace Libp2p.Protocols.Tests.Identify;

/// <summary>Generators of identify messages for the property tests.</summary>
internal static class IdentifyGen
{
    // Parsed once: every key type, without the cost of generating RSA keys per case.
    private static readonly PublicKey[] Keys =
        [.. new[] { KeyVectors.Ed25519Public, KeyVectors.Secp256k1Public, KeyVectors.EcdsaPublic, KeyVectors.RsaPublic }
            .Select(hex => PublicKey.FromProtobuf(Convert.FromHexString(hex)))];

    private static readonly Multiaddr[] Addresses =
        [.. new[]
        {
            "/ip4/1.2.3.4/tcp/4001", "/ip6/::1/udp/4001/quic-v1", "/dns4/example.com/tcp/443/wss",
            "/ip4/10.0.0.1/tcp/1/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV", "/memory/7",
        }.Select(Multiaddr.Parse)];

    public static Gen<IdentifyMessage> Messages() =>
        from protocolVersion in Optional(Text())
        from agentVersion in Optional(Text())
        from key in Optional(Gen.Elements(Keys))
        from listenAddrs in Gen.ListOf(Gen.Elements(Addresses))
        from observedAddr in Optional(Gen.Elements(Addresses))
        from protocols in Gen.ListOf(Text())
        from record in Optional(ArbMap.Default.GeneratorFor<byte[]>())
        select new IdentifyMessage
        {
            ProtocolVersion = protocolVersion,
            AgentVersion = agentVersion,
            PublicKey = key,
            ListenAddrs = listenAddrs,
            ObservedAddr = observedAddr,
            Protocols = protocols,
            SignedPeerRecord = record is null ? null : record,
        };

    // Strings that survive UTF-8: a lone surrogate would be replaced on the way out, as it must.
    private static Gen<string> Text() =>
        ArbMap.Default.GeneratorFor<string>().Where(s => s is not null && System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(s)) == s);

    private static Gen<T?> Optional<T>(Gen<T> gen)
        where T : class =>
        Gen.Frequency((1, Gen.Constant<T?>(null)), (3, gen.Select(value => (T?)value)));
}
