using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Akka;
using Akka.Actor;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// Connections inside one process, addressed <c>/memory/&lt;id&gt;</c>, with the same behaviour as
/// TCP: bounded, backpressured byte pipes in both directions, and a connection that fails on the
/// other side when one side goes away. <c>/memory/0</c> listens on a fresh id. Tests use it to run
/// the whole stack without sockets.
/// </summary>
public sealed class MemoryTransport : ITransport
{
    // Chunks in flight per direction: enough to keep both ends busy, small enough to backpressure.
    private const int PipeCapacity = 16;

    private static readonly ConcurrentDictionary<ulong, ISourceQueueWithComplete<InboundConnection>> Listeners = new();
    private static long _lastId = Environment.TickCount64 & 0xFFFFFF;
    private static long _lastDialer;

    /// <summary>The shared instance; listeners are process-wide, as the addresses are.</summary>
    public static MemoryTransport Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "memory";

    /// <inheritdoc />
    public bool CanDial(Multiaddr address) => TryGetId(address, out _);

    /// <inheritdoc />
    public bool CanListen(Multiaddr address) => TryGetId(address, out _);

    /// <inheritdoc />
    public Flow<ByteString, ByteString, Task<TransportConnection>> Dial(ActorSystem system, Multiaddr address, TimeSpan connectTimeout)
    {
        if (!TryGetId(address, out var id))
            throw new TransportException($"memory: cannot dial {address}: not a /memory address");
        // The channels are made per materialization, so the flow can be run more than once.
        return Flow.FromGraph(new MemoryPipeStage(() =>
        {
            var local = Multiaddr.Parse($"/memory/{(ulong)Interlocked.Increment(ref _lastDialer) | 1UL << 62}");
            var remote = Multiaddr.Parse($"/memory/{id}");
            var toListener = NewChannel();
            var toDialer = NewChannel();
            if (!Listeners.TryGetValue(id, out var listener))
                return (toListener, toDialer, Task.FromException<TransportConnection>(new TransportException($"memory: dial {address} failed: nothing listens there")));
            var inbound = new InboundConnection(new TransportConnection(remote, local),
                Flow.FromGraph(new MemoryPipeStage(() => (toDialer, toListener, Task.FromResult(new TransportConnection(remote, local))))).MapMaterializedValue(_ => NotUsed.Instance));
            var accepted = listener.OfferAsync(inbound).ContinueWith(
                t => t.IsCompletedSuccessfully && t.Result is QueueOfferResult.Enqueued
                    ? new TransportConnection(local, remote)
                    : throw new TransportException($"memory: dial {address} failed: the listener is closed"),
                TaskScheduler.Default);
            return (toListener, toDialer, accepted);
        }));
    }

    /// <inheritdoc />
    public Source<InboundConnection, Task<TransportListener>> Listen(ActorSystem system, Multiaddr address)
    {
        if (!TryGetId(address, out var wanted))
            throw new TransportException($"memory: cannot listen on {address}: not a /memory address");
        return Source.Queue<InboundConnection>(PipeCapacity, OverflowStrategy.Backpressure)
            .MapMaterializedValue(queue =>
            {
                var id = wanted;
                if (id == 0)
                {
                    do id = (ulong)Interlocked.Increment(ref _lastId);
                    while (!Listeners.TryAdd(id, queue));
                }
                else if (!Listeners.TryAdd(id, queue))
                {
                    queue.Fail(new TransportException($"memory: listen on {address} failed: the address is in use"));
                    return Task.FromException<TransportListener>(new TransportException($"memory: listen on {address} failed: the address is in use"));
                }
                var bound = Multiaddr.Parse($"/memory/{id}");
                _ = queue.WatchCompletionAsync().ContinueWith(_ => Listeners.TryRemove(new KeyValuePair<ulong, ISourceQueueWithComplete<InboundConnection>>(id, queue)), TaskScheduler.Default);
                return Task.FromResult(new TransportListener(bound, () =>
                {
                    Listeners.TryRemove(new KeyValuePair<ulong, ISourceQueueWithComplete<InboundConnection>>(id, queue));
                    queue.Complete();
                    return Task.CompletedTask;
                }));
            });
    }

    private static bool TryGetId(Multiaddr address, out ulong id)
    {
        id = 0;
        return address.Components.Count == 1
            && address.Components[0].Protocol.Name == "memory"
            && ulong.TryParse(address.Components[0].Value, NumberStyles.None, CultureInfo.InvariantCulture, out id);
    }

    /// <summary>One direction of a connection: bounded, so a reader that stops holds the writer back.</summary>
    private static Channel<ByteString> NewChannel() =>
        Channel.CreateBounded<ByteString>(new BoundedChannelOptions(PipeCapacity) { SingleReader = true, SingleWriter = true });
}
