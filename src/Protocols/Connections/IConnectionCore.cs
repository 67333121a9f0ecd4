using System.Buffers;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Peer;

namespace Libp2p.Protocols.Connections;

/// <summary>
/// A whole libp2p connection as a sans-IO state machine: raw transport bytes in and out, the
/// upgrade (multistream-select, security, multistream-select, muxer) and then the muxer session.
/// Before the upgrade completes, stream commands are refused; <see cref="Upgrade"/> turns non-null
/// when it completes, and a failed upgrade is reported as <see cref="MuxerEvent.SessionFailed"/>.
/// </summary>
public interface IConnectionCore : IMuxerSession
{
    /// <summary>Queues what this side says first (the dialer's multistream header and proposal).</summary>
    void Start();

    /// <summary>
    /// Moves queued output into <paramref name="output"/> until at least <paramref name="limit"/>
    /// bytes are written (or nothing is left), so the transport gets writes of a bounded size.
    /// </summary>
    void DrainOutput(IBufferWriter<byte> output, int limit);

    /// <summary>What the upgrade settled, once it has.</summary>
    ConnectionUpgrade? Upgrade { get; }
}

/// <summary>The outcome of a connection upgrade: who is on the other side and how we talk to them.</summary>
/// <param name="RemotePeer">The peer authenticated by the security handshake.</param>
/// <param name="RemotePublicKey">Its identity key.</param>
/// <param name="Security">The security protocol, e.g. <c>/noise</c>.</param>
/// <param name="Muxer">The muxer protocol, e.g. <c>/yamux/1.0.0</c>.</param>
public sealed record ConnectionUpgrade(PeerId RemotePeer, PublicKey RemotePublicKey, string Security, string Muxer);
