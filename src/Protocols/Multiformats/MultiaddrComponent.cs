namespace Libp2p.Protocols.Multiformats;

/// <summary>One protocol of a multiaddr with its value, e.g. <c>/tcp/4001</c>.</summary>
public sealed class MultiaddrComponent : IEquatable<MultiaddrComponent>
{
    private readonly byte[] _raw;

    internal MultiaddrComponent(MultiaddrProtocol protocol, byte[] raw, string? value)
    {
        Protocol = protocol;
        _raw = raw;
        Value = value;
    }

    /// <summary>The protocol.</summary>
    public MultiaddrProtocol Protocol { get; }

    /// <summary>The value in text form (for <c>unix</c> the path with its leading '/'), or null when the protocol takes none.</summary>
    public string? Value { get; }

    /// <summary>The value in binary form (empty when the protocol takes none).</summary>
    public ReadOnlySpan<byte> RawValue => _raw;

    /// <inheritdoc />
    public bool Equals(MultiaddrComponent? other) =>
        other is not null && other.Protocol == Protocol && other._raw.AsSpan().SequenceEqual(_raw);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as MultiaddrComponent);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Protocol.Code);
        hash.AddBytes(_raw);
        return hash.ToHashCode();
    }

    /// <summary>The component's text form, e.g. <c>/tcp/4001</c>.</summary>
    public override string ToString() => Value is null
        ? "/" + Protocol.Name
        : Protocol.IsPath ? "/" + Protocol.Name + Value : "/" + Protocol.Name + "/" + Value;
}
