using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;

namespace Libp2p.Actors.Tests.Swarm;

public sealed class StopTests : SwarmTestKit
{
    [Fact]
    public async Task Stopping_one_host_must_not_touch_the_connections_of_others()
    {
        var a = StartHost();
        var b = StartHost();
        var c = StartHost();
        SetHandler(c, "/echo/1.0.0", Echo);
        DialBothSides(a, b);
        DialBothSides(b, c);
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.Disconnected));
        Watch(a.Swarm);

        Sys.Stop(a.Swarm);

        ExpectTerminated(a.Swarm, Patience);
        var gone = events.ExpectMsg<SwarmProtocol.Disconnected>(Patience);
        string Name(Protocols.Peer.PeerId p) => p == a.Peer ? "a" : p == b.Peer ? "b" : p == c.Peer ? "c" : "?";
        Assert.True(gone.Connection.RemotePeer == a.Peer, $"local {Name(gone.Connection.LocalPeer)} remote {Name(gone.Connection.RemotePeer)}");
        // A is gone and B has seen it go; the B–C connection still carries a stream after that.
        var stream = await OpenAsync(b, c, "/echo/1.0.0");
        Assert.Equal("still here"u8.ToArray(), await EchoThroughAsync(stream, "still here"u8.ToArray()));
        Assert.Single(Conns(b, c.Peer));
        Assert.Single(Conns(c, b.Peer));
        events.ExpectNoMsg(TimeSpan.Zero);
        CloseAll(b, c);
    }

    [Fact]
    public async Task A_stopped_swarm_must_leave_the_applications_materializer_and_the_other_swarms_listening()
    {
        // Akka.Streams gives every materializer made from the ActorSystem one supervisor: a Swarm
        // that shut its own down (a second after it stopped) stopped the application's graphs and
        // every other Swarm's listeners with it.
        var application = Sys.Materializer();
        var running = Source.Never<int>().WatchTermination(Keep.Right).To(Sink.Ignore<int>()).Run(application);
        _ = running.PipeTo(TestActor);
        var a = StartHost();
        var b = StartHost();
        SetHandler(b, "/echo/1.0.0", Echo);
        Watch(a.Swarm);

        Sys.Stop(a.Swarm);
        ExpectTerminated(a.Swarm, Patience);

        // Longer than the second after which the old Swarm shut the shared supervisor down.
        ExpectNoMsg(TimeSpan.FromSeconds(2));
        Assert.False(((ActorMaterializer)application).IsShutdown);
        var c = StartHost();
        Dial(c, b);
        var stream = await OpenAsync(c, b, "/echo/1.0.0");
        Assert.Equal("listening"u8.ToArray(), await EchoThroughAsync(stream, "listening"u8.ToArray()));
        CloseAll(b, c);
    }

    [Fact]
    public void A_stopped_swarm_must_dispose_its_resource_managers_meter()
    {
        var resources = new ResourceManager();
        var host = StartHost(listen: "", configure: s => s with { Resources = resources });
        var published = 0;
        var completed = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Other tests run managers of their own meanwhile: count this one's instruments only.
            if (instrument.Meter != resources.Meter)
                return;
            published++;
            l.EnableMeasurementEvents(instrument);
        };
        listener.MeasurementsCompleted = (instrument, _) =>
        {
            if (instrument.Meter == resources.Meter)
                Interlocked.Increment(ref completed);
        };
        listener.Start();
        Watch(host.Swarm);

        Sys.Stop(host.Swarm);

        ExpectTerminated(host.Swarm, Patience);
        Assert.True(published > 0);
        Assert.Equal(published, Volatile.Read(ref completed));
        host.Key.Dispose();
    }

    [Fact]
    public void A_connection_whose_actor_fails_must_close_and_leave_no_state()
    {
        var a = StartHost();
        var b = StartHost();
        var connection = DialBothSides(b, a).Connection;
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.Disconnected));

        connection.Actor.Tell(Akka.Actor.Kill.Instance, Akka.Actor.ActorRefs.NoSender);

        // Both ends see it go: ours because the actor died, theirs because the socket was reset.
        var gone = new[] { events.ExpectMsg<SwarmProtocol.Disconnected>(Patience), events.ExpectMsg<SwarmProtocol.Disconnected>(Patience) };
        Assert.Contains(gone, d => d.Connection.Id == connection.Id && d.Connection.LocalPeer == b.Peer);
        Assert.Contains(gone, d => d.Connection.LocalPeer == a.Peer);
        Assert.Empty(Conns(b));
        Assert.Empty(Conns(a));
        Assert.Equal(Network.Connectedness.CanConnect, ConnectednessOf(b, a.Peer));
        CloseAll(a, b);
    }
}
