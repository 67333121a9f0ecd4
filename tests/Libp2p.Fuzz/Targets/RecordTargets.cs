using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Records;
using Key = Libp2p.Protocols.Crypto;

namespace Libp2p.Fuzz;

public static partial class FuzzTargets
{
    /// <summary>The identify message, bare and length-prefixed.</summary>
    public static FuzzTarget Identify { get; } = new("identify", "IdentifyMessage.Parse and TryReadDelimited; a parsed message round-trips through ToBytes", input =>
    {
        try
        {
            IdentifyMessage.TryReadDelimited(input, 4096, out _, out _);
        }
        catch (FormatException)
        {
        }
        IdentifyMessage message;
        try
        {
            message = IdentifyMessage.Parse(input);
        }
        catch (FormatException)
        {
            return;
        }
        FuzzCheckException.Check(IdentifyMessage.Parse(message.ToBytes()).Equals(message), "a parsed identify message re-encodes to another");
    });

    /// <summary>Signed envelopes, opened as peer records.</summary>
    public static FuzzTarget SignedEnvelope { get; } = new("signed-envelope", "SignedEnvelope.Open and PeerRecord.FromEnvelope (key, signature, payload type, record)", input =>
    {
        try
        {
            Protocols.Records.SignedEnvelope.Open(input, Protocols.Records.PeerRecord.Domain);
        }
        catch (Exception e) when (e is FormatException or InvalidSignatureException)
        {
        }
        try
        {
            Protocols.Records.PeerRecord.FromEnvelope(input);
        }
        catch (Exception e) when (e is FormatException or InvalidSignatureException)
        {
        }
    });

    /// <summary>The peer record protobuf on its own.</summary>
    public static FuzzTarget PeerRecord { get; } = new("peer-record", "PeerRecord.Parse; a parsed record round-trips through ToBytes", input =>
    {
        Protocols.Records.PeerRecord record;
        try
        {
            record = Protocols.Records.PeerRecord.Parse(input);
        }
        catch (FormatException)
        {
            return;
        }
        FuzzCheckException.Check(Protocols.Records.PeerRecord.Parse(record.ToBytes()).Equals(record), "a parsed peer record re-encodes to another");
    });

    /// <summary>Public keys of every type.</summary>
    public static FuzzTarget PublicKey { get; } = new("public-key", "PublicKey.FromProtobuf (Ed25519, secp256k1, ECDSA, RSA); a parsed key re-encodes to itself and verifies garbage without throwing", input =>
    {
        Key.PublicKey key;
        try
        {
            key = Key.PublicKey.FromProtobuf(input);
        }
        catch (FormatException)
        {
            return;
        }
        FuzzCheckException.Check(Key.PublicKey.FromProtobuf(key.ToProtobuf()).Equals(key), "a parsed public key re-encodes to another");
        FuzzCheckException.Check(!key.Verify(input, input.AsSpan(0, Math.Min(input.Length, 72))), "garbage verified");
    });

    /// <summary>Private keys (key files) of every type.</summary>
    public static FuzzTarget PrivateKey { get; } = new("private-key", "PrivateKey.FromProtobuf; a parsed key re-encodes to itself and its signature verifies", input =>
    {
        Key.PrivateKey key;
        try
        {
            key = Key.PrivateKey.FromProtobuf(input);
        }
        catch (FormatException)
        {
            return;
        }
        using (key)
        {
            using var again = Key.PrivateKey.FromProtobuf(key.ToProtobuf());
            FuzzCheckException.Check(again.PublicKey.Equals(key.PublicKey), "a parsed private key re-encodes to another");
            FuzzCheckException.Check(key.PublicKey.Verify("fuzz"u8, key.Sign("fuzz"u8)), "a parsed private key's signature does not verify");
        }
    });
}
