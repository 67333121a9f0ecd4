using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Multiformats;

/// <summary>
/// Converts one protocol's value between its text and binary forms. Every failure is a
/// <see cref="FormatException"/> whose message says what is wrong with the value; the caller adds
/// which address and protocol it belongs to.
/// </summary>
internal abstract class MultiaddrTranscoder
{
    protected static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static readonly MultiaddrTranscoder Ip4 = new Ip4Transcoder();
    public static readonly MultiaddrTranscoder Ip6 = new Ip6Transcoder();
    public static readonly MultiaddrTranscoder Port = new PortTranscoder();
    public static readonly MultiaddrTranscoder Cidr = new CidrTranscoder();
    public static readonly MultiaddrTranscoder Zone = new TextTranscoder("an IPv6 zone");
    public static readonly MultiaddrTranscoder DnsName = new TextTranscoder("a domain name");
    public static readonly MultiaddrTranscoder UnixPath = new UnixPathTranscoder();
    public static readonly MultiaddrTranscoder PeerId = new PeerIdTranscoder();
    public static readonly MultiaddrTranscoder Onion = new OnionTranscoder(hostLength: 10, hostChars: 16);
    public static readonly MultiaddrTranscoder Onion3 = new OnionTranscoder(hostLength: 35, hostChars: 56);
    public static readonly MultiaddrTranscoder Garlic64 = new Garlic64Transcoder();
    public static readonly MultiaddrTranscoder Garlic32 = new Garlic32Transcoder();
    public static readonly MultiaddrTranscoder CertHash = new CertHashTranscoder();
    public static readonly MultiaddrTranscoder HttpPath = new HttpPathTranscoder();
    public static readonly MultiaddrTranscoder Memory = new MemoryTranscoder();

    /// <summary>Text to bytes; the result also passes <see cref="Validate"/>.</summary>
    public abstract byte[] Parse(string value);

    /// <summary>Bytes (already validated) to text.</summary>
    public abstract string Format(ReadOnlySpan<byte> value);

    /// <summary>Checks bytes read from the binary form.</summary>
    public virtual void Validate(ReadOnlySpan<byte> value) { }

