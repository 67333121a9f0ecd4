namespace Libp2p.Actors.Dcutr;

/// <summary>Limits of hole punching (DCUtR); go-libp2p's values by default.</summary>
public sealed record HolePunchSettings
{
    /// <summary>go-libp2p's values.</summary>
    public static HolePunchSettings Default { get; } = new();

    /// <summary>Each read and write of a DCUtR message must finish within this (go's <c>StreamTimeout</c>, 1 min); past it the stream is reset.</summary>
    public TimeSpan StreamTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long each simultaneous connect may take (go's 5 s).</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>CONNECT/SYNC rounds before the inbound peer gives up (the spec's 3).</summary>
    public int MaxAttempts { get; init; } = Libp2p.Protocols.Dcutr.HolePunchMessages.MaxAttempts;
}
