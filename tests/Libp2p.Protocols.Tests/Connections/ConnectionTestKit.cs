using System.Threading.Channels;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Connections;

/// <summary>Two upgraded endpoints in one actor system: a listener and a dialer over a real transport.</summary>
public abstract class ConnectionTestKit : Akka.TestKit.Xunit2.TestKit
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    protected ConnectionTestKit() : this("")
    {
    }

    /// <summary>With <paramref name="config"/> (HOCON) on top of the kit's own.</summary>
    protected ConnectionTestKit(string config) : base(config + "\nakka.loglevel = WARNING") => Materializer = Sys.Materializer();

    protected IMaterializer Materializer { get; }

    /// <summary>A TCP engine by name: <c>tcp</c> (Akka.IO) or <c>socket</c> (our own stages).</summary>
    protected static ITransport Tcp(string engine) => engine switch
    {
        "tcp" => TcpTransport.Instance,
        "socket" => SocketTransport.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(engine), engine, "not a TCP engine"),
    };

    protected PrivateKey ListenerKey { get; } = PrivateKey.Generate(KeyType.Ed25519);

    protected PrivateKey DialerKey { get; } = PrivateKey.Generate(KeyType.Ed25519);

    protected sealed record Pair(MuxedConnection Dialer, MuxedConnection Listener, TransportListener Bound);

    protected async Task<Pair> ConnectAsync(ITransport transport, string listenOn, IReadOnlyList<MuxerFactory>? muxers = null, IReadOnlyList<MuxerFactory>? listenerMuxers = null, ConnectionStageSettings? listenerStage = null,
        IReadOnlyList<string>? security = null, IReadOnlyList<string>? listenerSecurity = null)
    {
        var accepted = Channel.CreateUnbounded<MuxedConnection>();
        var bound = await Upgrader.Listen(Sys, Materializer, transport, Multiaddr.Parse(listenOn),
            new UpgradeSettings(ListenerKey, listenerMuxers ?? muxers, listenerStage, Security: listenerSecurity ?? security), (connection, _) => accepted.Writer.TryWrite(connection)).WaitAsync(Patience);
        var dial = Upgrader.Dial(Sys, Materializer, transport, bound.Address, new UpgradeSettings(DialerKey, muxers, Security: security), PeerId.FromPublicKey(ListenerKey.PublicKey));
        var listener = await accepted.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        await dial.Connection.Upgraded.WaitAsync(Patience);
        await listener.Upgraded.WaitAsync(Patience);
        return new Pair(dial.Connection, listener, bound);
    }

    /// <summary>Serves an echo on every inbound stream of <paramref name="connection"/>.</summary>
    protected void ServeEcho(MuxedConnection connection) => _ = Task.Run(async () =>
    {
        await foreach (var stream in connection.InboundStreams.ReadAllAsync())
            stream.Source.RunWith(stream.Sink, Materializer);
    });

    /// <summary>Sends <paramref name="data"/> on a new stream in 64 KiB writes, half-closes, and collects the answer.</summary>
    protected async Task<byte[]> EchoAsync(MuxedConnection connection, byte[] data)
    {
        var stream = await connection.OpenStreamAsync().WaitAsync(Patience);
        var received = stream.Source.RunAggregate(new MemoryStream(), (ms, bytes) =>
        {
            ms.Write(bytes.ToReadOnlySpan());
            return ms;
        }, Materializer);
        Source.From(Chunks(data, 64 * 1024)).RunWith(stream.Sink, Materializer);
        return (await received.WaitAsync(Patience)).ToArray();
    }

    protected static IEnumerable<ByteString> Chunks(byte[] data, int size)
    {
        for (var i = 0; i < data.Length; i += size)
            yield return ByteString.FromBytes(data, i, Math.Min(size, data.Length - i));
    }

    protected static byte[] RandomBytes(int length)
    {
        var data = new byte[length];
        Random.Shared.NextBytes(data);
        return data;
    }

    protected override void Dispose(bool disposing)
    {
        ListenerKey.Dispose();
        DialerKey.Dispose();
        base.Dispose(disposing);
    }
}