    private static ulong ParseUnsigned(string text, ulong max, string what)
    {
        // Digits only: no sign, no spaces, as Go's strconv.ParseUint.
        if (text.Length == 0 || text.AsSpan().IndexOfAnyExceptInRange('0', '9') >= 0)
            throw new FormatException($"'{text}' is not {what}");
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > max)
            throw new FormatException($"{text} is out of range for {what} (0 to {max})");
        return value;
    }

    private sealed class Ip4Transcoder : MultiaddrTranscoder
    {
        public override byte[] Parse(string value) =>
            TryParseDotted(value, out var bytes) ? bytes : throw new FormatException($"'{value}' is not an IPv4 address");

        public override string Format(ReadOnlySpan<byte> value) => $"{value[0]}.{value[1]}.{value[2]}.{value[3]}";

        internal static bool TryParseDotted(ReadOnlySpan<char> text, out byte[] bytes)
        {
            bytes = new byte[4];
            var part = 0;
            var digits = 0;
            var current = 0;
            foreach (var c in text)
            {
                if (c == '.')
                {
                    if (digits == 0 || part == 3)
                        return false;
                    bytes[part++] = (byte)current;
                    digits = current = 0;
                    continue;
                }
                // Leading zeros are refused, as Go does: "010" is octal to some parsers.
                if (c is < '0' or > '9' || digits == 3 || (digits > 0 && current == 0))
                    return false;
                current = current * 10 + (c - '0');
                digits++;
                if (current > 255)
                    return false;
            }
            if (digits == 0 || part != 3)
                return false;
            bytes[3] = (byte)current;
            return true;
        }
    }

    private sealed class Ip6Transcoder : MultiaddrTranscoder
    {
        public override byte[] Parse(string value)
        {
            if (Ip4Transcoder.TryParseDotted(value, out var v4))
                return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3]];
            // .NET would also take zones and brackets; a zone is its own component here.
            if (!value.Contains(':') || value.AsSpan().IndexOfAny("%[]/ ") >= 0
                || !IPAddress.TryParse(value, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
                throw new FormatException($"'{value}' is not an IPv6 address");
            return address.GetAddressBytes();
        }

        /// <summary>The text Go writes (RFC 5952): lowercase, the longest run of two or more zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d.</summary>
        public override string Format(ReadOnlySpan<byte> value)
        {
            if (value[..10].IndexOfAnyExcept((byte)0) < 0 && value[10] == 0xff && value[11] == 0xff)
                return "::ffff:" + Ip4.Format(value[12..]);
            Span<ushort> groups = stackalloc ushort[8];
            for (var i = 0; i < 8; i++)
                groups[i] = BinaryPrimitives.ReadUInt16BigEndian(value[(2 * i)..]);
            int bestStart = -1, bestLength = 0;
            for (var i = 0; i < 8;)
            {
                if (groups[i] != 0)
                {
                    i++;
                    continue;
                }
                var start = i;
                while (i < 8 && groups[i] == 0)
                    i++;
                if (i - start > bestLength)
                    (bestStart, bestLength) = (start, i - start);
            }
            if (bestLength < 2)
                bestStart = -1;
            var text = new StringBuilder(39);
            for (var i = 0; i < 8; i++)
            {
                if (i == bestStart)
                {
                    text.Append("::");
                    i += bestLength - 1;
                    continue;
                }
                if (i > 0 && i != bestStart + bestLength)
                    text.Append(':');
                text.Append(groups[i].ToString("x", CultureInfo.InvariantCulture));
            }
            return text.ToString();
        }
    }

    private sealed class PortTranscoder : MultiaddrTranscoder
    {
        public override byte[] Parse(string value)
        {
            var port = (ushort)ParseUnsigned(value, ushort.MaxValue, "a port number");
            return [(byte)(port >> 8), (byte)port];
        }

        public override string Format(ReadOnlySpan<byte> value) =>
            BinaryPrimitives.ReadUInt16BigEndian(value).ToString(CultureInfo.InvariantCulture);
    }

    private sealed class CidrTranscoder : MultiaddrTranscoder
    {
        public override byte[] Parse(string value) => [(byte)ParseUnsigned(value, byte.MaxValue, "a prefix length")];

        public override string Format(ReadOnlySpan<byte> value) => value[0].ToString(CultureInfo.InvariantCulture);
    }

    private sealed class MemoryTranscoder : MultiaddrTranscoder
    {
        public override byte[] Parse(string value)
        {
            var bytes = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, ParseUnsigned(value, ulong.MaxValue, "a memory address"));
            return bytes;
        }

        public override string Format(ReadOnlySpan<byte> value) =>
            BinaryPrimitives.ReadUInt64BigEndian(value).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>UTF-8 text that may not be empty and may not contain '/': domain names, SNI, zones.</summary>
    private class TextTranscoder(string what) : MultiaddrTranscoder
    {
        public override byte[] Parse(string value)
        {
            var bytes = StrictUtf8.GetBytes(value);
            Validate(bytes);
            return bytes;
        }

        public override string Format(ReadOnlySpan<byte> value) => StrictUtf8.GetString(value);

        public override void Validate(ReadOnlySpan<byte> value)
        {
            if (value.IsEmpty)
                throw new FormatException($"{what} may not be empty");
            if (value.IndexOf((byte)'/') >= 0)
                throw new FormatException($"{what} may not contain '/'");
            ValidateUtf8(value);
        }

        protected static void ValidateUtf8(ReadOnlySpan<byte> value)
        {
            if (!System.Text.Unicode.Utf8.IsValid(value))
                throw new FormatException("the value is not valid UTF-8");
        }
    }

    private sealed class UnixPathTranscoder : MultiaddrTranscoder
    {
        public override byte[] Parse(string value)
        {
            var bytes = StrictUtf8.GetBytes(value);
            Validate(bytes);
            return bytes;
        }

        public override string Format(ReadOnlySpan<byte> value) => StrictUtf8.GetString(value);

        public override void Validate(ReadOnlySpan<byte> value)
        {
            if (value.Length < 2 || value[0] != '/')
                throw new FormatException("a unix path must start with '/' and name something");
            if (value[^1] == '/')
                throw new FormatException("a unix socket path must not end in '/'");
            if (!System.Text.Unicode.Utf8.IsValid(value))
                throw new FormatException("the value is not valid UTF-8");
        }
    }

    private sealed class PeerIdTranscoder : MultiaddrTranscoder
    {
        private const ulong CidVersion1 = 1;
        private const ulong Libp2pKeyCodec = 0x72;

        public override byte[] Parse(string value)
        {
            byte[] multihash;
            if (value.StartsWith("Qm", StringComparison.Ordinal) || value.StartsWith('1'))
            {
                multihash = Multibase.DecodeBase58(value);
            }
            else
            {
                var cid = Multibase.Decode(value);
                var version = Varint.Read(cid, out var versionLength);
                if (version != CidVersion1)
                    throw new FormatException($"'{value}' is a CID of version {version}, not 1");
                var codec = Varint.Read(cid.AsSpan(versionLength), out var codecLength);
                if (codec != Libp2pKeyCodec)
                    throw new FormatException($"'{value}' is a CID of codec 0x{codec:x}, not libp2p-key (0x72)");
                multihash = cid[(versionLength + codecLength)..];
            }
            Validate(multihash);
            return multihash;
        }

        public override string Format(ReadOnlySpan<byte> value) => SimpleBase.Base58.Bitcoin.Encode(value);

        public override void Validate(ReadOnlySpan<byte> value)
        {
            var hash = Multihash.Parse(value);
            if (hash.Code is not (MultihashCode.Identity or MultihashCode.Sha2_256))
                throw new FormatException($"a peer ID multihash must be identity or sha2-256, not code 0x{hash.Code:x}");
        }
    }

    private sealed class OnionTranscoder(int hostLength, int hostChars) : MultiaddrTranscoder
    {
        public override byte[] Parse(string value)
        {
            var colon = value.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || value.IndexOf(':', colon + 1) >= 0)
                throw new FormatException($"'{value}' is not host:port");
            if (colon != hostChars)
                throw new FormatException($"an onion host is {hostChars} base32 characters, not {colon}");
            var host = Multibase.Base32NoPadding(value.AsSpan(0, colon).ToString().ToLowerInvariant());
            var port = ParseUnsigned(value[(colon + 1)..], ushort.MaxValue, "a port number");
            if (port == 0)
                throw new FormatException("an onion port must not be 0");
            var bytes = new byte[hostLength + 2];
            host.AsSpan(0, hostLength).CopyTo(bytes);
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(hostLength), (ushort)port);
            return bytes;
        }

        public override string Format(ReadOnlySpan<byte> value) =>
            Multibase.EncodeBase32NoPadding(value[..hostLength]) + ":" +
            BinaryPrimitives.ReadUInt16BigEndian(value[hostLength..]).ToString(CultureInfo.InvariantCulture);

        public override void Validate(ReadOnlySpan<byte> value)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(value[hostLength..]) == 0)
                throw new FormatException("an onion port must not be 0");
        }
    }

    private sealed class Garlic64Transcoder : MultiaddrTranscoder
    {
        public override byte[] Parse(string value)
        {
            foreach (var c in value)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '~' or '='))
                    throw new FormatException($"'{c}' is not an i2p base64 character");
            }
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(value.Replace('-', '+').Replace('~', '/'));
            }
            catch (FormatException e)
            {
                throw new FormatException($"not i2p base64: {e.Message}", e);
            }
            Validate(bytes);
            return bytes;
        }

        public override string Format(ReadOnlySpan<byte> value) => Convert.ToBase64String(value).Replace('+', '-').Replace('/', '~');

        public override void Validate(ReadOnlySpan<byte> value)
        {
            if (value.Length < 386)
                throw new FormatException($"an i2p destination is at least 386 bytes, not {value.Length}");
        }
    }

    private sealed class Garlic32Transcoder : MultiaddrTranscoder
    {
        public override byte[] Parse(string value)
        {
            var bytes = Multibase.Base32NoPadding(value);
            Validate(bytes);
            return bytes;
        }

        public override string Format(ReadOnlySpan<byte> value) => Multibase.EncodeBase32NoPadding(value);

        public override void Validate(ReadOnlySpan<byte> value)
        {
            if (value.Length < 35 && value.Length != 32)
                throw new FormatException($"an i2p base32 address is 32 or at least 35 bytes, not {value.Length}");
        }
    }

    private sealed class CertHashTranscoder : MultiaddrTranscoder
    {
        public override byte[] Parse(string value)
        {
            var bytes = Multibase.Decode(value);
            Validate(bytes);
            return bytes;
        }

        public override string Format(ReadOnlySpan<byte> value) => Multibase.EncodeBase64Url(value);

        public override void Validate(ReadOnlySpan<byte> value) => Multihash.Parse(value);
    }

    /// <summary>Percent-encoded in text (as Go's url.QueryEscape), raw bytes in binary.</summary>
    private sealed class HttpPathTranscoder : MultiaddrTranscoder
    {
        public override byte[] Parse(string value)
        {
            var bytes = new List<byte>(value.Length);
            Span<byte> utf8 = stackalloc byte[4];
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                if (c == '%')
                {
                    if (i + 2 >= value.Length || !char.IsAsciiHexDigit(value[i + 1]) || !char.IsAsciiHexDigit(value[i + 2]))
                        throw new FormatException($"'{value}' has a '%' not followed by two hex digits");
                    bytes.Add(byte.Parse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 2;
                }
                else if (c == '+')
                    bytes.Add((byte)' ');
                else
                {
                    var rune = char.IsSurrogate(c) && i + 1 < value.Length ? new Rune(c, value[++i]) : new Rune(c);
                    var n = rune.EncodeToUtf8(utf8);
                    foreach (var b in utf8[..n])
                        bytes.Add(b);
                }
            }
            if (bytes.Count == 0)
                throw new FormatException("an http path may not be empty");
            return [.. bytes];
        }

        public override string Format(ReadOnlySpan<byte> value)
        {
            var text = new StringBuilder(value.Length * 3);
            foreach (var b in value)
            {
                if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
                    text.Append((char)b);
                else if (b == ' ')
                    text.Append('+');
                else
                    text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            return text.ToString();
        }

        public override void Validate(ReadOnlySpan<byte> value)
        {
            if (value.IsEmpty)
                throw new FormatException("an http path may not be empty");
        }
    }
}
