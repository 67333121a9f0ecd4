using System.Buffers;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Multistream;

/// <summary>
/// multistream-select over a plain <see cref="Stream"/>, for code that is not a graph stage (the
/// stream adapter of a muxed stream, tools, tests). It drives a <see cref="MultistreamInitiator"/>
/// or <see cref="MultistreamResponder"/> one message at a time.
/// </summary>
/// <remarks>
/// A <see cref="Stream"/> cannot hand back bytes read too far, so nothing past the negotiation is
/// read: each message is read as its length prefix byte by byte (at most 2 bytes, the most a legal
/// length needs), then exactly the announced length. Whatever the remote pipelined after its last
/// message stays in the stream for the application. Answers are written and flushed before each read,
/// which may split the responder's header and first answer into two writes; the sans-IO state
/// machines, fed whole chunks, keep them together.
/// </remarks>
public static class MultistreamSelect
{
    /// <summary>Proposes <paramref name="protocols"/> in order and returns the one the remote accepted.</summary>
    /// <exception cref="MultistreamException">The remote accepted none, or broke the protocol.</exception>
    /// <exception cref="EndOfStreamException">The stream ended mid-negotiation.</exception>
    public static Task<string> SelectOneOfAsync(Stream stream, IReadOnlyList<string> protocols, CancellationToken cancellationToken = default) =>
        RunAsync(stream, new MultistreamInitiator(protocols), cancellationToken);

    /// <summary>Answers the remote's proposals and returns the first one in <paramref name="supported"/>.</summary>
    /// <exception cref="MultistreamException">The remote broke the protocol or made too many proposals.</exception>
    /// <exception cref="EndOfStreamException">The stream ended mid-negotiation (for example the remote gave up after a <c>na</c>).</exception>
    public static Task<string> HandleAsync(Stream stream, IReadOnlyCollection<string> supported, CancellationToken cancellationToken = default) =>
        RunAsync(stream, new MultistreamResponder(supported), cancellationToken);

    /// <summary>Runs <paramref name="negotiator"/> (not yet started) over <paramref name="stream"/> and returns the agreed protocol.</summary>
    /// <exception cref="MultistreamException">The negotiation failed.</exception>
    /// <exception cref="EndOfStreamException">The stream ended mid-negotiation.</exception>
    public static async Task<string> RunAsync(Stream stream, MultistreamNegotiator negotiator, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(negotiator);
        var output = new ArrayBufferWriter<byte>(128);
        negotiator.Start(output);
        var message = ArrayPool<byte>.Shared.Rent(2 + MultistreamMessage.MaxLength);
        try
        {
            while (negotiator.State == NegotiationState.Negotiating)
            {
                await FlushAsync(stream, output, cancellationToken).ConfigureAwait(false);
                var length = await ReadMessageAsync(stream, message, cancellationToken).ConfigureAwait(false);
                negotiator.Receive(message.AsSpan(0, length), output);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(message);
        }
        // The responder's echo (or a last na) still has to go out.
        await FlushAsync(stream, output, cancellationToken).ConfigureAwait(false);
        return negotiator.State == NegotiationState.Done ? negotiator.Protocol! : throw negotiator.Error!;
    }

    private static async Task FlushAsync(Stream stream, ArrayBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        if (output.WrittenCount == 0)
            return;
        await stream.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        output.ResetWrittenCount();
    }

    /// <summary>Reads one frame into <paramref name="buffer"/>, or just its bad prefix, and returns its length.</summary>
    private static async Task<int> ReadMessageAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var prefix = 0;
        while (true)
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(prefix, 1), cancellationToken).ConfigureAwait(false);
            prefix++;
            var status = Varint.TryRead(buffer.AsSpan(0, prefix), out var length, out _);
            if (status == OperationStatus.Done && length <= MultistreamMessage.MaxLength)
            {
                await stream.ReadExactlyAsync(buffer.AsMemory(prefix, (int)length), cancellationToken).ConfigureAwait(false);
                return prefix + (int)length;
            }
            // A bad prefix goes to the negotiator as it is: it fails with the precise reason.
            if (status != OperationStatus.NeedMoreData || prefix == 2)
                return prefix;
        }
    }
}
