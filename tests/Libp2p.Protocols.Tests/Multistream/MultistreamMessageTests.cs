using System.Buffers;
using FsCheck.Xunit;
using Libp2p.Protocols.Multistream;
using static Libp2p.Protocols.Tests.Multistream.NegotiationHarness;

namespace Libp2p.Protocols.Tests.Multistream;

public sealed class MultistreamMessageTests
{
    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    [Fact]
    public void The_header_must_be_framed_as_0x13_then_its_text_and_a_newline() =>
        Assert.Equal("13" + "2f6d756c746973747265616d2f312e302e30" + "0a", Hex(Frame(MultistreamMessage.Header)));

    [Fact]
    public void Na_and_ls_must_be_framed_as_the_spec_shows()
    {
        // Both hex strings are printed in the multistream-select README; na also in the libp2p connections spec.
        Assert.Equal("036e610a", Hex(Frame(MultistreamMessage.NotAvailable)));
        Assert.Equal("036c730a", Hex(Frame(MultistreamMessage.List)));
    }

    [Fact]
    public void A_message_over_127_bytes_must_take_a_two_byte_length()
    {
        var protocol = "/" + new string('x', 199); // 200 bytes + newline = 201 = 0xc9 0x01
        var bytes = Frame(protocol);
        Assert.Equal("c901", Hex(bytes[..2]));
        Assert.Equal(203, bytes.Length);
        Assert.Equal(OperationStatus.Done, MultistreamMessage.TryRead(bytes, out var message, out var used));
        Assert.Equal(protocol, message);
        Assert.Equal(203, used);
    }

    [Fact]
    public void Non_ascii_protocol_ids_must_be_counted_in_utf8_bytes()
    {
        var bytes = Frame("/ünï/1");
        Assert.Equal(9, bytes[0]); // 8 bytes of UTF-8 and the newline
        Assert.Equal(OperationStatus.Done, MultistreamMessage.TryRead(bytes, out var message, out _));
        Assert.Equal("/ünï/1", message);
    }

    [Theory]
    [InlineData("05616263640a", "abcd")]
    [InlineData("010a", "")]
    [InlineData("036e610a", "na")]
    public void Messages_must_decode_and_leave_what_follows(string hex, string text)
    {
        var bytes = Convert.FromHexString(hex + "ffff");
        Assert.Equal(OperationStatus.Done, MultistreamMessage.TryRead(bytes, out var message, out var used));
        Assert.Equal(text, message);
        Assert.Equal(hex.Length / 2, used);
    }

