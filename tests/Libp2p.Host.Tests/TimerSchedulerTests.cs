using Akka.Actor;
using Akka.TestKit.Xunit2;

namespace Libp2p.Host.Tests;

/// <summary>The scheduler that sleeps until a deadline instead of ticking (issue 11: an idle node costs no CPU).</summary>
public sealed class TimerSchedulerTests() : TestKit(TimerScheduler.Hocon + "\nakka.loglevel = WARNING")
{
    private IScheduler Scheduler => Assert.IsType<TimerScheduler>(Sys.Scheduler);

    [Fact]
    public async Task A_cancelled_item_never_runs_and_one_scheduled_after_it_does()
    {
        var cancelledRan = false;
        var cancel = new Cancelable((IScheduler)Scheduler);
        // Due long enough after the cancel that a thread descheduled on a loaded machine still cancels it first.
        Scheduler.Advanced.ScheduleOnce(TimeSpan.FromSeconds(2), () => cancelledRan = true, cancel);
        cancel.Cancel();
        var later = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Scheduler.Advanced.ScheduleOnce(TimeSpan.FromSeconds(2.1), () => later.TrySetResult());
        await later.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(cancelledRan);
    }

    [Fact]
    public async Task A_message_is_told_once_and_the_item_is_let_go()
    {
        Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(10), TestActor, "due", ActorRefs.NoSender);
        await ExpectMsgAsync("due");
        await AwaitConditionAsync(() => Task.FromResult(((TimerScheduler)Scheduler).Pending == 0));
    }

    [Fact]
    public async Task A_repeated_message_keeps_coming_until_cancelled()
    {
        var cancel = Scheduler.ScheduleTellRepeatedlyCancelable(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10), TestActor, "tick", ActorRefs.NoSender);
        await ExpectMsgAsync("tick");
        await ExpectMsgAsync("tick");
        await ExpectMsgAsync("tick");
        cancel.Cancel();
        await AwaitConditionAsync(() => Task.FromResult(((TimerScheduler)Scheduler).Pending == 0));
    }

    [Fact]
    public async Task An_action_that_throws_does_not_stop_a_repeated_item()
    {
        var runs = 0;
        var third = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancel = new Cancelable((IScheduler)Scheduler);
        Scheduler.Advanced.ScheduleRepeatedly(TimeSpan.Zero, TimeSpan.FromMilliseconds(10), () =>
        {
            if (Interlocked.Increment(ref runs) == 3)
                third.TrySetResult();
            throw new InvalidOperationException("thrown on purpose");
        }, cancel);
        await third.Task.WaitAsync(TimeSpan.FromSeconds(10));
        cancel.Cancel();
    }

    [Fact]
    public async Task Disposing_stops_every_pending_item()
    {
        var scheduler = new TimerScheduler(Sys.Settings.Config.GetConfig("akka.scheduler"), Sys.Log);
        var ran = false;
        // Due long enough after the dispose that a thread descheduled on a loaded machine still disposes first.
        ((IScheduler)scheduler).Advanced.ScheduleOnce(TimeSpan.FromSeconds(2), () => ran = true);
        Assert.Equal(1, scheduler.Pending);
        scheduler.Dispose();
        Assert.Equal(0, scheduler.Pending);
        // An item scheduled later on the system's scheduler runs after the disposed one's deadline.
        var later = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Scheduler.Advanced.ScheduleOnce(TimeSpan.FromSeconds(2.1), () => later.TrySetResult());
        await later.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(ran);
    }
}
