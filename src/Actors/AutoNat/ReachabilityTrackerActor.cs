using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Protocols.AutoNat.Pb;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.AutoNat;

/// <summary>
/// Turns AutoNAT results into one verdict: among the last <c>window</c> results (each server's
/// latest only, so one server cannot outvote the others), <c>threshold</c> successful dial-backs
/// make the node <see cref="Reachability.Public"/>, <c>threshold</c> failed dials make it
/// <see cref="Reachability.Private"/>; until then it stays as it was (at first
/// <see cref="Reachability.Unknown"/>). Each change is published as <see cref="ReachabilityChanged"/>.
/// </summary>
public sealed class ReachabilityTrackerActor : ReceiveActor
{
    private readonly PeerId _local;
    private readonly int _window;
    private readonly int _threshold;
    private readonly List<(PeerId Server, bool Reachable)> _results = [];
    private Reachability _reachability = Reachability.Unknown;

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public ReachabilityTrackerActor(PeerId local, int window, int threshold)
    {
        _local = local;
        _window = window;
        _threshold = threshold;
        Receive<ReachabilityTrackerProtocol.Record>(r => Record(r.Result));
        Receive<ReachabilityTrackerProtocol.GetReachability>(_ => Sender.Tell(new ReachabilityTrackerProtocol.ReachabilityIs(_reachability, _results.ToList())));
    }

    /// <summary>A tracker for <paramref name="local"/>: <paramref name="threshold"/> agreeing results among the last <paramref name="window"/> decide.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The threshold is not a majority of the window (both verdicts could hold at once), or the window is empty.</exception>
    public static Props Props(PeerId local, int window = 5, int threshold = 3)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        if (threshold <= window / 2 || threshold > window)
            throw new ArgumentOutOfRangeException(nameof(threshold), $"the threshold {threshold} must be a majority of the window {window}");
        return Akka.Actor.Props.Create(() => new ReachabilityTrackerActor(local, window, threshold));
    }

    private void Record(AutoNatResult result)
    {
        if (result.Status is not (DialStatus.Ok or DialStatus.EDialError))
            return;
        _results.RemoveAll(r => r.Server == result.Server);
        _results.Add((result.Server, result.Reachable));
        if (_results.Count > _window)
            _results.RemoveAt(0);
        var successes = _results.Count(r => r.Reachable);
        var failures = _results.Count - successes;
        var verdict = successes >= _threshold ? Reachability.Public : failures >= _threshold ? Reachability.Private : _reachability;
        if (verdict == _reachability)
            return;
        _reachability = verdict;
        Context.System.EventStream.Publish(new ReachabilityChanged(_local, verdict));
    }
}
