using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Swarm;

/// <summary>One peer's value under one decaying tag (go-libp2p's <c>DecayingValue</c>).</summary>
/// <param name="Tag">The decaying tag.</param>
/// <param name="Peer">The peer.</param>
/// <param name="Value">The value now.</param>
/// <param name="Added">When the peer was first bumped under this tag.</param>
/// <param name="LastVisit">When the peer was last bumped under this tag.</param>
public sealed record DecayingValue(string Tag, PeerId Peer, int Value, DateTimeOffset Added, DateTimeOffset LastVisit);

/// <summary>
/// What one decay step makes of a value: its new value, or its removal. Run at each of the tag's
/// intervals for each peer that has a value under it.
/// </summary>
public delegate (int Value, bool Remove) DecayFunction(DecayingValue value, DateTimeOffset now);

/// <summary>What a bump of <paramref name="delta"/> makes of a value (the value is 0 for a peer not yet under the tag).</summary>
public delegate int BumpFunction(DecayingValue value, int delta);

/// <summary>go-libp2p's decay and bump presets (<c>core/connmgr/presets.go</c>).</summary>
public static class DecayPresets
{
    /// <summary>The value never decays and is never removed.</summary>
    public static DecayFunction None { get; } = (value, _) => (value.Value, false);

    /// <summary>Subtracts <paramref name="minuend"/> each interval; removed once it reaches zero or less.</summary>
    public static DecayFunction Fixed(int minuend) => (value, _) =>
    {
        var after = value.Value - minuend;
        return (after, after <= 0);
    };

    /// <summary>Multiplies by <paramref name="coefficient"/> each interval, rounding down; removed once it reaches zero or less.</summary>
    public static DecayFunction Linear(double coefficient) => (value, _) =>
    {
        var after = (int)Math.Floor(value.Value * coefficient);
        return (after, after <= 0);
    };

    /// <summary>Keeps the value until the peer has not been bumped for <paramref name="after"/>, then removes it.</summary>
    public static DecayFunction ExpireWhenInactive(TimeSpan after) => (value, now) => (value.Value, now - value.LastVisit >= after);

    /// <summary>Adds the delta, without bound.</summary>
    public static BumpFunction BumpSumUnbounded { get; } = (value, delta) => value.Value + delta;

    /// <summary>Adds the delta, keeping the sum within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static BumpFunction BumpSumBounded(int min, int max) => (value, delta) => Math.Clamp(value.Value + delta, min, max);

    /// <summary>Replaces the value with the delta.</summary>
    public static BumpFunction BumpOverwrite { get; } = (_, delta) => delta;
}
