namespace Libp2p.Actors.AutoNat;

/// <summary>
/// What a node serving AutoNAT v2 gives away; go-libp2p's defaults where it has them. Immutable;
/// overridden with <c>with { … }</c>.
/// </summary>
public sealed record AutoNatServerSettings
{
    /// <summary>The defaults.</summary>
    public static AutoNatServerSettings Default { get; } = new();

    /// <summary>Dial private, loopback and link-local addresses too. Off on the internet (the spec: a server SHOULD NOT dial them); on for tests and closed networks.</summary>
    public bool AllowPrivateAddresses { get; init; }

    /// <summary>Requests served per minute from one peer (go: 12).</summary>
    public int RequestsPerPeerPerMinute { get; init; } = 12;

    /// <summary>Requests served per minute in all (go: 60).</summary>
    public int RequestsPerMinute { get; init; } = 60;

    /// <summary>How many dial data bytes a different-IP dial costs; the spec asks for 30k to 100k.</summary>
    public int DialDataBytes { get; init; } = 30_000;

    /// <summary>The deadline of the whole exchange on the request stream, dial data included (go: 1 minute).</summary>
    public TimeSpan StreamTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The deadline of the dial-back: the dial, the stream and the client's DialBackResponse (go: 5 s per dial).</summary>
    public TimeSpan DialBackTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The clock the rate limits count minutes by.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
