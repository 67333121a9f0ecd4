using System.Buffers;
using System.Text;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Noise;

/// <summary>
/// The libp2p Noise handshake payload (noise spec): <c>identity_key = 1</c> (a protobuf public key),
/// <c>identity_sig = 2</c> (its signature over <c>"noise-libp2p-static-key:" + static key</c>) and
/// <c>extensions = 4</c> (<c>webtransport_certhashes = 1</c>, <c>stream_muxers = 2</c>).
/// </summary>
public sealed record NoiseHandshakePayload(byte[] IdentityKey, byte[] IdentitySignature, IReadOnlyList<string> StreamMuxers)
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary>Encodes the payload as protobuf.</summary>
    public byte[] ToProtobuf()
    {
        var output = new ArrayBufferWriter<byte>(IdentityKey.Length + IdentitySignature.Length + 16);
        WriteBytes(output, 1, IdentityKey);
        WriteBytes(output, 2, IdentitySignature);
        if (StreamMuxers.Count > 0)
        {
            var extensions = new ArrayBufferWriter<byte>();
            foreach (var muxer in StreamMuxers)
                WriteBytes(extensions, 2, StrictUtf8.GetBytes(muxer));
            WriteBytes(output, 4, extensions.WrittenSpan);
        }
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a payload; unknown fields are skipped as protobuf readers do.</summary>
    /// <exception cref="FormatException">The bytes are not a valid payload.</exception>
    public static NoiseHandshakePayload Parse(ReadOnlySpan<byte> bytes)
    {
        byte[] key = [], signature = [];
        var muxers = new List<string>();
        foreach (var (field, wire, value) in Fields(bytes, "noise payload"))
        {
            switch (field, wire)
            {
                case (1, 2):
                    key = value;
                    break;
                case (2, 2):
                    signature = value;
                    break;
                case (4, 2):
                    foreach (var (inner, innerWire, innerValue) in Fields(value, "noise extensions"))
                    {
                        if (inner == 2 && innerWire == 2)
                        {
                            try
                            {
                                muxers.Add(StrictUtf8.GetString(innerValue));
                            }
                            catch (DecoderFallbackException e)
                            {
                                throw new FormatException("noise extensions: a stream muxer name is not UTF-8", e);
                            }
                        }
                    }
                    break;
            }
        }
        return new NoiseHandshakePayload(key, signature, muxers);
    }

    private static void WriteBytes(IBufferWriter<byte> output, int field, ReadOnlySpan<byte> value)
    {
        Varint.Write(output, (ulong)(field << 3 | 2));
        Varint.Write(output, (ulong)value.Length);
        output.Write(value);
    }

    private static List<(ulong Field, int Wire, byte[] Value)> Fields(ReadOnlySpan<byte> bytes, string what)
    {
        var fields = new List<(ulong, int, byte[])>();
        var offset = 0;
        while (offset < bytes.Length)
        {
            var key = Varint.Read(bytes[offset..], out var used);
            offset += used;
            var wire = (int)(key & 7);
            switch (wire)
            {
                case 0:
                    Varint.Read(bytes[offset..], out used);
                    offset += used;
                    break;
                case 2:
                    var length = Varint.ReadInt32(bytes[offset..], out used, $"{what}: field length", bytes.Length);
                    offset += used;
                    if (bytes.Length - offset < length)
                        throw new FormatException($"{what}: field {key >> 3} runs past the end");
                    fields.Add((key >> 3, wire, bytes.Slice(offset, length).ToArray()));
                    offset += length;
                    break;
                case 1 or 5:
                    offset += wire == 1 ? 8 : 4;
                    if (offset > bytes.Length)
                        throw new FormatException($"{what}: field {key >> 3} runs past the end");
                    break;
                default:
                    throw new FormatException($"{what}: unsupported wire type {wire}");
            }
        }
        return fields;
    }
}
