using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;

namespace Libp2p.Actors.Tests.Resources;

public sealed class ResourceManagerTests : ResourceTestKit
{
    [Theory]
    [InlineData(ReservationPriority.Low, 0, true)]
    [InlineData(ReservationPriority.Low, 1, false)]
    [InlineData(ReservationPriority.Medium, 0, true)]
    [InlineData(ReservationPriority.Medium, 1, false)]
    [InlineData(ReservationPriority.High, 0, true)]
    [InlineData(ReservationPriority.High, 1, false)]
    [InlineData(ReservationPriority.Always, 0, true)]
    [InlineData(ReservationPriority.Always, 1, false)]
    public async Task Memory_priorities_must_pass_exactly_up_to_their_share_of_the_limit(byte priority, int beyond, bool passes)
    {
        // With a limit of 25,600 bytes, priority p allows (1 + p) * 100 bytes; Always the whole limit.
        var manager = Start(new ResourceLimits { System = new ScopeLimit { Memory = 25_600 } });
        using var stream = await manager.OpenStreamAsync(NewPeer(), Direction.Inbound);
        var allowed = priority == ReservationPriority.Always ? 25_600 : (1 + priority) * 100;
        await stream.ReserveMemoryAsync(allowed / 2, ReservationPriority.Always);
        if (passes)
            await stream.ReserveMemoryAsync(allowed - allowed / 2 + beyond, priority);
        else
            await Assert.ThrowsAsync<ResourceLimitExceededException>(() => stream.ReserveMemoryAsync(allowed - allowed / 2 + beyond, priority));
    }

    [Fact]
    public async Task A_scope_whose_owner_stopped_must_refuse_at_once_as_closed_not_time_out()
    {
        var manager = Start();
        var owner = CreateTestProbe();
        var stream = await manager.OpenStreamAsync(NewPeer(), Direction.Inbound, owner.Ref);
        var span = await stream.BeginSpanAsync();
        // The span is the stream scope's child: it has stopped by the time its parent has.
        Watch(stream.Actor!);

        // The stream's owner goes (a stream reset, a connection cut): its scope goes with it, and
        // nothing ever answers what is asked of it after.
        Sys.Stop(owner.Ref);
        ExpectTerminated(stream.Actor!);

        // Well within the 10 s an unanswered request waits: refused now, as closed, naming the scope.
        var closed = TimeSpan.FromSeconds(3);
        var error = await Assert.ThrowsAsync<ResourceScopeClosedException>(() => stream.ReserveMemoryAsync(1024, ReservationPriority.Always).WaitAsync(closed));
        Assert.Equal(stream.Name, error.Scope);
        await Assert.ThrowsAsync<ResourceScopeClosedException>(() => span.ReserveMemoryAsync(1024, ReservationPriority.Always).WaitAsync(closed));
        await Assert.ThrowsAsync<ResourceScopeClosedException>(() => stream.BeginSpanAsync().WaitAsync(closed));
        await Assert.ThrowsAsync<ResourceScopeClosedException>(() => stream.SetServiceAsync("echo").WaitAsync(closed));
        Assert.Equal(ScopeStat.Zero, await stream.StatAsync().WaitAsync(closed));
        await AllAtZeroAsync(manager);
    }

    [Fact]
    public async Task A_denial_must_say_which_scope_resource_amount_use_and_limit()
    {
        var manager = Start(new ResourceLimits { System = new ScopeLimit { Memory = 1000 } });
        using var stream = await manager.OpenStreamAsync(NewPeer(), Direction.Inbound);
        await stream.ReserveMemoryAsync(900, ReservationPriority.Always);

        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(() => stream.ReserveMemoryAsync(200, ReservationPriority.Always));

        Assert.Equal("resource limit exceeded: system: memory: asked 200, in use 900, limit 1000", error.Message);
        Assert.True(error.Temporary);
        Assert.Equal(("system", "memory", 200L, 900L, 1000L), (error.Scope, error.Resource, error.Asked, error.Current, error.Limit));
    }

