using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Multiformats;

/// <summary>
/// A multiaddr (multiformats spec): a self-describing network address such as
/// <c>/ip4/127.0.0.1/tcp/4001/p2p/QmPeer…</c>, in text and binary forms. Immutable; equality is
/// over the binary form, so two texts that encode alike (<c>/ipfs/…</c> and <c>/p2p/…</c>) are equal.
/// </summary>
public sealed class Multiaddr : IEquatable<Multiaddr>
{
    private readonly byte[] _bytes;
    private readonly MultiaddrComponent[] _components;
    private string? _text;

    private Multiaddr(byte[] bytes, MultiaddrComponent[] components)
    {
        _bytes = bytes;
        _components = components;
    }

    /// <summary>The multiaddr of no components: what decapsulating everything leaves.</summary>
    public static Multiaddr Empty { get; } = new([], []);

    /// <summary>The components in order.</summary>
    public IReadOnlyList<MultiaddrComponent> Components => _components;

    /// <summary>Whether the address has no components.</summary>
    public bool IsEmpty => _components.Length == 0;

    /// <summary>The binary form.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>The binary form, as a new array.</summary>
    public byte[] ToBytes() => (byte[])_bytes.Clone();

    /// <summary>Parses the text form.</summary>
    /// <exception cref="FormatException">The text is not a valid multiaddr; the message says where and why.</exception>
    public static Multiaddr Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.TrimEnd('/');
        if (trimmed.Length == 0)
            throw new FormatException($"multiaddr '{text}': empty multiaddr");
        if (trimmed[0] != '/')
            throw new FormatException($"multiaddr '{text}': must begin with '/'");
        var parts = trimmed[1..].Split('/');
        var components = new List<MultiaddrComponent>(parts.Length);
        var bytes = new ArrayBufferWriter<byte>(trimmed.Length);
        for (var i = 0; i < parts.Length; i++)
        {
            var protocol = MultiaddrProtocol.FromName(parts[i])
                ?? throw new FormatException(parts[i].Length == 0
                    ? $"multiaddr '{text}': empty protocol name at component {components.Count + 1}"
                    : $"multiaddr '{text}': unknown protocol '{parts[i]}'");
            if (!protocol.HasValue)
            {
                Append(bytes, components, protocol, [], null);
                continue;
            }
            if (i + 1 >= parts.Length)
                throw new FormatException($"multiaddr '{text}': protocol {protocol.Name} needs a value");
            var value = protocol.IsPath ? "/" + string.Join('/', parts, i + 1, parts.Length - i - 1) : parts[++i];
            if (protocol.IsPath)
                i = parts.Length;
            byte[] raw;
            try
            {
                raw = protocol.Transcoder!.Parse(value);
                CheckSize(protocol, raw.Length);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new FormatException($"multiaddr '{text}': invalid value '{value}' for {protocol.Name}: {e.Message}", e);
            }
            Append(bytes, components, protocol, raw, protocol.Transcoder.Format(raw));
        }
        return new Multiaddr(bytes.WrittenSpan.ToArray(), [.. components]);
    }

    /// <summary>Parses the text form without throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Multiaddr? result)
    {
        result = null;
        if (text is null)
            return false;
        try
        {
            result = Parse(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Parses the binary form, which must be consumed exactly.</summary>
    /// <exception cref="FormatException">The bytes are not a valid multiaddr; the message says where and why.</exception>
    public static Multiaddr FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
            throw new FormatException("multiaddr: empty binary multiaddr");
        var components = new List<MultiaddrComponent>();
        var offset = 0;
        while (offset < bytes.Length)
        {
            if (components.Count > 0 && components[^1].Protocol.IsPath)
                throw new FormatException($"multiaddr: component after the path component {components[^1].Protocol.Name} at byte {offset}");
            var rest = bytes[offset..];
            int code;
            int codeLength;
            try
            {
                code = Varint.ReadInt32(rest, out codeLength, "protocol code");
            }
            catch (FormatException e)
            {
                throw new FormatException($"multiaddr: bad protocol code at byte {offset}: {e.Message}", e);
            }
            var protocol = MultiaddrProtocol.FromCode(code)
                ?? throw new FormatException($"multiaddr: unknown protocol code {code} at byte {offset}");
            var position = offset + codeLength;
            var length = protocol.SizeInBits / 8;
            if (protocol.SizeInBits == MultiaddrProtocol.VariableSize)
            {
                try
                {
                    length = Varint.ReadInt32(bytes[position..], out var lengthLength, $"{protocol.Name} value length", bytes.Length);
                    position += lengthLength;
                }
                catch (FormatException e)
                {
                    throw new FormatException($"multiaddr: bad value length for {protocol.Name} at byte {position}: {e.Message}", e);
                }
                if (length == 0)
                    throw new FormatException($"multiaddr: empty value for {protocol.Name} at byte {position}");
            }
            if (bytes.Length - position < length)
                throw new FormatException($"multiaddr: {protocol.Name} needs {length} value bytes at byte {position}, only {bytes.Length - position} left");
            var raw = bytes.Slice(position, length);
            string? value = null;
            if (protocol.HasValue)
            {
                try
                {
                    protocol.Transcoder!.Validate(raw);
                    value = protocol.Transcoder.Format(raw);
                }
                catch (Exception e) when (e is FormatException or ArgumentException)
                {
                    throw new FormatException($"multiaddr: invalid {protocol.Name} value at byte {position}: {e.Message}", e);
                }
            }
            components.Add(new MultiaddrComponent(protocol, raw.ToArray(), value));
            offset = position + length;
        }
        return new Multiaddr(bytes.ToArray(), [.. components]);
    }

    /// <summary>Parses the binary form without throwing.</summary>
    public static bool TryFromBytes(ReadOnlySpan<byte> bytes, [NotNullWhen(true)] out Multiaddr? result)
    {
        try
        {
            result = FromBytes(bytes);
            return true;
        }
        catch (FormatException)
        {
            result = null;
            return false;
        }
    }

    /// <summary>The address for an IP endpoint: <c>/ip4/…/tcp/N</c> or <c>/ip6/…/udp/N</c>.</summary>
    public static Multiaddr FromIPEndPoint(IPEndPoint endPoint, string transport = "tcp")
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var v4 = endPoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        // A scope (zone) is not part of /ip6; it would need its own /ip6zone component.
        var address = v4 ? endPoint.Address : new IPAddress(endPoint.Address.GetAddressBytes());
        return Parse($"/{(v4 ? "ip4" : "ip6")}/{address}/{transport}/{endPoint.Port}");
    }

    /// <summary>Reads an IP endpoint from a <c>/ip4|ip6/…/tcp|udp/N</c> prefix.</summary>
    public bool TryGetIPEndPoint([NotNullWhen(true)] out IPEndPoint? endPoint)
    {
        endPoint = null;
        if (_components.Length < 2 || _components[1].Protocol != MultiaddrProtocol.Tcp && _components[1].Protocol != MultiaddrProtocol.Udp)
            return false;
        var ip = _components[0];
        if (ip.Protocol != MultiaddrProtocol.Ip4 && ip.Protocol != MultiaddrProtocol.Ip6)
            return false;
        var port = _components[1].RawValue;
        endPoint = new IPEndPoint(new IPAddress(ip.RawValue), port[0] << 8 | port[1]);
        return true;
    }

    /// <summary>The text value of the last <c>/p2p</c> component (a base58btc peer ID), or null.</summary>
    public string? PeerIdText => LastValueFor(MultiaddrProtocol.P2p);

    /// <summary>Whether a component of <paramref name="protocol"/> is present.</summary>
    public bool Has(MultiaddrProtocol protocol) => Array.Exists(_components, c => c.Protocol == protocol);

    /// <summary>Whether a component named <paramref name="protocolName"/> is present.</summary>
    public bool Has(string protocolName) => MultiaddrProtocol.FromName(protocolName) is { } p && Has(p);

    /// <summary>The text value of the first component of the protocol named <paramref name="protocolName"/>.</summary>
    /// <returns>False when absent; a protocol without a value gives an empty string.</returns>
    public bool TryGetValue(string protocolName, out string? value)
    {
        value = null;
        var protocol = MultiaddrProtocol.FromName(protocolName);
        var component = protocol is null ? null : Array.Find(_components, c => c.Protocol == protocol);
        if (component is null)
            return false;
        value = component.Value ?? "";
        return true;
    }

    /// <summary>The text value of the first component named <paramref name="protocolName"/>, or null when absent.</summary>
    public string? ValueFor(string protocolName) => TryGetValue(protocolName, out var value) ? value : null;

    /// <summary>This address followed by <paramref name="inner"/>.</summary>
    /// <exception cref="FormatException">This address ends with a path, which nothing can follow.</exception>
    public Multiaddr Encapsulate(Multiaddr inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (inner.IsEmpty)
            return this;
        if (IsEmpty)
            return inner;
        if (_components[^1].Protocol.IsPath)
            throw new FormatException($"multiaddr '{this}': nothing can follow the path component {_components[^1].Protocol.Name}");
        return new Multiaddr([.. _bytes, .. inner._bytes], [.. _components, .. inner._components]);
    }

    /// <summary>This address followed by the parsed <paramref name="inner"/>.</summary>
    public Multiaddr Encapsulate(string inner) => Encapsulate(Parse(inner));

    /// <summary>
    /// Removes the last occurrence of <paramref name="suffix"/> and everything after it, as
    /// go-multiaddr does; returns this address when the suffix does not occur.
    /// </summary>
    public Multiaddr Decapsulate(Multiaddr suffix)
    {
        ArgumentNullException.ThrowIfNull(suffix);
        if (suffix.IsEmpty)
            return this;
        var last = -1;
        for (var i = 0; i + suffix._components.Length <= _components.Length; i++)
        {
            var match = true;
            for (var j = 0; j < suffix._components.Length && match; j++)
                match = _components[i + j].Equals(suffix._components[j]);
            if (match)
                last = i;
        }
        return last < 0 ? this : Take(last);
    }

    /// <summary>Removes the last component of the protocol named <paramref name="protocolName"/> and everything after it.</summary>
    public Multiaddr Decapsulate(string protocolName)
    {
        var protocol = MultiaddrProtocol.FromName(protocolName);
        var last = protocol is null ? -1 : Array.FindLastIndex(_components, c => c.Protocol == protocol);
        return last < 0 ? this : Take(last);
    }

    /// <inheritdoc />
    public bool Equals(Multiaddr? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Multiaddr);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_bytes);
        return hash.ToHashCode();
    }

    /// <summary>Equality over the binary form.</summary>
    public static bool operator ==(Multiaddr? left, Multiaddr? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Inequality over the binary form.</summary>
    public static bool operator !=(Multiaddr? left, Multiaddr? right) => !(left == right);

    /// <summary>The canonical text form (empty for <see cref="Empty"/>).</summary>
    public override string ToString()
    {
        if (_text is not null)
            return _text;
        var text = new StringBuilder(_bytes.Length * 2);
        foreach (var component in _components)
            text.Append(component.ToString());
        return _text = text.ToString();
    }

    private string? LastValueFor(MultiaddrProtocol protocol) => Array.FindLast(_components, c => c.Protocol == protocol)?.Value;

    private Multiaddr Take(int count)
    {
        if (count == 0)
            return Empty;
        var taken = _components[..count];
        var writer = new ArrayBufferWriter<byte>(_bytes.Length);
        foreach (var c in taken)
            WriteComponent(writer, c.Protocol, c.RawValue);
        return new Multiaddr(writer.WrittenSpan.ToArray(), taken);
    }

    private static void Append(ArrayBufferWriter<byte> bytes, List<MultiaddrComponent> components, MultiaddrProtocol protocol, byte[] raw, string? value)
    {
        WriteComponent(bytes, protocol, raw);
        components.Add(new MultiaddrComponent(protocol, raw, value));
    }

    private static void WriteComponent(IBufferWriter<byte> writer, MultiaddrProtocol protocol, ReadOnlySpan<byte> raw)
    {
        Varint.Write(writer, (ulong)protocol.Code);
        if (protocol.SizeInBits == MultiaddrProtocol.VariableSize)
            Varint.Write(writer, (ulong)raw.Length);
        writer.Write(raw);
    }

    private static void CheckSize(MultiaddrProtocol protocol, int length)
    {
        if (protocol.SizeInBits > 0 && length != protocol.SizeInBits / 8)
            throw new FormatException($"{protocol.Name} takes {protocol.SizeInBits / 8} bytes, not {length}");
    }
}
