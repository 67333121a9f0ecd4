using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Identify;

namespace Libp2p.Protocols.Tests.Identify;

public sealed class IdentifyFramingTests
{
    [Fact]
    public void A_framed_message_must_be_its_varint_length_then_its_bytes()
    {
        var message = IdentifyMessageTests.HandBuilt();
        var body = message.ToBytes();
        var output = new ArrayBufferWriter<byte>();
        message.WriteDelimited(output);

        Assert.Equal([.. Varint.Encode((ulong)body.Length), .. body], output.WrittenSpan.ToArray());
        Assert.Equal(output.WrittenSpan.ToArray(), message.ToDelimitedBytes());
    }

    [Fact]
    public void Every_strict_prefix_of_a_frame_must_ask_for_more_bytes_and_the_whole_frame_must_read()
    {
        var message = IdentifyMessageTests.HandBuilt();
        var frame = message.ToDelimitedBytes();
        for (var length = 0; length < frame.Length; length++)
        {
            Assert.False(IdentifyMessage.TryReadDelimited(frame.AsSpan(0, length), out var none, out var consumed));
            Assert.Null(none);
            Assert.Equal(0, consumed);
        }
        Assert.True(IdentifyMessage.TryReadDelimited(frame, out var read, out var all));
        Assert.Equal(message, read);
        Assert.Equal(frame.Length, all);
    }

    [Fact]
    public void Two_frames_back_to_back_must_read_one_at_a_time()
    {
        var first = new IdentifyMessage { AgentVersion = "a" };
        var second = new IdentifyMessage { SignedPeerRecord = new byte[] { 1, 2, 3 } };
        byte[] stream = [.. first.ToDelimitedBytes(), .. second.ToDelimitedBytes()];

        Assert.True(IdentifyMessage.TryReadDelimited(stream, out var one, out var used));
        Assert.True(IdentifyMessage.TryReadDelimited(stream.AsSpan(used), out var two, out var usedToo));

        Assert.Equal(first, one);
        Assert.Equal(second, two);
        Assert.Equal(stream.Length, used + usedToo);
    }

    [Fact]
    public void An_empty_message_must_frame_as_a_single_zero()
    {
        Assert.Equal([0], new IdentifyMessage().ToDelimitedBytes());
        Assert.True(IdentifyMessage.TryReadDelimited([0, 0x2a], out var message, out var consumed));
        Assert.Equal(new IdentifyMessage(), message);
        Assert.Equal(1, consumed);
    }

    [Fact]
    public void A_length_over_the_default_limit_must_be_refused_before_the_body_arrives()
    {
        var error = Assert.Throws<FormatException>(() => IdentifyMessage.TryReadDelimited(Varint.Encode(8193), out _, out _));
        Assert.Equal("identify message: the length prefix says 8193 bytes, above the limit of 8192", error.Message);
        Assert.False(IdentifyMessage.TryReadDelimited(Varint.Encode(8192), out _, out _));
    }

    [Fact]
    public void The_limit_must_be_configurable()
    {
        var frame = IdentifyMessageTests.HandBuilt().ToDelimitedBytes();
        var size = frame.Length - 1;
        Assert.Throws<FormatException>(() => IdentifyMessage.TryReadDelimited(frame, size - 1, out _, out _));
        Assert.True(IdentifyMessage.TryReadDelimited(frame, size, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => IdentifyMessage.TryReadDelimited(frame, -1, out _, out _));
    }

    [Theory]
    [InlineData("8000", "not a valid varint")]
    [InlineData("ffffffffffffffffff", "not a valid varint")]
    [InlineData("0180", "identify message: While parsing a protocol message, the input ended unexpectedly")]
    public void A_bad_prefix_or_body_must_be_a_format_error(string hex, string reason)
    {
        var error = Assert.Throws<FormatException>(() => IdentifyMessage.TryReadDelimited(Convert.FromHexString(hex), out _, out _));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 200)]
    public Property A_frame_split_across_segments_must_read_as_it_does_in_one_piece() =>
        Prop.ForAll(IdentifyGen.Messages().ToArbitrary(), ArbMap.Default.ArbFor<byte[]>(), (message, cuts) =>
        {
            byte[] frame = [.. message.ToDelimitedBytes(), 0x99];
            var sequence = Segmented(frame, cuts);
            var whole = IdentifyMessage.TryReadDelimited(sequence, out var read, out var consumed);
            var partial = IdentifyMessage.TryReadDelimited(sequence.Slice(0, frame.Length - 2), out var none, out _);
            return whole && read == message && consumed == frame.Length - 1 && !partial && none is null;
        });

    [Fact]
    public void A_multi_segment_prefix_over_the_limit_must_be_refused()
    {
        var sequence = Segmented([.. Varint.Encode(100_000), 1, 2], [1, 1, 1]);
        Assert.Throws<FormatException>(() => IdentifyMessage.TryReadDelimited(sequence, out _, out _));
        Assert.False(IdentifyMessage.TryReadDelimited(Segmented([0x80], []).Slice(0, 1), out _, out _));
    }

    /// <summary>Cuts <paramref name="bytes"/> into segments whose lengths cycle through <paramref name="cuts"/>.</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] bytes, byte[] cuts)
    {
        Segment? first = null, last = null;
        var offset = 0;
        for (var i = 0; offset < bytes.Length; i++)
        {
            var length = Math.Min(bytes.Length - offset, cuts.Length == 0 ? bytes.Length : Math.Max(1, cuts[i % cuts.Length] % 7));
            var segment = new Segment(bytes.AsMemory(offset, length), last?.RunningIndex + last?.Memory.Length ?? 0);
            if (last is null)
                first = segment;
            else
                last.SetNext(segment);
            last = segment;
            offset += length;
        }
        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
