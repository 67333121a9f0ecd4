using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Tests.Identify;

public sealed class IdentifyMergeTests
{
    [Fact]
    public void A_partial_push_must_replace_the_fields_it_sets_and_keep_the_others()
    {
        var older = IdentifyMessageTests.HandBuilt();
        var push = new IdentifyMessage { AgentVersion = "akka-libp2p/0.2.0", Protocols = ["/ipfs/id/push/1.0.0"] };

        var merged = older.Merge(push);

        Assert.Equal(older with { AgentVersion = "akka-libp2p/0.2.0", Protocols = ["/ipfs/id/push/1.0.0"] }, merged);
    }

    [Fact]
    public void Lists_of_a_push_must_replace_the_older_lists_not_extend_them()
    {
        var older = new IdentifyMessage
        {
            ListenAddrs = [Multiaddr.Parse("/ip4/1.2.3.4/tcp/1"), Multiaddr.Parse("/ip4/1.2.3.4/tcp/2")],
            Protocols = ["/a", "/b"],
        };
        var push = new IdentifyMessage { ListenAddrs = [Multiaddr.Parse("/ip4/5.6.7.8/tcp/3")], Protocols = ["/c"] };

        var merged = older.Merge(push);

        Assert.Equal([Multiaddr.Parse("/ip4/5.6.7.8/tcp/3")], merged.ListenAddrs);
        Assert.Equal(["/c"], merged.Protocols);
    }

    [Fact]
    public void New_listen_addresses_without_a_new_signed_record_must_drop_the_stale_record()
    {
        var older = IdentifyMessageTests.HandBuilt();
        var push = new IdentifyMessage { ListenAddrs = [Multiaddr.Parse("/ip4/5.6.7.8/tcp/3")] };

        Assert.Null(older.Merge(push).SignedPeerRecord);
        Assert.NotNull(older.Merge(new IdentifyMessage { ProtocolVersion = "x" }).SignedPeerRecord);
        var withRecord = push with { SignedPeerRecord = new byte[] { 7 } };
        Assert.Equal(new byte[] { 7 }, older.Merge(withRecord).SignedPeerRecord!.Value.ToArray());
    }

    [Fact]
    public void Go_chunked_frames_must_merge_back_into_the_whole_message()
    {
        // go sends the signed record in a second frame when the message exceeds 2 KiB.
        var whole = IdentifyMessageTests.HandBuilt();
        var first = whole with { SignedPeerRecord = null };
        var second = new IdentifyMessage { SignedPeerRecord = whole.SignedPeerRecord };

        Assert.Equal(whole, first.Merge(second));
    }

    [Property(MaxTest = 200)]
    public Property Merging_must_take_every_field_the_newer_message_sets() =>
        Prop.ForAll(IdentifyGen.Messages().ToArbitrary(), IdentifyGen.Messages().ToArbitrary(), (older, newer) =>
        {
            var merged = older.Merge(newer);
            return (newer.ProtocolVersion is null || merged.ProtocolVersion == newer.ProtocolVersion)
                && (newer.AgentVersion is null || merged.AgentVersion == newer.AgentVersion)
                && (newer.PublicKey is null || merged.PublicKey == newer.PublicKey)
                && (newer.ObservedAddr is null || merged.ObservedAddr == newer.ObservedAddr)
                && (newer.ListenAddrs.Count == 0 || merged.ListenAddrs.SequenceEqual(newer.ListenAddrs))
                && (newer.Protocols.Count == 0 || merged.Protocols.SequenceEqual(newer.Protocols))
                && (newer.SignedPeerRecord is null || merged.SignedPeerRecord!.Value.Span.SequenceEqual(newer.SignedPeerRecord.Value.Span));
        });

    [Property(MaxTest = 200)]
    public Property Merging_with_an_empty_message_must_change_nothing_either_way() =>
        Prop.ForAll(IdentifyGen.Messages().ToArbitrary(), message =>
            message.Merge(new IdentifyMessage()) == message && new IdentifyMessage().Merge(message) == message && message.Merge(message) == message);
}
