using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Akka;
using Akka.Actor;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Multistream;
using Libp2p.Protocols.Noise;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tests.Interop;
using Libp2p.Protocols.Transport;

namespace Libp2p.Scenarios;

/// <summary>The measured scenarios. Throughputs are MiB/s from the first write to the last byte read.</summary>
internal sealed class Scenarios(ActorSystem system, IMaterializer materializer)
{
    private const int Chunk = 64 * 1024;
    private const string Perf = "/perf/1.0.0";
    private const string Echo = "/echo/1.0.0";
    private static readonly ByteString Block = ByteString.FromBytes(new byte[Chunk]);
    private readonly PrivateKey _listenerKey = PrivateKey.Generate(KeyType.Ed25519);
    private readonly PrivateKey _dialerKey = PrivateKey.Generate(KeyType.Ed25519);

    private static double MiBps(long bytes, TimeSpan elapsed) => bytes / 1024.0 / 1024.0 / elapsed.TotalSeconds;

    private static Source<ByteString, NotUsed> Blocks(long bytes) => Source.Repeat(Block).Take(bytes / Chunk);

    /// <summary>
    /// A reader that drops what it reads, as an application's reader would once done with it.
    /// Not <c>Sink.Ignore</c>: Akka.NET's pulls again without grabbing, so the element it was
    /// pushed stays referenced from the graph until the next one arrives. 100 such readers kept
    /// 100 chunks alive at any moment, up to 256 KiB each; every collection of the youngest
    /// generation promoted them (80 collections of generation 1 in a 1 GiB run instead of 3 to 8),
    /// which measured Akka.NET's sink, not the streams (docs/upstream/akka-net-sink-ignore-keeps-last-element.md).
    /// </summary>
    private static Sink<ByteString, Task<Done>> Discard() => Sink.ForEach<ByteString>(static _ => { });

    public async Task WarmUpAsync()
    {
        // Long enough for the JIT's second pass (tiered compilation with profile-guided
        // optimisation) to reach the byte path: on 2 cores that takes a few hundred MiB, and a
        // short warm-up measured the first minutes of a node, not its steady state.
        for (var i = 0; i < 4; i++)
        {
            await Libp2pAsync(128L * 1024 * 1024, upload: i % 2 == 0, SocketTransport.Instance);
            await Libp2pAsync(32L * 1024 * 1024, upload: i % 2 == 0);
        }
        await AkkaTcpAsync(16L * 1024 * 1024, upload: true);
    }