    [Fact]
    public async Task A_denial_at_any_scope_must_leave_nothing_reserved_anywhere()
    {
        var peer = NewPeer();
        var manager = Start(new ResourceLimits { Transient = new ScopeLimit { Memory = 100 } });
        using var stream = await manager.OpenStreamAsync(peer, Direction.Inbound);

        // The stream, the system and its peer take it; the transient scope (last of the path) refuses.
        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(() => stream.ReserveMemoryAsync(500, ReservationPriority.Always));

        Assert.Equal("transient", error.Scope);
        Assert.Equal(0, (await stream.StatAsync()).Memory);
        Assert.Equal(0, (await manager.ViewPeerAsync(peer)).Usage.Memory);
        var system = (await manager.ViewSystemAsync()).Usage;
        Assert.Equal((0L, 1), (system.Memory, system.NumStreamsInbound));
    }

    [Fact]
    public async Task A_connection_must_move_from_transient_to_its_peer()
    {
        var peer = NewPeer();
        var manager = Start();
        using var connection = await manager.OpenConnectionAsync(Direction.Outbound, useFileDescriptor: true);
        Assert.Equal(new ScopeStat(0, 0, 0, 1, 1, 0), (await manager.ViewTransientAsync()).Usage);

        await connection.SetPeerAsync(peer);

        Assert.Equal(ScopeStat.Zero, (await manager.ViewTransientAsync()).Usage);
        Assert.Equal(new ScopeStat(0, 0, 0, 1, 1, 0), (await manager.ViewPeerAsync(peer)).Usage);
        Assert.Equal(new ScopeStat(0, 0, 0, 1, 1, 0), (await manager.ViewSystemAsync()).Usage);
        Assert.Equal($"peer:{peer}", connection.PeerScope);
        Assert.StartsWith($"peer:{peer}/conn-", connection.Name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_must_move_to_its_protocol_and_charge_its_service()
    {
        var peer = NewPeer();
        var manager = Start(new ResourceLimits
        {
            Protocols = new Dictionary<string, ScopeLimit> { ["/echo/1.0.0"] = new() { StreamsInbound = 1 } },
        });
        var first = await manager.OpenStreamAsync(peer, Direction.Inbound);
        await first.SetProtocolAsync("/echo/1.0.0");
        await first.SetServiceAsync("echo");
        Assert.Equal(ScopeStat.Zero, (await manager.ViewTransientAsync()).Usage);
        Assert.Equal(1, (await manager.ViewProtocolAsync("/echo/1.0.0")).Usage.NumStreamsInbound);
        Assert.Equal(1, (await manager.ViewServiceAsync("echo")).Usage.NumStreamsInbound);

        var second = await manager.OpenStreamAsync(peer, Direction.Inbound);
        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(() => second.SetProtocolAsync("/echo/1.0.0"));
        Assert.Equal("protocol:/echo/1.0.0", error.Scope);
        Assert.Equal("inbound streams", error.Resource);

        second.Done();
        first.Done();
        await AllAtZeroAsync(manager);
    }

    [Fact]
    public async Task A_peer_over_its_share_of_a_service_must_be_refused_while_another_peer_still_joins_it()
    {
        var (greedy, other) = (NewPeer(), NewPeer());
        var manager = Start(new ResourceLimits
        {
            Services = new Dictionary<string, ScopeLimit> { ["echo"] = new() { StreamsInbound = 4 } },
            ServicePeers = new Dictionary<string, ScopeLimit> { ["echo"] = new() { StreamsInbound = 2 } },
        });
        var held = new List<StreamManagementScope>();
        for (var i = 0; i < 2; i++)
        {
            held.Add(await manager.OpenStreamAsync(greedy, Direction.Inbound));
            await held[^1].SetServiceAsync("echo");
        }

        var third = await manager.OpenStreamAsync(greedy, Direction.Inbound);
        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(() => third.SetServiceAsync("echo"));
        Assert.Equal($"service-peer:echo/{greedy}", error.Scope);
        Assert.Equal("inbound streams", error.Resource);
        // Refused as a whole: the service holds only the two that joined.
        Assert.Equal(2, (await manager.ViewServiceAsync("echo")).Usage.NumStreamsInbound);
        Assert.Equal(2, (await manager.ViewServicePeerAsync("echo", greedy)).Usage.NumStreamsInbound);
        var fair = await manager.OpenStreamAsync(other, Direction.Inbound);
        await fair.SetServiceAsync("echo");
        Assert.Equal(3, (await manager.ViewServiceAsync("echo")).Usage.NumStreamsInbound);
        Assert.Equal(1, (await manager.ViewServicePeerAsync("echo", other)).Usage.NumStreamsInbound);

        third.Done();
        fair.Done();
        held.ForEach(stream => stream.Done());
        await AllAtZeroAsync(manager);
    }

    [Fact]
    public async Task Spans_must_nest_and_release_on_Done()
    {
        var manager = Start();
        using var connection = await manager.OpenConnectionAsync(Direction.Inbound, useFileDescriptor: false);
        var outer = await connection.BeginSpanAsync();
        var inner = await outer.BeginSpanAsync();
        await inner.ReserveMemoryAsync(100, ReservationPriority.Always);
        await outer.ReserveMemoryAsync(10, ReservationPriority.Always);
        Assert.Equal(110, (await manager.ViewSystemAsync()).Usage.Memory);
        Assert.Equal(110, (await connection.StatAsync()).Memory);
        Assert.Equal(110, (await outer.StatAsync()).Memory);

        await DoneAsync(inner);
        Assert.Equal(10, (await manager.ViewSystemAsync()).Usage.Memory);
        await DoneAsync(outer);
        outer.Done();
        Assert.Equal(0, (await manager.ViewSystemAsync()).Usage.Memory);
        await Assert.ThrowsAsync<ResourceScopeClosedException>(() => outer.ReserveMemoryAsync(1, ReservationPriority.Always));
        await Assert.ThrowsAsync<ResourceScopeClosedException>(() => outer.BeginSpanAsync());
    }

    [Fact]
    public async Task Idle_empty_peer_scopes_must_be_reclaimed()
    {
        var manager = Start();
        var peer = NewPeer();
        var connection = await manager.OpenConnectionAsync(Direction.Inbound, false);
        await connection.SetPeerAsync(peer);
        Assert.Contains(await manager.SnapshotAsync(), s => s.Scope == $"peer:{peer}");

        connection.Done();

        await AwaitAssertAsync(async () => Assert.DoesNotContain(await manager.SnapshotAsync(), s => s.Scope == $"peer:{peer}"), Patience);
        await AllAtZeroAsync(manager);
    }

    [Fact]
    public async Task A_refused_connection_must_leave_nothing_reserved()
    {
        var manager = Start(new ResourceLimits { System = new ScopeLimit { ConnsInbound = 1 } });
        using var first = await manager.OpenConnectionAsync(Direction.Inbound, true);

        var error = await Assert.ThrowsAsync<ResourceLimitExceededException>(() => manager.OpenConnectionAsync(Direction.Inbound, true));

        Assert.Equal("resource limit exceeded: system: inbound connections: asked 1, in use 1, limit 1", error.Message);
        Assert.Equal(new ScopeStat(0, 0, 1, 0, 1, 0), (await manager.ViewSystemAsync()).Usage);
        Assert.Equal(new ScopeStat(0, 0, 1, 0, 1, 0), (await manager.ViewTransientAsync()).Usage);
    }

    [Fact]
    public async Task Concurrent_reservations_must_never_pass_a_limit_and_must_end_at_zero()
    {
        const long limit = 1_000_000;
        var manager = Start(new ResourceLimits
        {
            System = new ScopeLimit { Memory = limit, Streams = 50 },
            PeerDefault = new ScopeLimit { Memory = limit / 2 },
        });
        var peers = Enumerable.Range(0, 4).Select(_ => NewPeer()).ToArray();
        var peak = 0L;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (DateTime.UtcNow < deadline)
            {
                StreamManagementScope stream;
                try
                {
                    stream = await manager.OpenStreamAsync(peers[random.Next(peers.Length)], Direction.Outbound);
                }
                catch (ResourceLimitExceededException)
                {
                    continue;
                }
                using (stream)
                {
                    for (var i = 0; i < 10; i++)
                    {
                        try
                        {
                            await stream.ReserveMemoryAsync(random.Next(1, 50_000), (byte)random.Next(100, 256));
                        }
                        catch (ResourceLimitExceededException)
                        {
                        }
                        var used = (await manager.ViewSystemAsync()).Usage.Memory;
                        InterlockedMax(ref peak, used);
                        Assert.True(used <= limit, $"system memory {used} over {limit}");
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);

        Assert.True(peak > 0);
        await AllAtZeroAsync(manager);
    }

    [Fact]
    public async Task Usage_must_be_published_as_metrics_per_scope()
    {
        var manager = Start();
        using var stream = await manager.OpenStreamAsync(NewPeer(), Direction.Inbound);
        await stream.ReserveMemoryAsync(4096, ReservationPriority.Always);
        var seen = new Dictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Other tests run managers of their own meanwhile: listen to this one's meter only.
            if (instrument.Meter == manager.Meter && instrument.Name == "libp2p.rcmgr.memory")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                seen[(string)tag.Value!] = value;
        });
        listener.Start();

        // A gauge is read synchronously: it reports the last snapshot and asks for a fresh one.
        await AwaitAssertAsync(() =>
        {
            listener.RecordObservableInstruments();
            // A stream without its protocol yet holds it in transient too.
            Assert.Equal(4096, seen.GetValueOrDefault("system"));
            Assert.Equal(4096, seen["transient"]);
            Assert.Equal(0, seen["allowlisted-system"]);
            return Task.CompletedTask;
        }, Patience);
        manager.Dispose();
    }

    [Fact]
    public void Scaled_defaults_must_grow_with_memory_as_go_libp2p_does()
    {
        var small = ResourceLimitDefaults.Scaled(memory: 128L << 20, fileDescriptors: 1000);
        var large = ResourceLimitDefaults.Scaled(memory: (128L << 20) + (4L << 30), fileDescriptors: 1000);

        Assert.Equal(128L << 20, small.System.Memory);
        Assert.Equal(64, small.System.ConnsInbound);
        Assert.Equal(256 + 1000, small.System.FD);
        Assert.Equal((128L << 20) + 4 * (1L << 30), large.System.Memory);
        Assert.Equal(64 + 4 * 64, large.System.ConnsInbound);
        Assert.Equal(8, large.PeerDefault.ConnsInbound);
        // What go leaves unlimited stays unlimited, however much memory there is.
        Assert.Equal(int.MaxValue, large.ProtocolDefault.Conns);
        Assert.Equal(int.MaxValue, large.ServiceDefault.FD);
    }

    [Fact]
    public void Limits_must_be_read_from_HOCON_over_the_defaults()
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString("""
            akka.libp2p.resource-manager {
              system { memory = 256MiB, conns-inbound = 10 }
              protocol-default { streams-inbound = 7 }
              protocols { "/echo/1.0.0" { streams-inbound = 3 } }
            }
            """);
        var fallback = ResourceLimitDefaults.Scaled(memory: 1L << 30, fileDescriptors: 1000);

        var limits = ResourceLimitDefaults.FromConfig(config, fallback);

        Assert.Equal(256L << 20, limits.System.Memory);
        Assert.Equal(10, limits.System.ConnsInbound);
        Assert.Equal(fallback.System.ConnsOutbound, limits.System.ConnsOutbound);
        Assert.Equal(7, limits.ProtocolDefault.StreamsInbound);
        Assert.Equal(3, limits.Protocols["/echo/1.0.0"].StreamsInbound);
        Assert.Equal(fallback.Transient, limits.Transient);
    }

    [Fact]
    public void A_named_HOCON_block_must_start_from_the_default_the_same_HOCON_sets_and_keep_the_names_set_in_code()
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString("""
            akka.libp2p.resource-manager {
              protocol-default { streams-inbound = 7, streams-outbound = 9 }
              protocols { "/echo/1.0.0" { streams-inbound = 3 } }
            }
            """);
        var fallback = ResourceLimitDefaults.Scaled(memory: 1L << 30, fileDescriptors: 1000) with
        {
            Protocols = new Dictionary<string, ScopeLimit> { ["/ping/1.0.0"] = new() { Streams = 2 } },
        };

        var limits = ResourceLimitDefaults.FromConfig(config, fallback);

        Assert.Equal(3, limits.Protocols["/echo/1.0.0"].StreamsInbound);
        Assert.Equal(9, limits.Protocols["/echo/1.0.0"].StreamsOutbound);
        Assert.Equal(2, limits.Protocols["/ping/1.0.0"].Streams);
    }

