using System.Buffers;
using System.Text;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Benchmarks;

/// <summary>
/// Reads the protobuf wire format field by field. The hand-written readers' reader, kept with them as
/// the baseline of <see cref="ProtobufCodecBenchmarks"/> (the libraries read with generated code).
/// Unlike the multiformats <see cref="Varint"/>, protobuf
/// varints may take 10 bytes (a full uint64) and need not be minimal, so they are read here.
/// Every error names the message (<c>what</c>) and the byte offset.
/// </summary>
internal ref struct ProtobufReader
{
    /// <summary>Wire type 0.</summary>
    public const int Varint = 0;

    /// <summary>Wire type 2.</summary>
    public const int LengthDelimited = 2;

    private const int MaxFieldNumber = (1 << 29) - 1;
    private const int MaxVarintLength = 10;

    private readonly ReadOnlySpan<byte> _bytes;
    private readonly string _what;
    private int _offset;
    private int _fieldStart;

    public ProtobufReader(ReadOnlySpan<byte> bytes, string what)
    {
        _bytes = bytes;
        _what = what;
        _offset = 0;
        _fieldStart = 0;
    }

    /// <summary>Reads the next field key; false at the end of the input.</summary>
    public bool TryReadTag(out int field, out int wire)
    {
        field = 0;
        wire = 0;
        if (_offset >= _bytes.Length)
            return false;
        _fieldStart = _offset;
        var key = ReadRawVarint("a field key");
        if (key >> 3 is 0 or > MaxFieldNumber)
            throw new FormatException($"{_what}: invalid field number {key >> 3} at byte {_fieldStart}");
        field = (int)(key >> 3);
        wire = (int)(key & 7);
        return true;
    }

    /// <summary>Reads the value of a varint field, checking the wire type first.</summary>
    public ulong ReadVarint(int field, int wire, string name)
    {
        Expect(field, wire, Varint, name);
        return ReadRawVarint($"field {field} ({name})");
    }

    /// <summary>Reads the value of a length-delimited field, checking the wire type first.</summary>
    public ReadOnlySpan<byte> ReadBytes(int field, int wire, string name)
    {
        Expect(field, wire, LengthDelimited, name);
        return ReadLengthDelimited(field, name);
    }

    /// <summary>Reads a string field; invalid UTF-8 becomes U+FFFD, as go and js readers do, rather than failing the message.</summary>
    public string ReadString(int field, int wire, string name) => System.Text.Encoding.UTF8.GetString(ReadBytes(field, wire, name));

    /// <summary>Skips a field this reader does not know, as protobuf readers must.</summary>
    public void Skip(int field, int wire)
    {
        switch (wire)
        {
            case Varint:
                ReadRawVarint($"unknown field {field}");
                break;
            case LengthDelimited:
                ReadLengthDelimited(field, "unknown");
                break;
            case 1 or 5:
                var size = wire == 1 ? 8 : 4;
                if (_bytes.Length - _offset < size)
                    throw new FormatException($"{_what}: unknown field {field} at byte {_fieldStart} needs {size} bytes, only {_bytes.Length - _offset} left");
                _offset += size;
                break;
            case 3 or 4:
                // Groups are deprecated since proto2 and no libp2p message has one; a group here is garbage.
                throw new FormatException($"{_what}: field {field} uses the deprecated group wire type {wire}");
            default:
                throw new FormatException($"{_what}: field {field} has invalid wire type {wire}");
        }
    }

    private readonly void Expect(int field, int wire, int expected, string name)
    {
        if (wire != expected)
            throw new FormatException($"{_what}: field {field} ({name}) has wire type {wire}, expected {expected}");
    }

    private ReadOnlySpan<byte> ReadLengthDelimited(int field, string name)
    {
        var length = ReadRawVarint($"the length of field {field} ({name})");
        var left = _bytes.Length - _offset;
        if (length > (ulong)left)
            throw new FormatException($"{_what}: field {field} ({name}) at byte {_fieldStart} says {length} bytes, only {left} left");
        var value = _bytes.Slice(_offset, (int)length);
        _offset += (int)length;
        return value;
    }

    private ulong ReadRawVarint(string name)
    {
        var at = _offset;
        ulong value = 0;
        for (var i = 0; i < MaxVarintLength; i++)
        {
            if (_offset >= _bytes.Length)
                throw new FormatException($"{_what}: the input ends inside {name} (varint at byte {at})");
            var b = _bytes[_offset++];
            // The tenth byte holds bit 63 only; anything more overflows a uint64.
            if (i == MaxVarintLength - 1 && b > 1)
                throw new FormatException($"{_what}: {name} at byte {at} overflows 64 bits");
            value |= (ulong)(b & 0x7F) << (7 * i);
            if (b < 0x80)
                return value;
        }
        throw new FormatException($"{_what}: {name} at byte {at} is longer than {MaxVarintLength} bytes");
    }
}

