namespace Libp2p.Actors.Resources;

/// <summary>The seed's reservation priorities: how full a scope may be for the reservation to pass.</summary>
public static class ReservationPriority
{
    /// <summary>Passes while memory use stays at or under 40 % of the limit.</summary>
    public const byte Low = 101;

    /// <summary>Passes while memory use stays at or under 60 % of the limit.</summary>
    public const byte Medium = 152;

    /// <summary>Passes while memory use stays at or under 80 % of the limit.</summary>
    public const byte High = 203;

    /// <summary>Passes whenever the memory fits under the limit.</summary>
    public const byte Always = 255;
}

/// <summary>A scope's usage (the seed's <c>ScopeStat</c>).</summary>
public sealed record ScopeStat(int NumStreamsInbound, int NumStreamsOutbound, int NumConnsInbound, int NumConnsOutbound, int NumFD, long Memory)
{
    /// <summary>Nothing in use.</summary>
    public static ScopeStat Zero { get; } = new(0, 0, 0, 0, 0, 0);
}

/// <summary>What one scope may hold; unset limits are unlimited.</summary>
public sealed record ScopeLimit
{
    /// <summary>No limit at all.</summary>
    public static ScopeLimit Unlimited { get; } = new();

    /// <summary>Bytes of memory.</summary>
    public long Memory { get; init; } = long.MaxValue;

    /// <summary>Streams in both directions.</summary>
    public int Streams { get; init; } = int.MaxValue;

    /// <summary>Inbound streams.</summary>
    public int StreamsInbound { get; init; } = int.MaxValue;

    /// <summary>Outbound streams.</summary>
    public int StreamsOutbound { get; init; } = int.MaxValue;

    /// <summary>Connections in both directions.</summary>
    public int Conns { get; init; } = int.MaxValue;

    /// <summary>Inbound connections.</summary>
    public int ConnsInbound { get; init; } = int.MaxValue;

    /// <summary>Outbound connections.</summary>
    public int ConnsOutbound { get; init; } = int.MaxValue;

    /// <summary>File descriptors.</summary>
    public int FD { get; init; } = int.MaxValue;
}
