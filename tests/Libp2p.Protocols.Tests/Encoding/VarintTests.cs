using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Tests.Encoding;

public sealed class VarintTests
{
    // The examples of the multiformats unsigned-varint spec, plus its upper bound.
    public static TheoryData<ulong, string> SpecExamples => new()
    {
        { 1, "01" },
        { 127, "7f" },
        { 128, "8001" },
        { 255, "ff01" },
        { 300, "ac02" },
        { 16384, "808001" },
        { Varint.MaxValue, "ffffffffffffffff7f" },
    };

    [Theory]
    [MemberData(nameof(SpecExamples))]
    public void Varint_must_encode_the_spec_examples(ulong value, string hex)
    {
        Assert.Equal(hex, Convert.ToHexStringLower(Varint.Encode(value)));
        Assert.Equal(hex.Length / 2, Varint.GetLength(value));
    }

    [Theory]
    [MemberData(nameof(SpecExamples))]
    public void Varint_must_decode_the_spec_examples(ulong value, string hex)
    {
        var bytes = Convert.FromHexString(hex + "ff"); // a trailing byte that is not part of it
        Assert.Equal(value, Varint.Read(bytes, out var consumed));
        Assert.Equal(hex.Length / 2, consumed);
    }

    [Fact]
    public void Varint_must_encode_zero_as_one_byte()
    {
        Assert.Equal(new byte[] { 0 }, Varint.Encode(0));
        Assert.Equal(0UL, Varint.Read([0], out var consumed));
        Assert.Equal(1, consumed);
    }

    [Theory]
    [InlineData("8000", "not minimally encoded")]
    [InlineData("ff00", "not minimally encoded")]
    [InlineData("808080808080808000", "not minimally encoded")]
    [InlineData("ffffffffffffffffff01", "longer than the maximum of 9 bytes")]
    [InlineData("808080808080808080", "longer than the maximum of 9 bytes")]
    public void Varint_must_reject_non_minimal_and_overlong_input(string hex, string reason)
    {
        var error = Assert.Throws<FormatException>(() => Varint.Read(Convert.FromHexString(hex), out _));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Equal(OperationStatus.InvalidData, Varint.TryRead(Convert.FromHexString(hex), out _, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("80")]
    [InlineData("ffff")]
    [InlineData("8080808080808080")]
    public void Varint_must_tell_truncated_input_apart(string hex)
    {
        var bytes = Convert.FromHexString(hex);
        Assert.Equal(OperationStatus.NeedMoreData, Varint.TryRead(bytes, out _, out _));
        var error = Assert.Throws<FormatException>(() => Varint.Read(bytes, out _));
        Assert.Contains(bytes.Length == 0 ? "empty" : "ends after", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Varint_must_refuse_values_above_63_bits()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Varint.Encode(Varint.MaxValue + 1));
    }

    [Fact]
    public void Varint_must_name_what_overflows_an_int()
    {
        var bytes = Varint.Encode(5000);
        var error = Assert.Throws<FormatException>(() => Varint.ReadInt32(bytes, out _, "frame length", 4096));
        Assert.Equal("frame length: 5000 is larger than the limit of 4096", error.Message);
    }

    [Fact]
    public void Varint_must_write_into_a_buffer_writer()
    {
        var writer = new ArrayBufferWriter<byte>();
        Varint.Write(writer, 300);
        Varint.Write(writer, 1);
        Assert.Equal("ac0201", Convert.ToHexStringLower(writer.WrittenSpan));
    }

    private static Arbitrary<ulong> AnyVarint() =>
        // Spread the values over every length: a random shift picks the magnitude.
        Gen.Choose(0, 62).SelectMany(shift => ArbMap.Default.GeneratorFor<ulong>()
            .Select(v => v >> (63 - shift) >> 1 | (1UL << shift & Varint.MaxValue)))
            .ToArbitrary();

    [Property]
    public Property Every_varint_must_round_trip() =>
        Prop.ForAll(AnyVarint(), value =>
        {
            var bytes = Varint.Encode(value);
            return Varint.Read(bytes, out var consumed) == value
                && consumed == bytes.Length
                && bytes.Length == Varint.GetLength(value);
        });

    [Property]
    public bool Random_bytes_must_decode_to_a_value_or_a_format_error(byte[] bytes)
    {
        try
        {
            var value = Varint.Read(bytes, out var consumed);
            // Whatever decodes must be the one minimal encoding of its value.
            return Varint.Encode(value).AsSpan().SequenceEqual(bytes.AsSpan(0, consumed));
        }
        catch (FormatException)
        {
            return true;
        }
    }
}
