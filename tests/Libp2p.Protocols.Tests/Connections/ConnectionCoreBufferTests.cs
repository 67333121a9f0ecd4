using System.Buffers;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Muxing;

namespace Libp2p.Protocols.Tests.Connections;

/// <summary>What a connection holds between reads: two cores back to back, without a socket.</summary>
public sealed class ConnectionCoreBufferTests : IDisposable
{
    private readonly PrivateKey _dialerKey = PrivateKey.Generate(KeyType.Ed25519);
    private readonly PrivateKey _listenerKey = PrivateKey.Generate(KeyType.Ed25519);

    private static void Pump(ConnectionCore from, ConnectionCore to, List<MuxerEvent> events, int chunk)
    {
        var output = new ArrayBufferWriter<byte>();
        from.DrainOutput(output, int.MaxValue);
        for (var i = 0; i < output.WrittenCount; i += chunk)
            to.Receive(output.WrittenSpan.Slice(i, Math.Min(chunk, output.WrittenCount - i)), events);
    }

    private static void PumpAll(ConnectionCore a, ConnectionCore b, List<MuxerEvent> aEvents, List<MuxerEvent> bEvents, int chunk)
    {
        for (var round = 0; round < 1000 && (a.HasOutput || b.HasOutput); round++)
        {
            Pump(a, b, bEvents, chunk);
            Pump(b, a, aEvents, chunk);
        }
    }

    [Theory]
    [InlineData("/yamux/1.0.0", 1000)]
    [InlineData("/yamux/1.0.0", int.MaxValue)]
    [InlineData("/mplex/6.7.0", 1000)]
    public void An_idle_connection_must_hold_no_scratch_buffers(string muxer, int chunk)
    {
        IReadOnlyList<MuxerFactory> muxers = muxer == MuxerFactory.Yamux.Protocol ? [MuxerFactory.Yamux] : [MuxerFactory.Mplex];
        var account = new Muxing.TestMemoryAccount(long.MaxValue);
        using var dialer = new ConnectionCore(true, _dialerKey, null, muxers);
        using var listener = new ConnectionCore(false, _listenerKey, null, muxers, account);
        List<MuxerEvent> dialerEvents = [], listenerEvents = [];
        dialer.Start();
        PumpAll(dialer, listener, dialerEvents, listenerEvents, chunk);
        Assert.NotNull(listener.Upgrade);

        var id = dialer.OpenStream();
        var data = new byte[300_000];
        Random.Shared.NextBytes(data);
        for (var sent = 0; sent < data.Length; )
        {
            sent += dialer.Send(id, data.AsSpan(sent));
            PumpAll(dialer, listener, dialerEvents, listenerEvents, chunk);
            foreach (var d in listenerEvents.OfType<MuxerEvent.Data>())
                listener.Consumed(d.StreamId, d.Length);
            PumpAll(dialer, listener, dialerEvents, listenerEvents, chunk);
        }

        Assert.Equal(data, listenerEvents.OfType<MuxerEvent.Data>().SelectMany(d => d.Payload.ToArray()).ToArray());
        Assert.Empty(listenerEvents.OfType<MuxerEvent.SessionFailed>());
        // Everything read and written: no plaintext, raw or kept-frame buffer stays rented, nothing stays charged.
        foreach (var core in new[] { dialer, listener })
        {
            Assert.Equal(0, core.ScratchBytes);
            Assert.Equal(0, core.Transport!.PartialBytes);
            Assert.Equal(0, ((MuxerSessionBase)core.Session!).PartialBytes);
        }
        Assert.Equal(0, account.Reserved);
    }

    [Fact]
    public void A_drained_batch_stays_within_the_limit_and_off_the_large_object_heap()
    {
        using var dialer = new ConnectionCore(true, _dialerKey, null, [MuxerFactory.Yamux]);
        using var listener = new ConnectionCore(false, _listenerKey, null, [MuxerFactory.Yamux]);
        List<MuxerEvent> dialerEvents = [], listenerEvents = [];
        dialer.Start();
        PumpAll(dialer, listener, dialerEvents, listenerEvents, int.MaxValue);
        // Full data frames with small ones between them: the batching that used to reach ~126 KB.
        var streams = Enumerable.Range(0, 4).Select(_ => dialer.OpenStream()).ToArray();
        var data = new byte[200_000];
        var sent = 0;
        foreach (var id in streams)
        {
            sent += dialer.Send(id, data.AsSpan(0, 100));
            sent += dialer.Send(id, data);
        }
        var batches = new List<int>();
        var received = new List<MuxerEvent>();
        while (dialer.HasOutput)
        {
            var output = new OutputBuffer();
            dialer.DrainOutput(output, Libp2p.Protocols.Transport.TransportBuffers.Size);
            var batch = output.Take();
            batches.Add(batch.Count);
            listener.Receive(batch.ToReadOnlySpan(), received);
        }
        Assert.True(batches.Count > 1);
        Assert.All(batches, size => Assert.InRange(size, 1, Libp2p.Protocols.Transport.TransportBuffers.Size));
        Assert.True(Libp2p.Protocols.Transport.TransportBuffers.Size < 85_000);
        Assert.Empty(received.OfType<MuxerEvent.SessionFailed>());
        Assert.Equal(streams.Length * 200_100, sent);
        Assert.Equal(sent, received.OfType<MuxerEvent.Data>().Sum(d => d.Length));
    }

    public void Dispose()
    {
        _dialerKey.Dispose();
        _listenerKey.Dispose();
    }
}
