using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;

namespace Libp2p.Host;

/// <summary>
/// An Akka.NET scheduler on <see cref="ITimer"/>s of the runtime's timer queue, which sleeps until
/// the next deadline. Akka.NET's default, the <see cref="HashedWheelTimerScheduler"/>, wakes every
/// <c>akka.scheduler.tick-duration</c> (10 ms) from the first timer ever scheduled until the system
/// stops, whether or not anything is due: about 5 % of a core on an idle node as soon as one
/// connection was ever upgraded (its upgrade timeout is a timer). Select it with
/// <c>akka.scheduler.implementation = "Libp2p.Host.TimerScheduler, Libp2p.Host"</c>; the host's
/// command line and <see cref="Libp2pHostingExtensions.WithLibp2p"/> do.
/// </summary>
/// <remarks>
/// Each scheduled item is one timer, disposed when it ran (once), when it is cancelled, and when
/// the scheduler is disposed with its actor system. A repeated item runs at a fixed rate. What an
/// item throws is logged, as the default scheduler does, and a repeated item keeps running.
/// </remarks>
public sealed class TimerScheduler : SchedulerBase, IDateTimeOffsetNowTimeProvider, IDisposable
{
    /// <summary>The HOCON that selects this scheduler for an actor system.</summary>
    public const string Hocon = "akka.scheduler.implementation = \"Libp2p.Host.TimerScheduler, Libp2p.Host\"";

    private static readonly long Started = Stopwatch.GetTimestamp();
    private readonly ConcurrentDictionary<Entry, byte> _live = new();
    private volatile bool _disposed;

    /// <summary>The constructor Akka.NET calls, with <c>akka.scheduler</c>'s configuration.</summary>
    public TimerScheduler(Config scheduler, ILoggingAdapter log) : base(scheduler, log)
    {
    }

    /// <summary>Items scheduled and neither run (once), cancelled nor disposed yet.</summary>
    public int Pending => _live.Count;

    /// <inheritdoc />
    protected override DateTimeOffset TimeNow => DateTimeOffset.Now;

    /// <inheritdoc />
    public override TimeSpan MonotonicClock => Stopwatch.GetElapsedTime(Started);

    /// <inheritdoc />
    public override TimeSpan HighResMonotonicClock => Stopwatch.GetElapsedTime(Started);

    /// <inheritdoc />
    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Schedule(delay, null, new TellRunnable(receiver, message, sender), cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Schedule(initialDelay, interval, new TellRunnable(receiver, message, sender), cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) =>
        Schedule(delay, null, new ActionRunnable(action), cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) =>
        Schedule(delay, null, action, cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Schedule(initialDelay, interval, new ActionRunnable(action), cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Schedule(initialDelay, interval, action, cancelable);

    private void Schedule(TimeSpan delay, TimeSpan? interval, IRunnable action, ICancelable? cancelable)
    {
        if (_disposed || cancelable?.IsCancellationRequested == true)
            return;
        var entry = new Entry(this, action, interval is not null, cancelable);
        _live.TryAdd(entry, 0);
        entry.Start(Clamp(delay), interval is { } every ? Clamp(every, minimum: 1) : Timeout.InfiniteTimeSpan);
        // Disposed meanwhile: the entry was not there to be stopped.
        if (_disposed)
            entry.Stop();
    }

    /// <summary>A timer's due time: at least <paramref name="minimum"/> ms, at most what a timer takes.</summary>
    private static TimeSpan Clamp(TimeSpan delay, long minimum = 0) =>
        TimeSpan.FromMilliseconds(Math.Clamp((long)Math.Ceiling(delay.TotalMilliseconds), minimum, uint.MaxValue - 1L));

    /// <summary>Stops every timer; nothing scheduled runs any more.</summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (var entry in _live.Keys)
            entry.Stop();
    }

    private sealed class Entry(TimerScheduler scheduler, IRunnable action, bool repeated, ICancelable? cancelable)
    {
        private ITimer? _timer;
        private CancellationTokenRegistration _cancelled;
        private int _stopped;

        public void Start(TimeSpan due, TimeSpan period)
        {
            // Unrooted by a captured execution context; the timer is rooted by the scheduler's set.
            _timer = TimeProvider.System.CreateTimer(static state => ((Entry)state!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            if (cancelable is not null)
                _cancelled = cancelable.Token.Register(static state => ((Entry)state!).Stop(), this);
            if (Volatile.Read(ref _stopped) == 0)
                _timer.Change(due, period);
        }

        private void Fire()
        {
            if (Volatile.Read(ref _stopped) != 0 || cancelable?.IsCancellationRequested == true)
            {
                Stop();
                return;
            }
            if (!repeated)
                Stop();
            try
            {
                action.Run();
            }
            catch (Exception e)
            {
                scheduler.Log.Error(e, "A scheduled action failed: {0}", e.Message);
            }
        }

        public void Stop()
        {
            if (Interlocked.Exchange(ref _stopped, 1) != 0)
                return;
            _timer?.Dispose();
            _cancelled.Dispose();
            scheduler._live.TryRemove(this, out _);
        }
    }

    private sealed class TellRunnable(ICanTell receiver, object message, IActorRef sender) : IRunnable
    {
        public void Run() => receiver.Tell(message, sender);

        public void Execute() => Run();
    }

    private sealed class ActionRunnable(Action action) : IRunnable
    {
        public void Run() => action();

        public void Execute() => Run();
    }
}
