using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using Libp2p.Protocols.Dcutr;
using Libp2p.Protocols.Dcutr.Pb;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Dcutr;

public sealed class HolePunchMessagesTests
{
    private static readonly Func<Multiaddr, bool> Tcp = SocketTransport.Instance.CanDial;

    [Property(MaxTest = 200)]
    public Property A_CONNECT_must_read_back_its_addresses_in_order_and_leave_what_follows(byte[][] ips, ushort[] ports, byte[] tail)
    {
        var addresses = ips.Zip(ports, (ip, port) => Multiaddr.Parse($"/ip4/{ip.ElementAtOrDefault(0)}.{ip.ElementAtOrDefault(1)}.{ip.ElementAtOrDefault(2)}.1/tcp/{port}")).Distinct().ToList();
        var output = new ArrayBufferWriter<byte>();
        HolePunchMessages.Write(HolePunchMessages.Connect(addresses), output);
        using var stream = new MemoryStream([.. output.WrittenSpan, .. tail]);

        var read = HolePunchMessages.ReadAsync(stream, HolePunch.Types.Type.Connect, CancellationToken.None).GetAwaiter().GetResult();
        var rest = new byte[tail.Length];
        stream.ReadExactly(rest);

        return (HolePunchMessages.Addresses(read, Tcp).SequenceEqual(addresses) && rest.AsSpan().SequenceEqual(tail)).ToProperty();
    }

    [Property(MaxTest = 500)]
    public Property Any_bytes_must_decode_to_the_type_expected_or_fail_with_InvalidDataException(byte[] body)
    {
        try
        {
            var message = HolePunchMessages.Decode(body, HolePunch.Types.Type.Sync);
            return (message.HasType && message.Type == HolePunch.Types.Type.Sync).ToProperty();
        }
        catch (InvalidDataException)
        {
            return true.ToProperty();
        }
    }

    [Fact]
    public void A_message_without_its_type_must_be_refused_naming_what_was_due()
    {
        var error = Assert.Throws<InvalidDataException>(() => HolePunchMessages.Decode(new byte[] { 0x12, 0x00 }, HolePunch.Types.Type.Connect));
        Assert.Equal("dcutr: a message without its type where a Connect was due", error.Message);
    }

    [Fact]
    public void A_SYNC_where_a_CONNECT_is_due_and_an_unknown_type_must_be_refused()
    {
        var sync = Assert.Throws<InvalidDataException>(() => HolePunchMessages.Decode(HolePunchMessages.Sync().ToByteArray(), HolePunch.Types.Type.Connect));
        Assert.Equal("dcutr: a Sync where a Connect was due", sync.Message);
        var unknown = Assert.Throws<InvalidDataException>(() => HolePunchMessages.Decode([0x08, 0x05], HolePunch.Types.Type.Connect));
        Assert.Equal("dcutr: a message of unknown type 5 where a Connect was due", unknown.Message);
    }

    [Fact]
    public async Task A_frame_above_4_KiB_must_be_refused_from_its_length_prefix()
    {
        using var stream = new MemoryStream([0x81, 0x20]); // 4097 bytes announced, none sent
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => HolePunchMessages.ReadAsync(stream, HolePunch.Types.Type.Connect, CancellationToken.None));
        Assert.Equal("dcutr: the length prefix says 4097 bytes, above the limit of 4096", error.Message);
    }

    [Fact]
    public async Task A_stream_that_ends_where_a_message_is_due_must_say_so()
    {
        using var stream = new MemoryStream();
        var error = await Assert.ThrowsAsync<EndOfStreamException>(() => HolePunchMessages.ReadAsync(stream, HolePunch.Types.Type.Sync, CancellationToken.None));
        Assert.Equal("dcutr: the stream ended where a Sync was due", error.Message);
    }

    [Fact]
    public void Relayed_garbled_and_undialable_addresses_must_be_left_out_of_a_CONNECT_read()
    {
        var message = new HolePunch
        {
            Type = HolePunch.Types.Type.Connect,
            ObsAddrs =
            {
                ByteString.CopyFrom(Multiaddr.Parse("/ip4/198.18.0.1/tcp/4001").ToBytes()),
                ByteString.CopyFrom([0xff, 0xff, 0xff]),
                ByteString.CopyFrom(Multiaddr.Parse("/ip4/198.18.0.10/tcp/4001/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit").ToBytes()),
                ByteString.CopyFrom(Multiaddr.Parse("/ip4/198.18.0.1/udp/4001/quic-v1").ToBytes()),
                ByteString.CopyFrom(Multiaddr.Parse("/ip4/198.18.0.1/tcp/4001").ToBytes()),
            },
        };

        Assert.Equal([Multiaddr.Parse("/ip4/198.18.0.1/tcp/4001")], HolePunchMessages.Addresses(message, Tcp));
    }

    [Fact]
    public void A_CONNECT_must_offer_no_relayed_address_and_stay_within_4_KiB()
    {
        var many = Enumerable.Range(0, 1000).Select(i => Multiaddr.Parse($"/ip4/10.0.{i / 250}.{i % 250}/tcp/4001")).ToList();
        var relayed = Multiaddr.Parse("/ip4/198.18.0.10/tcp/4001/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit");

        var connect = HolePunchMessages.Connect([relayed, .. many]);

        Assert.InRange(connect.CalculateSize(), 4000, HolePunchMessages.MaxMessageSize);
        Assert.Equal(many.Take(connect.ObsAddrs.Count), connect.ObsAddrs.Select(b => Multiaddr.FromBytes(b.Span)));
        var output = new ArrayBufferWriter<byte>();
        HolePunchMessages.Write(connect, output); // does not throw: a peer takes it
    }
}
