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
        // The pipes are made per materialization, so the flow can be run more than once.
        return Flow.Setup<ByteString, ByteString, Task<TransportConnection>>((_, _) =>
        {
            var local = Multiaddr.Parse($"/memory/{(ulong)Interlocked.Increment(ref _lastDialer) | 1UL << 62}");
            var remote = Multiaddr.Parse($"/memory/{id}");
            if (!Listeners.TryGetValue(id, out var listener))
            {
                var error = new TransportException($"memory: dial {address} failed: nothing listens there");
                return Flow.FromSinkAndSource<ByteString, ByteString, NotUsed>(Sink.Ignore<ByteString>().MapMaterializedValue(_ => NotUsed.Instance), Source.Failed<ByteString>(error))
                    .MapMaterializedValue(_ => Task.FromException<TransportConnection>(error));
            }
            var toListener = new Pipe();
            var toDialer = new Pipe();
            var inbound = new InboundConnection(new TransportConnection(remote, local), Flow.FromSinkAndSource<ByteString, ByteString, NotUsed>(toDialer.Sink, toListener.Source));
            var accepted = listener.OfferAsync(inbound).ContinueWith(
                t => t.IsCompletedSuccessfully && t.Result is QueueOfferResult.Enqueued
                    ? new TransportConnection(local, remote)
                    : throw new TransportException($"memory: dial {address} failed: the listener is closed"),
                TaskScheduler.Default);
            return Flow.FromSinkAndSource<ByteString, ByteString, NotUsed>(toListener.Sink, toDialer.Source).MapMaterializedValue(_ => accepted);
        }).MapMaterializedValue(t => t.Unwrap());
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

    /// <summary>
    /// One direction of a connection: a bounded channel between a sink and a source. When the
    /// reading side goes away the channel is failed, so the writer sees an error instead of
    /// blocking forever, as a TCP writer sees a reset.
    /// </summary>
    private sealed class Pipe
    {
        private readonly Channel<ByteString> _channel = Channel.CreateBounded<ByteString>(
            new BoundedChannelOptions(PipeCapacity) { SingleReader = true, SingleWriter = true });

        public Sink<ByteString, NotUsed> Sink => Flow.Create<ByteString>()
            .SelectAsync(1, async bytes =>
            {
                await _channel.Writer.WriteAsync(bytes).ConfigureAwait(false);
                return NotUsed.Instance;
            })
            .WatchTermination((_, done) =>
            {
                done.ContinueWith(t => _channel.Writer.TryComplete(t.Exception?.GetBaseException()), TaskScheduler.Default);
                return NotUsed.Instance;
            })
            .To(Akka.Streams.Dsl.Sink.Ignore<NotUsed>());

        public Source<ByteString, NotUsed> Source => Akka.Streams.Dsl.Source.From(() => _channel.Reader.ReadAllAsync())
            .WatchTermination((_, done) =>
            {
                done.ContinueWith(_ => _channel.Writer.TryComplete(new TransportException("memory: the connection was closed by the remote")), TaskScheduler.Default);
                return NotUsed.Instance;
            });
    }
}