    [Fact]
    public void A_peer_s_share_of_a_service_must_have_go_s_defaults_and_be_set_by_HOCON()
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString("""
            akka.libp2p.resource-manager {
              service-peer-default { streams-inbound = 5 }
              service-peers { "libp2p.identify" { streams-inbound = 8 } }
            }
            """);
        var fallback = ResourceLimitDefaults.Scaled(memory: 1L << 30, fileDescriptors: 1000);

        var limits = ResourceLimitDefaults.FromConfig(config, fallback);

        Assert.Equal((16, 16, 32), (fallback.ServicePeers[ServiceNames.Identify].StreamsInbound, fallback.ServicePeers[ServiceNames.Identify].StreamsOutbound, fallback.ServicePeers[ServiceNames.Identify].Streams));
        Assert.Equal(2, fallback.ServicePeers[ServiceNames.HolePunch].StreamsInbound);
        Assert.Equal(8, limits.ServicePeers[ServiceNames.Identify].StreamsInbound);
        Assert.Equal(16, limits.ServicePeers[ServiceNames.Identify].StreamsOutbound);
        Assert.Equal(2, limits.ServicePeers[ServiceNames.HolePunch].StreamsInbound);
        Assert.Equal(5, limits.ServicePeerDefault.StreamsInbound);
    }

    [Fact]
    public async Task The_null_manager_must_count_and_refuse_nothing_but_still_close_scopes()
    {
        var manager = ResourceManager.Null();
        var stream = await manager.OpenStreamAsync(NewPeer(), Direction.Inbound);
        await stream.ReserveMemoryAsync(int.MaxValue, ReservationPriority.Low);
        await stream.SetProtocolAsync("/x/1.0.0");
        Assert.Empty(await manager.SnapshotAsync());
        Assert.Null(stream.Actor);
        stream.Done();
        await Assert.ThrowsAsync<ResourceScopeClosedException>(() => stream.ReserveMemoryAsync(1, ReservationPriority.Always));
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current)
            current = seen;
    }

    [Fact]
    public async Task Scopes_reclaimed_while_others_reserve_in_them_must_never_split_into_two()
    {
        // Streams come and go on one peer and protocol from four loops: each end may leave the
        // named scopes empty, to be reclaimed, while another stream is on its way into them. A
        // split would count streams in a scope the limit no longer sees, so more than the limit
        // would hold the protocol at once.
        const int limit = 2;
        var manager = Start(new ResourceLimits { ProtocolDefault = new ScopeLimit { StreamsInbound = limit } });
        var peer = NewPeer();
        var holding = 0;
        var most = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 2_000; i++)
            {
                var stream = await manager.OpenStreamAsync(peer, Direction.Inbound);
                try
                {
                    await stream.SetProtocolAsync("/race/1.0.0");
                    var now = Interlocked.Increment(ref holding);
                    InterlockedMax(ref most, now);
                    Interlocked.Decrement(ref holding);
                }
                catch (ResourceLimitExceededException)
                {
                }
                finally
                {
                    await DoneAsync(stream);
                }
            }
        })));
        Assert.InRange(most, 1, limit);
        await AwaitAssertAsync(async () => Assert.Equal(4, (await manager.SnapshotAsync()).Count), Patience);
        await AllAtZeroAsync(manager);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current)
            current = seen;
    }
}
