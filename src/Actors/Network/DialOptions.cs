namespace Libp2p.Actors.Network;

/// <summary>
/// The seed's context options for dials and new streams, as one immutable record. Each flag keeps
/// its reason, as the seed's <c>WithNoDial(ctx, reason)</c> and friends do.
/// </summary>
public sealed record DialOptions
{
    /// <summary>No options: dial if needed, within <see cref="NetworkLimits.DialPeerTimeout"/>.</summary>
    public static DialOptions Default { get; } = new();

    /// <summary>How long the dial may take (the seed's <c>WithDialPeerTimeout</c>).</summary>
    public TimeSpan Timeout { get; init; } = NetworkLimits.DialPeerTimeout;

    /// <summary>When set, never dial: use an existing connection or fail with <see cref="NoConnectionException"/> (the seed's <c>WithNoDial</c>).</summary>
    public string? NoDial { get; init; }

    /// <summary>When set, dial directly even if a relayed connection exists (the seed's <c>WithForceDirectDial</c>).</summary>
    public string? ForceDirectDial { get; init; }

    /// <summary>When set, this side acts as the client of a simultaneous connect (the seed's <c>WithSimultaneousConnect</c>).</summary>
    public (bool IsClient, string Reason)? SimultaneousConnect { get; init; }

    /// <summary>When set, a transient connection is good enough (the seed's <c>WithUseTransient</c>).</summary>
    public string? UseTransient { get; init; }

    /// <summary>Copies with <see cref="NoDial"/> set.</summary>
    public DialOptions WithNoDial(string reason) => this with { NoDial = reason };

    /// <summary>Copies with <see cref="Timeout"/> set.</summary>
    public DialOptions WithTimeout(TimeSpan timeout) => this with { Timeout = timeout };

    /// <summary>Copies with <see cref="ForceDirectDial"/> set.</summary>
    public DialOptions WithForceDirectDial(string reason) => this with { ForceDirectDial = reason };

    /// <summary>Copies with <see cref="SimultaneousConnect"/> set.</summary>
    public DialOptions WithSimultaneousConnect(bool isClient, string reason) => this with { SimultaneousConnect = (isClient, reason) };

    /// <summary>Copies with <see cref="UseTransient"/> set.</summary>
    public DialOptions WithUseTransient(string reason) => this with { UseTransient = reason };
}
