using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Actors.Connections;
using Libp2p.Protocols.Relay;

namespace Libp2p.Actors.Relay;

/// <summary>
/// What a relay does with an established circuit: copies the bytes of the hop stream (from the
/// initiator) to the stop stream (to the target) and back, each direction within the data limit,
/// the whole within the duration limit. Past either limit, or when either side resets, both
/// streams are reset (the spec: "the relay should reset the stream to the source and the stream to
/// the destination"). A half-close passes through as a half-close. Backpressure runs end to end:
/// a slow reader on one side slows the writer on the other, so the relay holds a few chunks per
/// direction at most.
/// </summary>
public static class CircuitBridge
{
    /// <summary>
    /// The memory a relay reserves in the hop stream's scope for one circuit: the bridge's fused
    /// copies hold at most one chunk each way (a transport read, at most 80 KiB) between reading one stream
    /// and writing the other.
    /// </summary>
    public const int HeldPerCircuit = 2 * 80 * 1024;

    /// <summary>Joins <paramref name="initiator"/> and <paramref name="target"/>; completes when both streams are gone.</summary>
    /// <param name="initiator">The hop stream, after its STATUS OK.</param>
    /// <param name="target">The stop stream, after its STATUS OK.</param>
    /// <param name="dataLimit">Bytes allowed in each direction; 0 for no limit.</param>
    /// <param name="durationLimit">How long the circuit may stay open; zero or less for no limit.</param>
    /// <param name="materializer">Runs the two copies.</param>
    /// <returns>True if the circuit ended by itself, false if a limit cut it.</returns>
    public static async Task<bool> RunAsync(StreamHandle initiator, StreamHandle target, long dataLimit, TimeSpan durationLimit, IMaterializer materializer)
    {
        ArgumentNullException.ThrowIfNull(initiator);
        ArgumentNullException.ThrowIfNull(target);
        var cut = 0;
        void ResetBoth(bool limit)
        {
            if (limit)
                Interlocked.Exchange(ref cut, 1);
            initiator.Reset();
            target.Reset();
        }
        var forward = Copy(initiator, target, dataLimit, "initiator to target", materializer);
        var backward = Copy(target, initiator, dataLimit, "target to initiator", materializer);
        _ = forward.ContinueWith(t => ResetBoth(t.Exception?.GetBaseException() is CircuitLimitExceededException), TaskContinuationOptions.OnlyOnFaulted);
        _ = backward.ContinueWith(t => ResetBoth(t.Exception?.GetBaseException() is CircuitLimitExceededException), TaskContinuationOptions.OnlyOnFaulted);
        // A reset on one side is passed on to the other: the circuit is one connection to its ends.
        _ = initiator.Completion.ContinueWith(_ => target.Reset(), TaskContinuationOptions.OnlyOnFaulted);
        _ = target.Completion.ContinueWith(_ => initiator.Reset(), TaskContinuationOptions.OnlyOnFaulted);
        var both = Task.WhenAll(initiator.Completion, target.Completion);
        if (durationLimit > TimeSpan.Zero)
        {
            using var timer = new CancellationTokenSource();
            if (await Task.WhenAny(both, Task.Delay(durationLimit, timer.Token)).ConfigureAwait(false) != both)
                ResetBoth(limit: true);
            await timer.CancelAsync().ConfigureAwait(false);
        }
        try
        {
            await both.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A reset is one of the ways a circuit ends; each side has seen it already.
        }
        return Volatile.Read(ref cut) == 0;
    }

    private static Task Copy(StreamHandle from, StreamHandle to, long limit, string direction, IMaterializer materializer) =>
        from.Source
            .Via(new ByteLimitStage(limit, direction))
            .WatchTermination(Keep.Right)
            .To(to.Sink)
            .Run(materializer);
}
