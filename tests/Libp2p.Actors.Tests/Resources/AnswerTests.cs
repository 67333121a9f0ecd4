using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Actors.Tests.Resources;

/// <summary>The facade's answers: completed by the scope actors, given up on by one sweep, failed when the manager stops.</summary>
public sealed class AnswerTests : ResourceTestKit
{
    [Fact]
    public async Task An_answer_past_its_deadline_must_fail_with_a_timeout_at_the_next_sweep()
    {
        var answers = new Answers();
        var late = answers.New<int>();
        Assert.Equal(1, answers.Open);
        var answered = answers.New<int>();
        Assert.Equal(2, answers.Open);
        answered.Complete(7);

        // The answered one left the list at once: nothing keeps it alive until a sweep.
        Assert.Equal(1, answers.Open);
        answers.Sweep(late.Deadline - 1);
        Assert.False(late.Task.IsCompleted);
        Assert.Equal(1, answers.Open);
        answers.Sweep(late.Deadline);

        await Assert.ThrowsAsync<AskTimeoutException>(() => late.Task);
        Assert.Equal(7, await answered.Task);
        Assert.Equal(0, answers.Open);
    }

    [Fact]
    public void Only_an_answer_opened_while_none_is_open_must_wake_the_sweep()
    {
        var answers = new Answers();
        var woken = 0;
        answers.FirstOpened = () => woken++;

        var first = answers.New<int>();
        var second = answers.New<int>();
        Assert.Equal(1, woken);
        first.Complete(1);
        second.Complete(2);
        answers.New<int>();

        Assert.Equal(2, woken);
    }

    [Fact]
    public async Task The_sweep_must_run_only_while_an_answer_is_open()
    {
        var manager = Start();
        using var stream = await manager.OpenStreamAsync(NewPeer(), Direction.Inbound);

        // Every answer is in: the sweep stops at its next tick, so an idle node runs no timer for it.
        await AwaitAssertAsync(() => Assert.False(manager.Answers.Sweeping), TimeSpan.FromSeconds(5));
        // A request opens an answer again, and the sweep with it (the test above: the wake), until it is in.
        await stream.ReserveMemoryAsync(1024, ReservationPriority.Always).WaitAsync(Patience);
        await AwaitAssertAsync(() => Assert.False(manager.Answers.Sweeping), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_answer_must_fail_with_the_cause_of_a_failure_and_explain_a_wrong_reply()
    {
        var answers = new Answers();
        var failed = answers.New<int>();
        var wrong = answers.New<int>();

        failed.Complete(new Status.Failure(new ResourceScopeClosedException("transient")));
        wrong.Complete("seven");

        await Assert.ThrowsAsync<ResourceScopeClosedException>(() => failed.Task);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => wrong.Task);
        Assert.Equal("a resource scope answered String where Int32 was expected", error.Message);
    }

    [Fact]
    public async Task A_request_to_a_stopped_manager_must_fail_at_once_rather_than_wait_for_its_deadline()
    {
        var manager = Start();
        var stream = await manager.OpenStreamAsync(NewPeer(), Direction.Inbound);
        Watch(manager.Actor);
        var actor = manager.Actor;

        await actor.GracefulStop(Patience);

        // Well within the ten seconds an unanswered request would wait: its scopes went with it.
        var closed = await Assert.ThrowsAsync<ResourceScopeClosedException>(() => stream.ReserveMemoryAsync(1024, ReservationPriority.Always).WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(stream.Name, closed.Scope);
    }

    [Fact]
    public async Task A_manager_whose_actor_stops_must_dispose_its_meter_without_a_swarm()
    {
        var manager = Start();
        var published = 0;
        var completed = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Other tests run managers of their own meanwhile: count this one's instruments only.
            if (instrument.Meter != manager.Meter)
                return;
            Interlocked.Increment(ref published);
            l.EnableMeasurementEvents(instrument);
        };
        listener.MeasurementsCompleted = (instrument, _) =>
        {
            if (instrument.Meter == manager.Meter)
                Interlocked.Increment(ref completed);
        };
        listener.Start();

        await manager.Actor.GracefulStop(Patience);

        Assert.Equal(6, Volatile.Read(ref published));
        Assert.Equal(6, Volatile.Read(ref completed));
    }

    [Fact]
    public async Task Reservations_answered_by_the_last_scope_must_be_charged_everywhere_once_the_caller_hears()
    {
        var manager = Start();
        var peer = NewPeer();
        using var stream = await manager.OpenStreamAsync(peer, Direction.Inbound);
        await stream.SetProtocolAsync("/p/1.0.0");
        await stream.SetServiceAsync("s");

        for (var i = 1; i <= 50; i++)
        {
            await stream.ReserveMemoryAsync(100, ReservationPriority.Always);
            // Asked after the approval: every scope of the path holds it already.
            Assert.Equal(100L * i, (await stream.StatAsync()).Memory);
            Assert.Equal(100L * i, (await manager.ViewPeerAsync(peer)).Usage.Memory);
            Assert.Equal(100L * i, (await manager.ViewServiceAsync("s")).Usage.Memory);
        }
        for (var i = 0; i < 50; i++)
            stream.ReleaseMemory(100);
        await AwaitAssertAsync(async () => Assert.Equal(0, (await manager.ViewSystemAsync()).Usage.Memory), Patience);
    }

    [Fact]
    public async Task A_manager_started_again_after_its_actor_stopped_must_answer_count_and_publish_afresh()
    {
        // As a Swarm restarted by its supervisor starts the same manager again.
        var manager = new ResourceManager(new ResourceLimits { Subnets = SubnetLimits.Default });
        var first = manager.Start(Sys, $"rcmgr-{Guid.NewGuid():N}");
        for (var i = 0; i < 8; i++)
            await manager.OpenConnectionAsync(Direction.Inbound, true, Multiaddr.Parse($"/ip4/1.2.3.4/tcp/{4001 + i}"));
        var oldMeter = manager.Meter;
        await first.GracefulStop(Patience);

        manager.Start(Sys, $"rcmgr-{Guid.NewGuid():N}");

        var again = new List<ConnectionManagementScope>();
        for (var i = 0; i < 8; i++)
            again.Add(await manager.OpenConnectionAsync(Direction.Inbound, true, Multiaddr.Parse($"/ip4/1.2.3.4/tcp/{5001 + i}")));
        Assert.Equal(8, (await manager.ViewSubnetsAsync(1)).Busiest.Single().Inbound);
        Assert.Equal(8, (await manager.ViewSystemAsync()).Usage.NumConnsInbound);
        await again[0].ReserveMemoryAsync(1024, ReservationPriority.Always);
        Assert.NotSame(oldMeter, manager.Meter);
        var published = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter == manager.Meter)
                Interlocked.Increment(ref published);
        };
        listener.Start();
        Assert.Equal(6, Volatile.Read(ref published));
        again.ForEach(c => c.Done());
    }
}
