using System.Buffers;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Multistream;

/// <summary>
/// multistream-select over a plain <see cref="Stream"/>, for code that is not a graph stage (the
/// stream adapter of a muxed stream, tests). It reads exactly one message at a time (the varint,
/// then exactly its length), so nothing after the negotiation is read from the stream.
/// </summary>
public static class MultistreamSelect
{
    /// <summary>Proposes <paramref name="protocols"/> in order and returns the one the remote accepted.</summary>
    /// <exception cref="MultistreamException">The remote accepted none, or broke the protocol.</exception>
    /// <exception cref="EndOfStreamException">The stream ended mid-negotiation.</exception>
    public static Task<string> SelectOneOfAsync(Stream stream, IReadOnlyList<string> protocols, CancellationToken cancellationToken = default) =>
        RunAsync(stream, MultistreamNegotiator.Initiator(protocols), cancellationToken);

    /// <summary>Answers the remote's proposals and returns the first one in <paramref name="supported"/>.</summary>
    /// <exception cref="MultistreamException">The remote proposed nothing supported before giving up, or broke the protocol.</exception>
    /// <exception cref="EndOfStreamException">The stream ended mid-negotiation (for example the remote gave up).</exception>
    public static Task<string> HandleAsync(Stream stream, IReadOnlyCollection<string> supported, CancellationToken cancellationToken = default) =>
        RunAsync(stream, MultistreamNegotiator.Responder(supported), cancellationToken);

    private static async Task<string> RunAsync(Stream stream, MultistreamNegotiator negotiator, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var output = new ArrayBufferWriter<byte>(128);
        negotiator.Start(output);
        var message = new byte[Varint.MaxLength + MultistreamMessage.MaxLength];
        while (negotiator.State == NegotiationState.Negotiating)
        {
            await FlushAsync(stream, output, cancellationToken).ConfigureAwait(false);
            var length = await ReadMessageAsync(stream, message, cancellationToken).ConfigureAwait(false);
            negotiator.Receive(message.AsSpan(0, length), output);
        }
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

    private static async Task<int> ReadMessageAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var prefix = 0;
        while (true)
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(prefix, 1), cancellationToken).ConfigureAwait(false);
            prefix++;
            var status = Varint.TryRead(buffer.AsSpan(0, prefix), out var length, out _);
            if (status == OperationStatus.NeedMoreData)
                continue;
            if (status == OperationStatus.InvalidData || length > MultistreamMessage.MaxLength)
                // Hand the bad prefix to the negotiator: it fails with the precise reason.
                return prefix;
            await stream.ReadExactlyAsync(buffer.AsMemory(prefix, (int)length), cancellationToken).ConfigureAwait(false);
            return prefix + (int)length;
        }
    }
}
