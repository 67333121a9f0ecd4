using System.Buffers;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Peer;

namespace Libp2p.Protocols.Tests.Connections;

/// <summary>
/// A connection core that is upgraded from the start, opens no stream and does nothing else: the
/// stage's tests derive from it and override only what they watch.
/// </summary>
internal abstract class UpgradedCoreStub(PublicKey remote) : IConnectionCore
{
    public string Protocol => "/fake/1.0.0";

    public bool IsClosed => false;

    public bool HasOutput => false;

    public bool InputPaused => false;

    public virtual bool HasPendingInput => false;

    public ConnectionUpgrade? Upgrade { get; } = new(PeerId.FromPublicKey(remote), remote, "/fake-security", "/fake/1.0.0");

    public virtual void SetWakeup(Action wake)
    {
    }

    public virtual void Poll(ICollection<MuxerEvent> events)
    {
    }

    public virtual void EndInput()
    {
    }

    public void Start()
    {
    }

    public virtual void Receive(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events)
    {
    }

    public void DrainOutput(IBufferWriter<byte> output, int limit)
    {
    }

    public long OpenStream() => throw new MuxerException("no streams here");

    public int Send(long streamId, ReadOnlySpan<byte> data) => 0;

    public void Consumed(long streamId, int bytes)
    {
    }

    public void CloseWrite(long streamId)
    {
    }

    public void CloseRead(long streamId)
    {
    }

    public void Reset(long streamId)
    {
    }

    public void ShedLaggards(ICollection<MuxerEvent> events)
    {
    }

    public virtual bool Ping() => false;

    public void Close()
    {
    }

    public void Dispose()
    {
    }
}
