using System.Buffers.Binary;

namespace Libp2p.Protocols.Tls;

/// <summary>
/// Reads the ALPN offer (RFC 7301) out of a TLS ClientHello: the server needs it before it answers,
/// because .NET's server picks by its own list's order and the spec wants the client's order.
/// </summary>
public static class ClientHelloAlpn
{
    private const byte HandshakeRecord = 22;
    private const byte ClientHello = 1;
    private const ushort AlpnExtension = 16;

    /// <summary>
    /// The protocols the client offered, in its order; empty when it offered none. False when
    /// <paramref name="record"/> does not start with a whole ClientHello in one record (then the
    /// server falls back to its own order).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> record, out IReadOnlyList<string> protocols)
    {
        protocols = [];
        if (record.Length < 5 || record[0] != HandshakeRecord)
            return false;
        int recordLength = BinaryPrimitives.ReadUInt16BigEndian(record[3..]);
        if (record.Length < 5 + recordLength)
            return false;
        var hello = record.Slice(5, recordLength);
        if (hello.Length < 4 || hello[0] != ClientHello)
            return false;
        var helloLength = (hello[1] << 16) | (hello[2] << 8) | hello[3];
        if (hello.Length < 4 + helloLength)
            return false;
        var body = hello.Slice(4, helloLength);
        // client_version (2), random (32), then three length-prefixed fields, then the extensions.
        if (!Skip(ref body, 34) || !SkipPrefixed(ref body, 1) || !SkipPrefixed(ref body, 2) || !SkipPrefixed(ref body, 1))
            return false;
        if (body.IsEmpty)
            return true; // no extensions at all
        if (!TakePrefixed(ref body, 2, out var extensions))
            return false;
        while (extensions.Length >= 4)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(extensions);
            extensions = extensions[2..];
            if (!TakePrefixed(ref extensions, 2, out var data))
                return false;
            if (type != AlpnExtension)
                continue;
            if (!TakePrefixed(ref data, 2, out var list))
                return false;
            var names = new List<string>();
            while (!list.IsEmpty)
            {
                if (!TakePrefixed(ref list, 1, out var name) || name.IsEmpty)
                    return false;
                names.Add(System.Text.Encoding.ASCII.GetString(name));
            }
            protocols = names;
            return true;
        }
        return extensions.IsEmpty;
    }

    private static bool Skip(ref ReadOnlySpan<byte> span, int count)
    {
        if (span.Length < count)
            return false;
        span = span[count..];
        return true;
    }

    private static bool SkipPrefixed(ref ReadOnlySpan<byte> span, int prefix) => TakePrefixed(ref span, prefix, out _);

    private static bool TakePrefixed(ref ReadOnlySpan<byte> span, int prefix, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (span.Length < prefix)
            return false;
        var length = prefix == 1 ? span[0] : BinaryPrimitives.ReadUInt16BigEndian(span);
        if (span.Length < prefix + length)
            return false;
        value = span.Slice(prefix, length);
        span = span[(prefix + length)..];
        return true;
    }
}