    [Fact]
    public void Every_proper_prefix_of_a_message_must_need_more_data()
    {
        var bytes = Frame("/" + new string('y', 150));
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.Equal(OperationStatus.NeedMoreData, MultistreamMessage.TryRead(bytes.AsSpan(0, length), out var message, out var used));
            Assert.Equal("", message);
            Assert.Equal(0, used);
        }
    }

    [Fact]
    public void A_message_of_exactly_the_limit_must_be_accepted()
    {
        var protocol = "/" + new string('z', MultistreamMessage.MaxLength - 2);
        var bytes = Frame(protocol);
        Assert.Equal("8008", Hex(bytes[..2])); // 1024
        Assert.Equal(OperationStatus.Done, MultistreamMessage.TryRead(bytes, out var message, out _));
        Assert.Equal(protocol, message);
    }

    [Theory]
    [InlineData("0461626364", "does not end in a newline")]
    [InlineData("00", "an empty message")]
    [InlineData("8108", "1025 bytes is over the limit of 1024")]
    [InlineData("ffff7f", "announces more than the limit of 1024")]
    [InlineData("8080", "announces more than the limit of 1024")]
    [InlineData("8000", "not a valid varint")]
    [InlineData("03ff fe0a", "not valid UTF-8")]
    public void Bad_messages_must_be_refused_with_the_reason(string hex, string reason)
    {
        var bytes = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        var error = Assert.Throws<FormatException>(() => MultistreamMessage.TryRead(bytes, out _, out _));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_oversized_length_must_be_refused_before_its_body_arrives() =>
        Assert.Throws<FormatException>(() => MultistreamMessage.TryRead([0x81, 0x08], out _, out _));

    [Theory]
    [InlineData("", "may not be empty")]
    [InlineData("noise", "does not start with '/'")]
    [InlineData("/a\nb", "holds a newline")]
    public void Writing_an_invalid_protocol_id_must_be_refused(string protocol, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => MultistreamMessage.Write(new ArrayBufferWriter<byte>(), protocol));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Writing_a_lone_surrogate_must_be_refused()
    {
        // Not an InlineData: test discovery would replace the lone surrogate before it got here.
        var error = Assert.Throws<ArgumentException>(() => MultistreamMessage.Write(new ArrayBufferWriter<byte>(), "/\ud800"));
        Assert.Contains("not valid UTF-16", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Writing_a_protocol_id_over_the_limit_must_be_refused()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            MultistreamMessage.Write(new ArrayBufferWriter<byte>(), "/" + new string('z', MultistreamMessage.MaxLength - 1)));
        Assert.Contains("over the limit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_ls_answer_must_nest_framed_lines_and_end_with_a_newline()
    {
        var output = new ArrayBufferWriter<byte>();
        MultistreamMessage.WriteList(output, ["/a", "/bc"]);
        // One message holding "/a\n" and "/bc\n" framed, then a newline: 10 bytes in all.
        Assert.Equal("0a" + "032f610a" + "042f62630a" + "0a", Hex(output.WrittenSpan.ToArray()));
    }

    [Fact]
    public void An_empty_ls_answer_must_be_a_lone_newline()
    {
        var output = new ArrayBufferWriter<byte>();
        MultistreamMessage.WriteList(output, []);
        Assert.Equal("010a", Hex(output.WrittenSpan.ToArray()));
        Assert.Equal(OperationStatus.Done, MultistreamMessage.TryReadList(output.WrittenSpan, out var protocols, out _));
        Assert.Empty(protocols);
    }

    [Fact]
    public void Ls_answers_must_round_trip_even_past_the_message_limit()
    {
        var listed = Enumerable.Range(0, 100).Select(i => $"/proto/{i}/{new string('p', 20)}").ToArray();
        var output = new ArrayBufferWriter<byte>();
        MultistreamMessage.WriteList(output, listed);
        output.Write("rest"u8);
        Assert.True(output.WrittenCount > MultistreamMessage.MaxLength);
        Assert.Equal(OperationStatus.Done, MultistreamMessage.TryReadList(output.WrittenSpan, out var protocols, out var used));
        Assert.Equal(listed, protocols);
        Assert.Equal(output.WrittenCount - 4, used);
        Assert.Equal(OperationStatus.NeedMoreData, MultistreamMessage.TryReadList(output.WrittenSpan[..(used - 1)], out _, out _));
    }

    [Theory]
    [InlineData("05" + "052f610a" + "0a", "entry 0: truncated")]
    [InlineData("05" + "0361620a" + "0a", "entry 0 is not a protocol ID")]
    [InlineData("05" + "032f610a" + "ff", "does not end in a newline")]
    [InlineData("05" + "032f61ff" + "0a", "entry 0: multistream: the message does not end in a newline")]
    public void Malformed_ls_answers_must_be_refused(string hex, string reason)
    {
        var error = Assert.Throws<FormatException>(() => MultistreamMessage.TryReadList(Convert.FromHexString(hex), out _, out _));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 2000)]
    public bool Random_bytes_must_read_as_a_message_more_data_or_a_format_error(byte[] bytes)
    {
        try
        {
            var status = MultistreamMessage.TryRead(bytes, out var message, out var used);
            return status == OperationStatus.NeedMoreData
                ? used == 0
                : status == OperationStatus.Done && used <= bytes.Length && Frame2(message).AsSpan().SequenceEqual(bytes.AsSpan(0, used));
        }
        catch (FormatException)
        {
            return true;
        }
    }

    [Property(MaxTest = 2000)]
    public bool Random_bytes_must_read_as_a_list_more_data_or_a_format_error(byte[] bytes)
    {
        try
        {
            var status = MultistreamMessage.TryReadList(bytes, out var protocols, out var used);
            return status == OperationStatus.NeedMoreData ? used == 0 : protocols.All(p => p.StartsWith('/'));
        }
        catch (FormatException)
        {
            return true;
        }
    }

    // Frames any decoded text, even one Write would refuse, to compare with what was read.
    private static byte[] Frame2(string message)
    {
        var text = System.Text.Encoding.UTF8.GetBytes(message + "\n");
        return [.. Libp2p.Protocols.Encoding.Varint.Encode((ulong)text.Length), .. text];
    }
}
