using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Crypto;

/// <summary>
/// The two-field message of crypto.proto (<c>required KeyType Type = 1; required bytes Data = 2;</c>),
/// shared by PublicKey and PrivateKey. Written by hand: it is two fields, and the peer-ids spec
/// wants one deterministic encoding (Type first, always present, even when it is RSA = 0).
/// </summary>
internal static class KeyProtobuf
{
    private const byte TypeTag = 1 << 3 | 0;
    private const byte DataTag = 2 << 3 | 2;

    /// <summary>The largest Data accepted: far above an 8192-bit RSA private key, far below abuse.</summary>
    private const int MaxDataLength = 16 * 1024;

    public static byte[] Encode(KeyType type, ReadOnlySpan<byte> data)
    {
        var length = 3 + Varint.GetLength((ulong)data.Length) + data.Length;
        var bytes = new byte[length];
        bytes[0] = TypeTag;
        bytes[1] = (byte)type;
        bytes[2] = DataTag;
        var offset = 3 + Varint.Write((ulong)data.Length, bytes.AsSpan(3));
        data.CopyTo(bytes.AsSpan(offset));
        return bytes;
    }

    public static (KeyType Type, byte[] Data) Decode(ReadOnlySpan<byte> bytes, string what)
    {
        KeyType? type = null;
        byte[]? data = null;
        var offset = 0;
        while (offset < bytes.Length)
        {
            var key = Varint.Read(bytes[offset..], out var used);
            offset += used;
            var field = key >> 3;
            var wire = (int)(key & 7);
            switch (field, wire)
            {
                case (1, 0):
                    var value = Varint.Read(bytes[offset..], out used);
                    offset += used;
                    if (type is not null)
                        throw new FormatException($"{what}: the Type field appears twice");
                    if (value > (ulong)KeyType.ECDSA)
                        throw new FormatException($"{what}: unknown key type {value}");
                    type = (KeyType)value;
                    break;
                case (2, 2):
                    var length = Varint.ReadInt32(bytes[offset..], out used, $"{what}: Data length", MaxDataLength);
                    offset += used;
                    if (bytes.Length - offset < length)
                        throw new FormatException($"{what}: Data says {length} bytes but {bytes.Length - offset} remain");
                    if (data is not null)
                        throw new FormatException($"{what}: the Data field appears twice");
                    data = bytes.Slice(offset, length).ToArray();
                    offset += length;
                    break;
                case (1 or 2, _):
                    throw new FormatException($"{what}: field {field} has wire type {wire}");
                default:
                    // Unknown fields are skipped, as protobuf readers do; the key is re-encoded canonically.
                    offset += SkipLength(bytes[offset..], wire, what);
                    break;
            }
        }
        if (type is null || data is null)
            throw new FormatException($"{what}: the {(type is null ? "Type" : "Data")} field is missing");
        return (type.Value, data);
    }

    private static int SkipLength(ReadOnlySpan<byte> rest, int wire, string what)
    {
        int skip;
        switch (wire)
        {
            case 0:
                Varint.Read(rest, out skip);
                return skip;
            case 1:
                skip = 8;
                break;
            case 2:
                var length = Varint.ReadInt32(rest, out var used, $"{what}: field length", MaxDataLength);
                skip = used + length;
                break;
            case 5:
                skip = 4;
                break;
            default:
                throw new FormatException($"{what}: unsupported wire type {wire}");
        }
        if (rest.Length < skip)
            throw new FormatException($"{what}: an unknown field runs past the end");
        return skip;
    }
}
