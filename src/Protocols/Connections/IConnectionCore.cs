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
public interface IConnectionCore : IDisposable
{
    /// <summary>The muxer protocol negotiated, e.g. <c>/yamux/1.0.0</c>; empty before the upgrade completes.</summary>
    string Protocol { get; }

    /// <summary>True once the upgrade or the muxer session has failed, or the session fully closed.</summary>
    bool IsClosed { get; }

    /// <summary>True when bytes are waiting to be written to the transport.</summary>
    bool HasOutput { get; }

    /// <summary>Whether the muxer wants no more input for now (see <see cref="IMuxerSession.InputPaused"/>).</summary>
    bool InputPaused { get; }

    /// <summary>What the upgrade settled, once it has.</summary>
    ConnectionUpgrade? Upgrade { get; }

    /// <summary>Queues what this side says first (the dialer's multistream header and proposal).</summary>
    void Start();

    /// <summary>
    /// Where a core that works off the owner's thread (TLS) signals progress; the owner then calls
    /// <see cref="Poll"/>. <paramref name="wake"/> may be called on any thread.
    /// </summary>
    void SetWakeup(Action wake)
    {
    }

    /// <summary>Takes in what work off the owner's thread produced since the last wake (TLS plaintext, a finished handshake).</summary>
    void Poll(ICollection<MuxerEvent> events)
    {
    }

    /// <summary>True while transport bytes already received are still being decrypted off the owner's thread.</summary>
    bool HasPendingInput => false;

    /// <summary>
    /// Transport bytes received and not yet handed to the muxer (TLS: ciphertext not yet decrypted
    /// and plaintext not yet taken). The owner reads on only with memory approved for them too.
    /// </summary>
    int BufferedInput => 0;

    /// <summary>The transport's input ended: whatever is still being decrypted is the last of it.</summary>
    void EndInput()
    {
    }

    /// <summary>
    /// Takes raw transport bytes (any split), advances the upgrade or hands the plaintext to the
    /// muxer, and appends what happened to <paramref name="events"/>; a violation appends
    /// <see cref="MuxerEvent.SessionFailed"/>, it does not throw.
    /// </summary>
    void Receive(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events);

    /// <summary>
    /// Moves queued output into <paramref name="output"/> as whole secure messages while they fit
    /// within <paramref name="limit"/> bytes (at least one, whatever its size), so the transport
    /// gets writes of a bounded size.
    /// </summary>
    void DrainOutput(IBufferWriter<byte> output, int limit);

    /// <summary>Where the muxer charges what it reads, when a refusal there costs (see <see cref="IMuxerSession.ChargesReads"/>); else null.</summary>
    IMemoryAccount? Memory => null;

    /// <summary>Opens an outbound stream; its opening frame is queued as output.</summary>
    /// <exception cref="MuxerException">Not upgraded yet, or the muxer refuses (closed, going away, at its stream limit).</exception>
    long OpenStream();

    /// <summary>Frames as much of <paramref name="data"/> as the stream's send window allows.</summary>
    /// <returns>How many bytes were taken; the caller keeps the rest until <see cref="MuxerEvent.SendWindowOpened"/>.</returns>
    int Send(long streamId, ReadOnlySpan<byte> data);

    /// <summary>The local reader took <paramref name="bytes"/> of the stream's inbound data: grant window back.</summary>
    void Consumed(long streamId, int bytes);

    /// <summary>Half-closes the stream: no more local writes, the remote reads end-of-stream.</summary>
    void CloseWrite(long streamId);

    /// <summary>Stops reading: further inbound data for the stream is discarded.</summary>
    void CloseRead(long streamId);

    /// <summary>Aborts the stream in both directions; the remote sees a reset.</summary>
    void Reset(long streamId);

    /// <summary>Resets every stream whose reader is still behind, so input can resume.</summary>
    void ShedLaggards(ICollection<MuxerEvent> events);

    /// <summary>Sends a liveness probe where the muxer has one; false if it has none or one is unanswered.</summary>
    bool Ping();

    /// <summary>Closes the session gracefully (yamux: go-away), resetting nothing already open.</summary>
    void Close();
}

/// <summary>The outcome of a connection upgrade: who is on the other side and how we talk to them.</summary>
/// <param name="RemotePeer">The peer authenticated by the security handshake.</param>
/// <param name="RemotePublicKey">Its identity key.</param>
/// <param name="Security">The security protocol, e.g. <c>/noise</c>.</param>
/// <param name="Muxer">The muxer protocol, e.g. <c>/yamux/1.0.0</c>.</param>
public sealed record ConnectionUpgrade(PeerId RemotePeer, PublicKey RemotePublicKey, string Security, string Muxer);
