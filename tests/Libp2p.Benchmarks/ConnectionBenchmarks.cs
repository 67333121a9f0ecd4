using System.Threading.Channels;
using Akka.Actor;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using BenchmarkDotNet.Attributes;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;

namespace Libp2p.Benchmarks;

/// <summary>
/// 16 MiB over one yamux stream of an upgraded connection pair on the in-memory transport (Noise,
/// yamux, the connection stages, the stream's stages or its <see cref="System.IO.Stream"/> adapter):
/// what the byte path allocates per MiB moved, both ends together. The writer's chunks are made
/// once; a reader of the stream's source gets chunks it owns (each one an array the library cannot
/// take back), a reader of the adapter copies into its own buffer.
/// </summary>
/// <remarks>
/// Run: <c>dotnet run -c Release --project tests/Libp2p.Benchmarks -- --filter '*ConnectionBenchmarks*'</c>.
/// Allocated / 16 is the figure per MiB moved (docs/benchmarks.md).
/// </remarks>
[MemoryDiagnoser]
[InProcess]
public class ConnectionBenchmarks
{
    private const int Total = 16 * 1024 * 1024;
    private const int Chunk = 64 * 1024;

    private readonly byte[] _chunk = new byte[Chunk];
    private readonly byte[] _readBuffer = new byte[Chunk];
    private readonly Channel<long> _received = Channel.CreateUnbounded<long>();
    private ByteString[] _chunks = [];
    private ActorSystem _system = null!;
    private IMaterializer _materializer = null!;
    private MuxedConnection _dialer = null!;
    private TransportListener _listener = null!;
    private bool _readWithAdapter;

    /// <summary>How the listening side reads: the stream's source (chunks it keeps) or its Stream adapter.</summary>
    [Params("source", "stream")]
    public string Reader { get; set; } = "source";

    [GlobalSetup]
    public void Setup()
    {
        _readWithAdapter = Reader == "stream";
        Random.Shared.NextBytes(_chunk);
        _chunks = Enumerable.Range(0, Total / Chunk).Select(_ => ByteString.FromBytes(_chunk)).ToArray();
        _system = ActorSystem.Create("bench", "akka.loglevel = WARNING");
        _materializer = _system.Materializer();
        var listenerKey = PrivateKey.Generate(KeyType.Ed25519);
        var accepted = Channel.CreateUnbounded<MuxedConnection>();
        _listener = Upgrader.Listen(_system, _materializer, MemoryTransport.Instance, Multiaddr.Parse("/memory/0"),
            new UpgradeSettings(listenerKey), (connection, _) => accepted.Writer.TryWrite(connection)).GetAwaiter().GetResult();
        var dial = Upgrader.Dial(_system, _materializer, MemoryTransport.Instance, _listener.Address,
            new UpgradeSettings(PrivateKey.Generate(KeyType.Ed25519)), PeerId.FromPublicKey(listenerKey.PublicKey));
        _dialer = dial.Connection;
        var listening = accepted.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        _dialer.Upgraded.GetAwaiter().GetResult();
        _ = Task.Run(async () =>
        {
            await foreach (var stream in listening.InboundStreams.ReadAllAsync())
                _received.Writer.TryWrite(_readWithAdapter ? await ReadAll(stream) : await Drain(stream));
        });
    }

    private Task<long> Drain(MuxedStream stream) =>
        stream.Source.RunAggregate(0L, (n, bytes) => n + bytes.Count, _materializer);

    private async Task<long> ReadAll(MuxedStream stream)
    {
        await using var io = stream.AsStream();
        long total = 0;
        int read;
        while ((read = await io.ReadAsync(_readBuffer)) > 0)
            total += read;
        return total;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _dialer.Close();
        _listener.UnbindAsync().GetAwaiter().GetResult();
        _system.Terminate().GetAwaiter().GetResult();
    }

    /// <summary>16 MiB written through the stream's sink in 64 KiB chunks.</summary>
    [Benchmark]
    public async Task<long> SixteenMiBThroughTheSink()
    {
        var stream = await _dialer.OpenStreamAsync();
        Source.From(_chunks).RunWith(stream.Sink, _materializer);
        return await Received();
    }

    /// <summary>16 MiB written through the stream's <see cref="System.IO.Stream"/> adapter in 64 KiB writes.</summary>
    [Benchmark]
    public async Task<long> SixteenMiBThroughTheAdapter()
    {
        var stream = await _dialer.OpenStreamAsync();
        await using (var io = stream.AsStream())
        {
            for (var sent = 0; sent < Total; sent += Chunk)
                await io.WriteAsync(_chunk);
        }
        return await Received();
    }

    /// <summary>
    /// A stream opened, its sink graph run with nothing to write, and closed: what each transfer
    /// above spends before its first byte (the stream, its two ends, the writer's graph). Not a
    /// benchmark of its own (the streams it leaves half open would pile up over BenchmarkDotNet's
    /// many invocations); <see cref="AllocationProbe"/> measures it beside the transfers.
    /// </summary>
    internal async Task<long> NothingThroughTheSink()
    {
        var stream = await _dialer.OpenStreamAsync();
        Source.Empty<ByteString>().RunWith(stream.Sink, _materializer);
        return await Received(0);
    }

    private async Task<long> Received(long expected = Total)
    {
        var received = await _received.Reader.ReadAsync();
        return received == expected ? received : throw new InvalidOperationException($"received {received} bytes, not {expected}");
    }
}
