using System.Buffers;
using Libp2p.Protocols.Muxing;

namespace Libp2p.Protocols.Tests.Muxing;

/// <summary>Two sans-IO sessions wired back to back, delivering each side's output in chunks.</summary>
internal sealed class MuxerPair(IMuxerSession client, IMuxerSession server, int chunk = int.MaxValue)
{
    public IMuxerSession Client { get; } = client;
    public IMuxerSession Server { get; } = server;
    public List<MuxerEvent> ClientEvents { get; } = [];
    public List<MuxerEvent> ServerEvents { get; } = [];

    /// <summary>Moves bytes both ways until both sides are quiet.</summary>
    public void Pump()
    {
        for (var round = 0; round < 10_000 && (Client.HasOutput || Server.HasOutput); round++)
        {
            Move(Client, Server, ServerEvents);
            Move(Server, Client, ClientEvents);
        }
    }

    private void Move(IMuxerSession from, IMuxerSession to, List<MuxerEvent> events)
    {
        var output = new ArrayBufferWriter<byte>();
        from.DrainOutput(output);
        var bytes = output.WrittenSpan;
        for (var i = 0; i < bytes.Length; i += chunk)
            to.Receive(bytes.Slice(i, Math.Min(chunk, bytes.Length - i)), events);
    }

    public byte[] DataFor(List<MuxerEvent> events, long stream) =>
        events.OfType<MuxerEvent.Data>().Where(d => d.StreamId == stream).SelectMany(d => d.Payload.ToArray()).ToArray();
}
