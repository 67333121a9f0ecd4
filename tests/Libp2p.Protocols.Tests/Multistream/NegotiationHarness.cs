using System.Buffers;
using Libp2p.Protocols.Multistream;

namespace Libp2p.Protocols.Tests.Multistream;

/// <summary>How a transmission is cut into the chunks the receiver sees: chunk lengths for a given total.</summary>
internal delegate IEnumerable<int> Chunker(int length);

/// <summary>Drives sans-IO negotiators the way a transport would, with the cuts chosen by the test.</summary>
internal static class NegotiationHarness
{
    public static readonly Chunker Whole = length => [length];

    public static readonly Chunker ByteByByte = length => Enumerable.Repeat(1, length);

    /// <summary>Chunks of <paramref name="size"/> bytes, the last one shorter.</summary>
    public static Chunker InChunksOf(int size) => length =>
    {
        var chunks = new List<int>();
        for (var offset = 0; offset < length; offset += size)
            chunks.Add(Math.Min(size, length - offset));
        return chunks;
    };

    /// <summary>Two chunks, cut at <paramref name="at"/> (clamped into the transmission).</summary>
    public static Chunker CutAt(int at) => length => at <= 0 || at >= length ? [length] : [at, length - at];

    /// <summary>Cuts at the given offsets (sorted, clamped, duplicates ignored).</summary>
    public static Chunker CutAtAll(IReadOnlyList<int> offsets) => length =>
    {
        var chunks = new List<int>();
        var last = 0;
        foreach (var cut in offsets.Where(c => c > 0 && c < length).Distinct().Order())
        {
            chunks.Add(cut - last);
            last = cut;
        }
        chunks.Add(length - last);
        return chunks;
    };

    public static byte[] Frame(params string[] messages)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var m in messages)
            MultistreamMessage.Write(output, m);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>What one side did with a transmission: its answers and the bytes it left to the application.</summary>
    public sealed record Fed(byte[] Output, byte[] Leftover);

    /// <summary>Feeds <paramref name="bytes"/> in the chunks <paramref name="chunker"/> picks, checking the returned counts.</summary>
    public static Fed Feed(MultistreamNegotiator negotiator, ReadOnlySpan<byte> bytes, Chunker chunker)
    {
        var output = new ArrayBufferWriter<byte>();
        var leftover = new List<byte>();
        var offset = 0;
        foreach (var size in chunker(bytes.Length))
        {
            var chunk = bytes.Slice(offset, size);
            offset += size;
            var wasNegotiating = negotiator.State == NegotiationState.Negotiating;
            var used = negotiator.Receive(chunk, output);
            Assert.InRange(used, 0, chunk.Length);
            if (negotiator.State == NegotiationState.Done)
                leftover.AddRange(chunk[used..]);
            else
                Assert.Equal(wasNegotiating ? chunk.Length : 0, used);
        }
        Assert.Equal(bytes.Length, offset);
        return new Fed(output.WrittenSpan.ToArray(), [.. leftover]);
    }

    /// <summary>The outcome of a whole conversation.</summary>
    public sealed record Conversation(
        MultistreamInitiator Initiator,
        MultistreamResponder Responder,
        byte[] InitiatorLeftover,
        byte[] ResponderLeftover,
        List<byte[]> InitiatorSent,
        List<byte[]> ResponderSent);

    /// <summary>
    /// Runs both sides until neither has anything to say. Each side's application data goes out
    /// right behind its negotiation bytes once it may write (a lazy initiator: right after Start;
    /// a responder: with its echo), as a peer pipelining data would send it.
    /// </summary>
    public static Conversation Converse(
        MultistreamInitiator initiator,
        MultistreamResponder responder,
        Chunker chunker,
        byte[]? initiatorData = null,
        byte[]? responderData = null)
    {
        var initiatorSent = new List<byte[]>();
        var responderSent = new List<byte[]>();
        var initiatorLeftover = new List<byte>();
        var responderLeftover = new List<byte>();
        var start = new ArrayBufferWriter<byte>();
        initiator.Start(start);
        var toResponder = start.WrittenSpan.ToArray();
        var initiatorDataSent = false;
        var responderDataSent = false;
        if (initiator.MayWrite && initiatorData is not null)
        {
            toResponder = [.. toResponder, .. initiatorData];
            initiatorDataSent = true;
        }
        for (var round = 0; round < 100 && toResponder.Length > 0; round++)
        {
            initiatorSent.Add(toResponder);
            var atResponder = Feed(responder, toResponder, chunker);
            responderLeftover.AddRange(atResponder.Leftover);
            var toInitiator = atResponder.Output;
            if (responder.State == NegotiationState.Done && responderData is not null && !responderDataSent)
            {
                toInitiator = [.. toInitiator, .. responderData];
                responderDataSent = true;
            }
            if (toInitiator.Length == 0)
                break;
            responderSent.Add(toInitiator);
            var atInitiator = Feed(initiator, toInitiator, chunker);
            initiatorLeftover.AddRange(atInitiator.Leftover);
            toResponder = atInitiator.Output;
            if (initiator.MayWrite && initiatorData is not null && !initiatorDataSent)
            {
                toResponder = [.. toResponder, .. initiatorData];
                initiatorDataSent = true;
            }
        }
        return new Conversation(initiator, responder, [.. initiatorLeftover], [.. responderLeftover], initiatorSent, responderSent);
    }
}