    public async Task<double> SocketAsync(long bytes, bool upload)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        using var server = await listener.AcceptAsync();
        var (sender, receiver) = upload ? (client, server) : (server, client);
        var watch = Stopwatch.StartNew();
        var receiving = Task.Run(async () =>
        {
            var buffer = new byte[Chunk];
            long total = 0;
            while (total < bytes)
                total += await receiver.ReceiveAsync(buffer, SocketFlags.None);
        });
        var block = new byte[Chunk];
        for (long sent = 0; sent < bytes; sent += Chunk)
            await sender.SendAsync(block, SocketFlags.None);
        await receiving;
        return MiBps(bytes, watch.Elapsed);
    }

    /// <summary>
    /// The Socket pair with Noise's transport on it (ChaCha20-Poly1305, the same framing and cipher
    /// as ours, 64 KiB writes sealed as 65,519-byte messages): no muxer, no stages, no actors. It is
    /// the ceiling of any Noise connection on this machine, and says how much of the gap to the
    /// plain pair is the cipher's.
    /// </summary>
    public async Task<double> NoiseSocketAsync(long bytes, bool upload)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync(listener.LocalEndPoint!);
        using var server = await listener.AcceptAsync();
        server.NoDelay = true;
        var (sender, receiver) = upload ? (client, server) : (server, client);
        using var sealing = NoiseSession(NoiseKey);
        using var opening = NoiseSession(NoiseKey);
        var watch = Stopwatch.StartNew();
        var receiving = Task.Run(async () =>
        {
            var buffer = new byte[80 * 1024];
            var plaintext = new ArrayBufferWriter<byte>(NoiseTransport.MaxPlaintextLength);
            long total = 0;
            while (total < bytes)
            {
                var read = await receiver.ReceiveAsync(buffer, SocketFlags.None);
                for (var at = 0; at < read;)
                {
                    at += opening.DecryptNext(buffer.AsSpan(at, read - at), plaintext);
                    total += plaintext.WrittenCount;
                    plaintext.ResetWrittenCount();
                }
            }
        });
        var block = new byte[Chunk];
        var sealedBlock = new ArrayBufferWriter<byte>(Chunk + 64);
        for (long sent = 0; sent < bytes; sent += Chunk)
        {
            sealedBlock.ResetWrittenCount();
            sealing.EncryptAll(block, sealedBlock);
            await sender.SendAsync(sealedBlock.WrittenMemory, SocketFlags.None);
        }
        await receiving;
        return MiBps(bytes, watch.Elapsed);
    }

    /// <param name="bytes">What to move.</param>
    /// <param name="upload">From the dialer to the listener, or back.</param>
    /// <param name="noise">
    /// Seal each write with Noise's transport (ChaCha20-Poly1305, the same framing as ours) and open
    /// it on arrival, in the sending and receiving graphs: the ceiling of an encrypted stack on
    /// Akka.Streams TCP, as the Socket pair with Noise is for the socket engine.
    /// </param>
    public async Task<double> AkkaTcpAsync(long bytes, bool upload, bool noise = false)
    {
        var done = new TaskCompletionSource();
        var received = 0L;
        var blocks = noise ? Blocks(bytes).Via(Sealing()) : Blocks(bytes);
        var counting = Sink.ForEach<ByteString>(b => { if ((received += b.Count) >= bytes) done.TrySetResult(); });
        var receiving = noise ? Opening().ToMaterialized(counting, Keep.Right) : counting;
        // The server either swallows the upload or sends the download, as asked.
        var serverFlow = upload
            ? Flow.FromSinkAndSource(receiving.MapMaterializedValue(_ => NotUsed.Instance), Source.Never<ByteString>())
            : Flow.FromSinkAndSource(Sink.Ignore<ByteString>().MapMaterializedValue(_ => NotUsed.Instance), blocks.Concat(Source.Never<ByteString>()));
        var binding = await system.TcpStream().Bind("127.0.0.1", 0)
            .To(Sink.ForEach<Akka.Streams.Dsl.Tcp.IncomingConnection>(c => c.HandleWith(serverFlow, materializer)))
            .Run(materializer);
        var watch = Stopwatch.StartNew();
        var clientIn = upload ? blocks.Concat(Source.Never<ByteString>()) : Source.Never<ByteString>();
        var clientOut = upload ? Sink.Ignore<ByteString>() : receiving;
        var (kill, _) = clientIn.ViaMaterialized(KillSwitches.Single<ByteString>(), Keep.Right)
            .Via(system.TcpStream().OutgoingConnection(binding.LocalAddress))
            .ToMaterialized(clientOut, Keep.Both).Run(materializer);
        await done.Task;
        var elapsed = watch.Elapsed;
        kill.Shutdown();
        await binding.Unbind();
        return MiBps(bytes, elapsed);
    }

    private static NoiseTransport NoiseSession(byte[] key)
    {
        var (send, receive) = (new CipherState(), new CipherState());
        send.InitializeKey(key);
        receive.InitializeKey(key);
        return new NoiseTransport(send, receive);
    }

    private static readonly byte[] NoiseKey = RandomNumberGenerator.GetBytes(32);

    private static Flow<ByteString, ByteString, NotUsed> Sealing() =>
        Flow.Create<ByteString>().StatefulSelectMany<ByteString, ByteString, ByteString, NotUsed>(() =>
        {
            var session = NoiseSession(NoiseKey);
            return block =>
            {
                // A writer per block: its array goes on as it is, with no second copy (the
                // baseline does no work ours does not).
                var sealedBlock = new ArrayBufferWriter<byte>(block.Count + 64);
                session.EncryptAll(block.ToReadOnlySpan(), sealedBlock);
                return MemoryMarshal.TryGetArray(sealedBlock.WrittenMemory, out var written)
                    ? [ByteString.FromBytes(written)]
                    : [ByteString.FromBytes(sealedBlock.WrittenSpan.ToArray())];
            };
        });

    // What Opening hands on in place of the plaintext: more than one read can open (an Akka.IO read
    // is at most 128 KiB, plus a message begun in the read before).
    private static readonly byte[] OpenedBytes = new byte[256 * 1024];

    private static Flow<ByteString, ByteString, NotUsed> Opening() =>
        Flow.Create<ByteString>().StatefulSelectMany<ByteString, ByteString, ByteString, NotUsed>(() =>
        {
            var session = NoiseSession(NoiseKey);
            var plaintext = new ArrayBufferWriter<byte>(NoiseTransport.MaxPlaintextLength);
            return bytes =>
            {
                plaintext.ResetWrittenCount();
                session.Decrypt(bytes.ToReadOnlySpan(), plaintext);
                // Only the count goes on (downstream counts and keeps nothing): no copy
                // of the plaintext, which the stacks measured against it do not make either.
                return plaintext.WrittenCount == 0 ? [] : [ByteString.FromBytes(OpenedBytes, 0, plaintext.WrittenCount)];
            };
        });

    /// <param name="transport">The TCP engine: Akka.IO's (<see cref="TcpTransport"/>) unless given.</param>
    /// <param name="listen">Where to listen: TCP on loopback unless given (e.g. <c>…/ws</c> with a WebSocket transport).</param>
    /// <param name="security">The one security protocol to use; Noise unless given.</param>
    public async Task<double> Libp2pAsync(long bytes, bool upload, ITransport? transport = null, string listen = "/ip4/127.0.0.1/tcp/0", string? security = null)
    {
        transport ??= TcpTransport.Instance;
        var accepted = Channel.CreateUnbounded<MuxedConnection>();
        var bound = await Upgrader.Listen(system, materializer, transport, Multiaddr.Parse(listen),
            new UpgradeSettings(_listenerKey, Security: Only(security)), (c, _) => accepted.Writer.TryWrite(c));
        var dial = Upgrader.Dial(system, materializer, transport, bound.Address, new UpgradeSettings(_dialerKey, Security: Only(security)));
        var server = await accepted.Reader.ReadAsync();
        await dial.Connection.Upgraded;
        var stream = await dial.Connection.OpenStreamAsync();
        var watch = Stopwatch.StartNew();
        if (upload)
        {
            Blocks(bytes).RunWith(stream.Sink, materializer);
            var inbound = await server.InboundStreams.ReadAsync();
            await inbound.Source.RunWith(Discard(), materializer);
        }
        else
        {
            Source.Single(ByteString.FromBytes([1])).RunWith(stream.Sink, materializer);
            var inbound = await server.InboundStreams.ReadAsync();
            _ = inbound.Source.RunWith(Discard(), materializer);
            Blocks(bytes).RunWith(inbound.Sink, materializer);
            await stream.Source.RunWith(Discard(), materializer);
        }
        var elapsed = watch.Elapsed;
        dial.Connection.Close();
        await bound.UnbindAsync();
        return MiBps(bytes, elapsed);
    }

    /// <summary>
    /// <paramref name="streams"/> streams on one connection (socket engine, Noise, yamux), each
    /// uploading its share of <paramref name="bytes"/> at once: the aggregate rate, and Jain's
    /// fairness index over the streams' own rates (1 when all are equal, 1/n when one takes all).
    /// </summary>
    public async Task<(double Aggregate, double Fairness, double Slowest, double Fastest)> ConcurrentStreamsAsync(long bytes, int streams)
    {
        var accepted = Channel.CreateUnbounded<MuxedConnection>();
        var bound = await Upgrader.Listen(system, materializer, SocketTransport.Instance, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"),
            new UpgradeSettings(_listenerKey), (c, _) => accepted.Writer.TryWrite(c));
        var dial = Upgrader.Dial(system, materializer, SocketTransport.Instance, bound.Address, new UpgradeSettings(_dialerKey));
        var server = await accepted.Reader.ReadAsync();
        await dial.Connection.Upgraded;
        var each = bytes / streams / Chunk * Chunk;
        var opened = new MuxedStream[streams];
        for (var i = 0; i < streams; i++)
            opened[i] = await dial.Connection.OpenStreamAsync();
        var readers = Task.Run(async () =>
        {
            var done = new List<Task<TimeSpan>>();
            for (var i = 0; i < streams; i++)
            {
                var inbound = await server.InboundStreams.ReadAsync();
                var started = Stopwatch.GetTimestamp();
                done.Add(inbound.Source.RunWith(Discard(), materializer).ContinueWith(_ => Stopwatch.GetElapsedTime(started), TaskScheduler.Default));
            }
            return await Task.WhenAll(done);
        });
        var watch = Stopwatch.StartNew();
        foreach (var stream in opened)
            Blocks(each).RunWith(stream.Sink, materializer);
        var elapsed = await readers;
        var total = watch.Elapsed;
        dial.Connection.Close();
        await bound.UnbindAsync();
        var rates = elapsed.Select(e => MiBps(each, e)).ToArray();
        var fairness = Math.Pow(rates.Sum(), 2) / (rates.Length * rates.Sum(r => r * r));
        return (MiBps(each * streams, total), fairness, rates.Min(), rates.Max());
    }

    /// <summary>We upload to a js-libp2p perf server, then js uploads to our perf server.</summary>
    public async Task<(double Up, double Down)> WithJsAsync(long bytes)
    {
        await using var js = await JsPeer.ListenAsync("yamux");
        var address = Multiaddr.Parse(js.Address);
        var dial = Upgrader.Dial(system, materializer, TcpTransport.Instance, address.Decapsulate("p2p"), new UpgradeSettings(_dialerKey), PeerId.Parse(address.PeerIdText!));
        await dial.Connection.Upgraded;
        var stream = await dial.Connection.OpenStreamAsync();
        await using var io = stream.AsStream();
        await MultistreamSelect.SelectOneOfAsync(io, [Perf]);
        var header = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(header, 0);
        var watch = Stopwatch.StartNew();
        await io.WriteAsync(header);
        var block = new byte[Chunk];
        for (long sent = 0; sent < bytes; sent += Chunk)
            await io.WriteAsync(block);
        io.CloseWrite();
        await io.CopyToAsync(Stream.Null);
        var up = MiBps(bytes, watch.Elapsed);
        dial.Connection.Close();

        var bound = await Upgrader.Listen(system, materializer, TcpTransport.Instance, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"),
            new UpgradeSettings(_listenerKey), (c, _) => ServePerf(c));
        var (exit, output) = await JsPeer.DialAsync($"{bound.Address}/p2p/{PeerId.FromPublicKey(_listenerKey.PublicKey)}", "yamux",
            "perf", "--upload", bytes.ToString(CultureInfo.InvariantCulture), "--download", "0");
        await bound.UnbindAsync();
        return (up, exit == 0 ? MiBps(bytes, TimeSpan.FromSeconds(PerfSeconds(output, "upload"))) : double.NaN);
    }

    /// <summary>Two whole hosts (Swarm, actors, resource manager) running the /perf/1.0.0 service: what an app gets.</summary>
    public async Task<(double Up, double Down)> HostPerfAsync(long bytes)
    {
        Libp2p.Host.HostSettings Settings(PrivateKey key) => new(key) { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] };
        var server = await Libp2p.Host.Libp2pHost.StartAsync(system, Settings(_listenerKey), "perf-server");
        var client = await Libp2p.Host.Libp2pHost.StartAsync(system, Settings(_dialerKey) with { ListenAddresses = [] }, "perf-client");
        await client.ConnectAsync((await server.AddressesAsync())[0]);
        var up = await client.PerfAsync(server.PeerId, bytes, 0);
        var down = await client.PerfAsync(server.PeerId, 0, bytes);
        await client.StopAsync();
        await server.StopAsync();
        return (MiBps(bytes, up.UploadTime), MiBps(bytes, down.DownloadTime));
    }

    public async Task<(double Up, double Down)> JsToJsAsync(long bytes, string transport = "tcp")
    {
        await using var js = await JsPeer.ListenAsync("yamux", transport);
        var n = bytes.ToString(CultureInfo.InvariantCulture);
        var (_, output) = await JsPeer.DialAsync(js.Address, "yamux", "perf", "--upload", n, "--download", n);
        return (MiBps(bytes, TimeSpan.FromSeconds(PerfSeconds(output, "upload"))), MiBps(bytes, TimeSpan.FromSeconds(PerfSeconds(output, "download"))));
    }

    /// <param name="transport">Akka.IO's TCP (<see cref="TcpTransport"/>) unless given.</param>
    /// <param name="listen">Where to listen: TCP on loopback unless given (e.g. <c>…/ws</c> with a WebSocket transport).</param>
    /// <param name="security">The one security protocol to use; Noise unless given.</param>
    public async Task<(double P50, double P99)> ConnectionSetupAsync(int count, ITransport? transport = null, string listen = "/ip4/127.0.0.1/tcp/0", string? security = null)
    {
        transport ??= TcpTransport.Instance;
        var bound = await Upgrader.Listen(system, materializer, transport, Multiaddr.Parse(listen),
            new UpgradeSettings(_listenerKey, Security: Only(security)), (c, _) => ServeEcho(c));
        var times = new List<double>(count);
        var one = ByteString.FromBytes([1]);
        for (var i = 0; i < count; i++)
        {
            var watch = Stopwatch.StartNew();
            var dial = Upgrader.Dial(system, materializer, transport, bound.Address, new UpgradeSettings(_dialerKey, Security: Only(security)));
            var stream = await dial.Connection.OpenStreamAsync();
            var answer = stream.Source.RunWith(Sink.First<ByteString>(), materializer);
            Source.Single(one).Concat(Source.Never<ByteString>()).RunWith(stream.Sink, materializer);
            await answer;
            times.Add(watch.Elapsed.TotalMilliseconds);
            dial.Connection.Close();
        }
        await bound.UnbindAsync();
        times.Sort();
        return (times[count / 2], times[Math.Min(count - 1, count * 99 / 100)]);
    }

    /// <param name="transport">tcp or ws, for both js nodes.</param>
    /// <param name="security">noise or tls, for both js nodes.</param>
    public async Task<(double P50, double P99)> JsConnectionSetupAsync(int count, string transport = "tcp", string security = "noise")
    {
        await using var js = await JsPeer.ListenAsync("yamux", transport, security);
        var (_, output) = await JsPeer.DialAsync(js.Address, "yamux", "connect", "--count", count.ToString(CultureInfo.InvariantCulture), "--security", security);
        var parts = output.First(l => l.StartsWith("CONNECT", StringComparison.Ordinal)).Split(' ');
        return (double.Parse(parts[3], CultureInfo.InvariantCulture), double.Parse(parts[5], CultureInfo.InvariantCulture));
    }

    private static IReadOnlyList<string> Only(string? security) => [security ?? NoiseHandshake.ProtocolId];

    private void ServeEcho(MuxedConnection connection) => _ = Task.Run(async () =>
    {
        await foreach (var stream in connection.InboundStreams.ReadAllAsync())
            stream.Source.RunWith(stream.Sink, materializer);
    });

    /// <summary>The server side of /perf/1.0.0: read the 8-byte download size and the upload, then send the download.</summary>
    private void ServePerf(MuxedConnection connection) => _ = Task.Run(async () =>
    {
        await foreach (var stream in connection.InboundStreams.ReadAllAsync())
        {
            _ = Task.Run(async () =>
            {
                await using var io = stream.AsStream();
                await MultistreamSelect.HandleAsync(io, [Perf]);
                var header = new byte[8];
                await io.ReadExactlyAsync(header);
                await io.CopyToAsync(Stream.Null, Chunk);
                var download = (long)BinaryPrimitives.ReadUInt64BigEndian(header);
                var block = new byte[Chunk];
                for (long sent = 0; sent < download; sent += Chunk)
                    await io.WriteAsync(block.AsMemory(0, (int)Math.Min(Chunk, download - sent)));
            });
        }
    });

    private static double PerfSeconds(string[] output, string direction)
    {
        var parts = output.First(l => l.StartsWith("PERF", StringComparison.Ordinal)).Split(' ');
        return double.Parse(parts[Array.IndexOf(parts, direction) + 2], CultureInfo.InvariantCulture);
    }
}
