using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Resources;

public sealed class ResourceManagerTests
{
    private static PeerId NewPeer()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        return PeerId.FromPublicKey(key.PublicKey);
    }

    [Theory]
    [InlineData(ReservationPriority.Low, 0, true)]
    [InlineData(ReservationPriority.Low, 1, false)]
    [InlineData(ReservationPriority.Medium, 0, true)]
    [InlineData(ReservationPriority.Medium, 1, false)]
    [InlineData(ReservationPriority.High, 0, true)]
    [InlineData(ReservationPriority.High, 1, false)]
    [InlineData(ReservationPriority.Always, 0, true)]
    [InlineData(ReservationPriority.Always, 1, false)]
    public void Memory_priorities_must_pass_exactly_up_to_their_share_of_the_limit(byte priority, int beyond, bool passes)
    {
        // With a limit of 25,600 bytes, priority p allows (1 + p) * 100 bytes; Always the whole limit.
        var manager = new ResourceManager(new ResourceLimits { System = new ScopeLimit { Memory = 25_600 } });
        var allowed = priority == ReservationPriority.Always ? 25_600 : (1 + priority) * 100;
        manager.System.ReserveMemory(allowed / 2, ReservationPriority.Always);
        if (passes)
            manager.System.ReserveMemory(allowed - allowed / 2 + beyond, priority);
        else
            Assert.Throws<ResourceLimitExceededException>(() => manager.System.ReserveMemory(allowed - allowed / 2 + beyond, priority));
    }

    [Fact]
    public void A_denial_must_say_which_scope_resource_amount_use_and_limit()
    {
        var manager = new ResourceManager(new ResourceLimits { System = new ScopeLimit { Memory = 1000 } });
        manager.System.ReserveMemory(900, ReservationPriority.Always);

        var error = Assert.Throws<ResourceLimitExceededException>(() => manager.System.ReserveMemory(200, ReservationPriority.Always));

        Assert.Equal("resource limit exceeded: system: memory: asked 200, in use 900, limit 1000", error.Message);
        Assert.True(error.Temporary);
        Assert.Equal(("system", "memory", 200L, 900L, 1000L), (error.Scope, error.Resource, error.Asked, error.Current, error.Limit));
    }

    [Fact]
    public void A_denial_at_any_scope_must_leave_nothing_reserved_anywhere()
    {
        var peer = NewPeer();
        var manager = new ResourceManager(new ResourceLimits { Transient = new ScopeLimit { Memory = 100 } });
        using var stream = manager.OpenStream(peer, Direction.Inbound);

        // The stream, its peer and the system would all take it; the transient scope (3rd of 4) refuses.
        var error = Assert.Throws<ResourceLimitExceededException>(() => stream.ReserveMemory(500, ReservationPriority.Always));

        Assert.Equal("transient", error.Scope);
        Assert.Equal(0, stream.Stat().Memory);
        Assert.Equal(0, stream.PeerScope.Stat().Memory);
        Assert.Equal(0, manager.System.Stat().Memory);
        Assert.Equal(1, manager.System.Stat().NumStreamsInbound);
    }

    [Fact]
    public void A_connection_must_move_from_transient_to_its_peer()
    {
        var peer = NewPeer();
        var manager = new ResourceManager();
        using var connection = manager.OpenConnection(Direction.Outbound, useFileDescriptor: true);
        Assert.Equal(new ScopeStat(0, 0, 0, 1, 1, 0), manager.Transient.Stat());

        connection.SetPeer(peer);

        Assert.Equal(ScopeStat.Zero, manager.Transient.Stat());
        Assert.Equal(new ScopeStat(0, 0, 0, 1, 1, 0), connection.PeerScope!.Stat());
        Assert.Equal(new ScopeStat(0, 0, 0, 1, 1, 0), manager.System.Stat());
        Assert.StartsWith($"peer:{peer}/conn-", connection.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_must_move_to_its_protocol_and_charge_its_service()
    {
        var peer = NewPeer();
        var manager = new ResourceManager(new ResourceLimits
        {
            Protocols = new Dictionary<string, ScopeLimit> { ["/echo/1.0.0"] = new() { StreamsInbound = 1 } },
        });
        var first = manager.OpenStream(peer, Direction.Inbound);
        first.SetProtocol("/echo/1.0.0");
        first.SetService("echo");
        Assert.Equal(ScopeStat.Zero, manager.Transient.Stat());
        Assert.Equal(1, manager.ViewProtocol("/echo/1.0.0", s => s.Stat().NumStreamsInbound));
        Assert.Equal(1, manager.ViewService("echo", s => s.Stat().NumStreamsInbound));

        var second = manager.OpenStream(peer, Direction.Inbound);
        var error = Assert.Throws<ResourceLimitExceededException>(() => second.SetProtocol("/echo/1.0.0"));
        Assert.Equal("protocol:/echo/1.0.0", error.Scope);
        Assert.Equal("inbound streams", error.Resource);

        second.Done();
        first.Done();
        Assert.All(manager.Snapshot(), s => Assert.Equal(ScopeStat.Zero, s.Usage));
    }

    [Fact]
    public void Spans_must_nest_and_release_on_Done()
    {
        var manager = new ResourceManager();
        using var connection = manager.OpenConnection(Direction.Inbound, useFileDescriptor: false);
        var outer = connection.BeginSpan();
        var inner = outer.BeginSpan();
        inner.ReserveMemory(100, ReservationPriority.Always);
        outer.ReserveMemory(10, ReservationPriority.Always);
        Assert.Equal(110, manager.System.Stat().Memory);
        Assert.Equal(110, connection.Stat().Memory);

        inner.Done();
        Assert.Equal(10, manager.System.Stat().Memory);
        outer.Done();
        outer.Done();
        Assert.Equal(0, manager.System.Stat().Memory);
        Assert.Throws<ResourceScopeClosedException>(() => outer.ReserveMemory(1, ReservationPriority.Always));
        Assert.Throws<ResourceScopeClosedException>(() => outer.BeginSpan());
    }

    [Fact]
    public void Idle_empty_peer_scopes_must_be_reclaimed()
    {
        var manager = new ResourceManager();
        var peer = NewPeer();
        var connection = manager.OpenConnection(Direction.Inbound, false);
        connection.SetPeer(peer);
        Assert.Contains(manager.Snapshot(), s => s.Scope == $"peer:{peer}");

        connection.Done();

        Assert.DoesNotContain(manager.Snapshot(), s => s.Scope == $"peer:{peer}");
        Assert.All(manager.Snapshot(), s => Assert.Equal(ScopeStat.Zero, s.Usage));
    }

    [Fact]
    public void A_refused_connection_must_leave_nothing_reserved()
    {
        var manager = new ResourceManager(new ResourceLimits { System = new ScopeLimit { ConnsInbound = 1 } });
        using var first = manager.OpenConnection(Direction.Inbound, true);

        var error = Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(Direction.Inbound, true));

        Assert.Equal("resource limit exceeded: system: inbound connections: asked 1, in use 1, limit 1", error.Message);
        Assert.Equal(new ScopeStat(0, 0, 1, 0, 1, 0), manager.System.Stat());
    }

    [Fact]
    public async Task Concurrent_reservations_must_never_pass_a_limit_and_must_end_at_zero()
    {
        const long limit = 1_000_000;
        var manager = new ResourceManager(new ResourceLimits
        {
            System = new ScopeLimit { Memory = limit, Streams = 50 },
            PeerDefault = new ScopeLimit { Memory = limit / 2 },
        });
        var peers = Enumerable.Range(0, 4).Select(_ => NewPeer()).ToArray();
        var peak = 0L;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(() =>
        {
            var random = new Random(w);
            while (DateTime.UtcNow < deadline)
            {
                StreamManagementScope stream;
                try
                {
                    stream = manager.OpenStream(peers[random.Next(peers.Length)], Direction.Outbound);
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
                            stream.ReserveMemory(random.Next(1, 50_000), (byte)random.Next(100, 256));
                        }
                        catch (ResourceLimitExceededException)
                        {
                        }
                        var used = manager.System.Stat().Memory;
                        InterlockedMax(ref peak, used);
                        Assert.True(used <= limit, $"system memory {used} over {limit}");
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);

        Assert.True(peak > 0);
        Assert.All(manager.Snapshot(), s => Assert.Equal(ScopeStat.Zero, s.Usage));
    }

    [Fact]
    public void Usage_must_be_published_as_metrics_per_scope()
    {
        using var manager = new ResourceManager();
        manager.System.ReserveMemory(4096, ReservationPriority.Always);
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

        listener.RecordObservableInstruments();

        Assert.Equal(4096, seen["system"]);
        Assert.Equal(0, seen["transient"]);
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
    public void The_null_manager_must_count_and_refuse_nothing_but_still_close_scopes()
    {
        var manager = ResourceManager.Null();
        var stream = manager.OpenStream(NewPeer(), Direction.Inbound);
        stream.ReserveMemory(int.MaxValue, ReservationPriority.Low);
        stream.SetProtocol("/x/1.0.0");
        Assert.All(manager.Snapshot(), s => Assert.Equal(ScopeStat.Zero, s.Usage));
        stream.Done();
        Assert.Throws<ResourceScopeClosedException>(() => stream.ReserveMemory(1, ReservationPriority.Always));
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current)
            current = seen;
    }

    [Fact]
    public async Task Scopes_reclaimed_while_others_look_them_up_must_never_split_into_two()
    {
        // Streams come and go on one peer and protocol from two threads: each end may reclaim the
        // named scopes while the other is about to use them. A split would count streams in a scope
        // the limit no longer sees, so the protocol's limit must hold at every step.
        const int limit = 2;
        var manager = new ResourceManager(new ResourceLimits { ProtocolDefault = new ScopeLimit { StreamsInbound = limit } });
        var peer = NewPeer();
        var overLimit = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                var stream = manager.OpenStream(peer, Direction.Inbound);
                try
                {
                    stream.SetProtocol("/race/1.0.0");
                    if (!ReferenceEquals(manager.ViewProtocol("/race/1.0.0", s => s), stream.ProtocolScope)
                        || !ReferenceEquals(manager.ViewPeer(peer, s => s), stream.PeerScope))
                        Interlocked.Increment(ref overLimit); // our stream is counted in a scope the manager no longer knows
                }
                catch (ResourceLimitExceededException)
                {
                }
                finally
                {
                    stream.Done();
                }
            }
        })));
        Assert.Equal(0, overLimit);
        Assert.Equal(4, manager.Snapshot().Count);
        Assert.All(manager.Snapshot(), s => Assert.Equal(new ScopeStat(0, 0, 0, 0, 0, 0), s.Usage));
    }
}
