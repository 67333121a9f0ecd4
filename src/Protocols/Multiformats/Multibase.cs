using SimpleBase;

namespace Libp2p.Protocols.Multiformats;

/// <summary>
/// The multibase text encodings libp2p meets: a one-character prefix names the base. Decoding
/// accepts the bases peers use for CIDs and certificate hashes; any other prefix is rejected.
/// </summary>
public static class Multibase
{
    private static readonly Base32 Base32Lower = new(new Base32Alphabet("abcdefghijklmnopqrstuvwxyz234567"));

    /// <summary>Decodes multibase text (<c>z</c> base58btc, <c>b</c>/<c>B</c> base32, <c>k</c>/<c>K</c> base36, <c>f</c>/<c>F</c> base16, <c>u</c> base64url, <c>m</c> base64).</summary>
    /// <exception cref="FormatException">The prefix is unknown or the text is not valid in that base.</exception>
    public static byte[] Decode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length < 2)
            throw new FormatException($"multibase: '{text}' is too short to hold a base prefix and data");
        var data = text.AsSpan(1);
        try
        {
            return text[0] switch
            {
                'z' => DecodeBase58(data),
                'b' => Base32Strict(data, lower: true),
                'B' => Base32Strict(data, lower: false),
                'k' => Base36Strict(data, lower: true),
                'K' => Base36Strict(data, lower: false),
                'f' or 'F' => Convert.FromHexString(data),
                'u' => Base64Url(data, padded: false),
                'U' => Base64Url(data, padded: true),
                'm' => Convert.FromBase64String(data.ToString()),
                _ => throw new FormatException($"multibase: unsupported base prefix '{text[0]}'"),
            };
        }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or OverflowException or InvalidOperationException)
        {
            throw new FormatException($"multibase: '{text}' is not valid base '{text[0]}' text: {e.Message}", e);
        }
    }

    /// <summary>Encodes as base32 lowercase without padding, prefix <c>b</c> (the CIDv1 default).</summary>
    public static string EncodeBase32(ReadOnlySpan<byte> data) => "b" + Base32Lower.Encode(data, padding: false);

    /// <summary>Encodes as base58btc, prefix <c>z</c>.</summary>
    public static string EncodeBase58(ReadOnlySpan<byte> data) => "z" + Base58.Bitcoin.Encode(data);

    /// <summary>Encodes as base64url without padding, prefix <c>u</c> (what go-multiaddr writes for certhash).</summary>
    public static string EncodeBase64Url(ReadOnlySpan<byte> data) =>
        "u" + Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Decodes base58btc (the Bitcoin alphabet) without a prefix.</summary>
    /// <exception cref="FormatException">A character outside the alphabet.</exception>
    public static byte[] DecodeBase58(ReadOnlySpan<char> text)
    {
        // The decoder indexes a table by character: check the alphabet first.
        foreach (var c in text)
        {
            if (c > 127 || Base58Alphabet.IndexOf(c) < 0)
                throw new FormatException($"base58btc: '{c}' is not a base58btc character");
        }
        return Base58.Bitcoin.Decode(text);
    }

    private const string Base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    /// <summary>Base32 lowercase, no padding, no prefix: the alphabet of onion and garlic32 names.</summary>
    internal static byte[] Base32NoPadding(ReadOnlySpan<char> data) => Base32Strict(data, lower: true);

    internal static string EncodeBase32NoPadding(ReadOnlySpan<byte> data) => Base32Lower.Encode(data, padding: false);

    private static byte[] Base32Strict(ReadOnlySpan<char> data, bool lower)
    {
        foreach (var c in data)
        {
            var ok = c is >= '2' and <= '7' || (lower ? c is >= 'a' and <= 'z' : c is >= 'A' and <= 'Z');
            if (!ok)
                throw new FormatException($"base32: '{c}' is not a {(lower ? "lower" : "upper")}case base32 character");
        }
        // A length of 1, 3 or 6 (mod 8) holds bits that make no whole byte: no encoder writes it.
        if (data.Length % 8 is 1 or 3 or 6)
            throw new FormatException($"base32: {data.Length} characters is not a valid unpadded length");
        return Base32Lower.Decode(lower ? data : data.ToString().ToLowerInvariant());
    }

    private static byte[] Base36Strict(ReadOnlySpan<char> data, bool lower)
    {
        foreach (var c in data)
        {
            if (!(c is >= '0' and <= '9' || (lower ? c is >= 'a' and <= 'z' : c is >= 'A' and <= 'Z')))
                throw new FormatException($"base36: '{c}' is not a base36 character");
        }
        return (lower ? Base36.LowerCase : Base36.UpperCase).Decode(data);
    }

    private static byte[] Base64Url(ReadOnlySpan<char> data, bool padded)
    {
        var text = data.ToString();
        if (!padded && text.Contains('=', StringComparison.Ordinal))
            throw new FormatException("base64url: padding is not allowed with prefix 'u'");
        var standard = text.Replace('-', '+').Replace('_', '/');
        if (text.AsSpan().IndexOfAny("+/") >= 0)
            throw new FormatException("base64url: '+' and '/' are not base64url characters");
        var remainder = standard.TrimEnd('=').Length % 4;
        if (remainder == 1)
            throw new FormatException($"base64url: {data.Length} characters is not a valid length");
        standard = standard.TrimEnd('=') + (remainder == 0 ? "" : new string('=', 4 - remainder));
        return Convert.FromBase64String(standard);
    }
}
