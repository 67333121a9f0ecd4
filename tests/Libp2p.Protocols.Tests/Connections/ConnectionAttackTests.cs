using System.Buffers;
using Akka.IO;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Muxing.Yamux;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Connections;

/// <summary>An attacker built on the sans-IO core, against a listener's connection stage over the in-memory transport.</summary>
public sealed class ConnectionAttackTests : ConnectionTestKit
{
    [Fact]
    public async Task A_peer_that_floods_pings_and_never_reads_must_be_cut_off()
    {
        var accepted = new TaskCompletionSource<MuxedConnection>();
        var stage = ConnectionStageSettings.Default with { CloseFlushTimeout = TimeSpan.FromMilliseconds(300) };
        var bound = await Upgrader.Listen(Sys, Materializer, MemoryTransport.Instance, Multiaddr.Parse("/memory/0"),
            new UpgradeSettings(ListenerKey, [MuxerFactory.Yamux], stage), (c, _) => accepted.TrySetResult(c)).WaitAsync(Patience);
        var (send, receive) = this.SourceProbe<ByteString>()
            .ViaMaterialized(MemoryTransport.Instance.Dial(Sys, bound.Address, Patience), Keep.Left)
            .ToMaterialized(this.SinkProbe<ByteString>(), Keep.Both)
            .Run(Materializer);

        // The attacker upgrades like any dialer, reading only as long as the upgrade needs.
        using var attacker = new ConnectionCore(true, DialerKey, null, [MuxerFactory.Yamux]);
        var events = new List<MuxerEvent>();
        attacker.Start();
        while (attacker.Upgrade is null)
        {
            if (attacker.HasOutput)
                send.SendNext(Drain(attacker));
            receive.Request(1);
            attacker.Receive(receive.ExpectNext(Patience).ToReadOnlySpan(), events);
        }
        if (attacker.HasOutput)
            send.SendNext(Drain(attacker));
        var listener = await accepted.Task.WaitAsync(Patience);
        await listener.Upgraded.WaitAsync(Patience);

        // Then it sends pings, 100 a message, and never reads another byte.
        var pings = new ArrayBufferWriter<byte>();
        var plain = new byte[100 * YamuxFrameHeader.Size];
        for (var i = 0; i < 100; i++)
            new YamuxFrameHeader(YamuxFrameType.Ping, YamuxFlags.Syn, 0, (uint)i).Write(plain.AsSpan(i * YamuxFrameHeader.Size));
        for (var sent = 0; sent < 1000; sent++)
        {
            if (send.Pending == 0)
            {
                try
                {
                    send.ExpectRequest();
                }
                catch (Exception)
                {
                    break; // The listener stopped reading: it gave up on this peer.
                }
            }
            pings.ResetWrittenCount();
            attacker.Transport!.Encrypt(plain, pings);
            send.SendNext(ByteString.FromBytes(pings.WrittenSpan.ToArray()));
        }

        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => listener.Completion.WaitAsync(Patience));
        Assert.Equal("connection failed: yamux: the remote sent 257 pings without reading the answers", error.Message);
    }

    private static ByteString Drain(ConnectionCore core)
    {
        var output = new ArrayBufferWriter<byte>();
        core.DrainOutput(output, int.MaxValue);
        return ByteString.FromBytes(output.WrittenSpan.ToArray());
    }
}
