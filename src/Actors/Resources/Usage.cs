using Libp2p.Actors.Network;

namespace Libp2p.Actors.Resources;

/// <summary>An amount of every resource, added to or taken from scopes in one step.</summary>
internal readonly record struct Usage(long Memory, int StreamsIn, int StreamsOut, int ConnsIn, int ConnsOut, int FD)
{
    public static Usage Zero => default;

    public bool IsZero => this == default;

    public static Usage OfMemory(long bytes) => new(bytes, 0, 0, 0, 0, 0);

    public static Usage OfStream(Direction direction) => new(0, direction == Direction.Inbound ? 1 : 0, direction == Direction.Outbound ? 1 : 0, 0, 0, 0);

    public static Usage OfConnection(Direction direction, bool useFileDescriptor) =>
        new(0, 0, 0, direction == Direction.Inbound ? 1 : 0, direction == Direction.Outbound ? 1 : 0, useFileDescriptor ? 1 : 0);

    public static Usage operator +(Usage a, Usage b) =>
        new(a.Memory + b.Memory, a.StreamsIn + b.StreamsIn, a.StreamsOut + b.StreamsOut, a.ConnsIn + b.ConnsIn, a.ConnsOut + b.ConnsOut, a.FD + b.FD);

    public static Usage operator -(Usage a, Usage b) =>
        new(a.Memory - b.Memory, a.StreamsIn - b.StreamsIn, a.StreamsOut - b.StreamsOut, a.ConnsIn - b.ConnsIn, a.ConnsOut - b.ConnsOut, a.FD - b.FD);

    /// <summary>Each resource of this that <paramref name="cap"/> does not also hold is cut down to it (never below zero).</summary>
    public Usage AtMost(Usage cap) => new(
        Math.Clamp(Memory, 0, Math.Max(0, cap.Memory)), Math.Clamp(StreamsIn, 0, Math.Max(0, cap.StreamsIn)),
        Math.Clamp(StreamsOut, 0, Math.Max(0, cap.StreamsOut)), Math.Clamp(ConnsIn, 0, Math.Max(0, cap.ConnsIn)),
        Math.Clamp(ConnsOut, 0, Math.Max(0, cap.ConnsOut)), Math.Clamp(FD, 0, Math.Max(0, cap.FD)));

    public ScopeStat ToStat() => new(StreamsIn, StreamsOut, ConnsIn, ConnsOut, FD, Memory);
}
