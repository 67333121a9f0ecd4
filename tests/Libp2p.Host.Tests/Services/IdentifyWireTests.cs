using System.Buffers;
using Libp2p.Host.Services;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;

namespace Libp2p.Host.Tests.Services;

public sealed class IdentifyWireTests : HostTestKit
{
    [Fact]
    public async Task A_large_message_goes_as_two_parts_that_merge_back_into_it()
    {
        var a = await StartAsync();
        var b = await StartAsync();
        // 7.9 KiB of protocols: over go's 2 KiB legacy size, under the 8 KiB read limit without the record.
        var protocols = Enumerable.Range(0, 152).Select(i => $"/a/rather/long/protocol/name/for/testing/{i:D4}/1.0.0").ToArray();
        var record = new PeerRecord(b.PeerId, PeerRecord.NextSequence(), await b.Network.ListenAddressesAsync()).Seal(b.Settings.Identity);
        var big = new IdentifyMessage { AgentVersion = "big", Protocols = protocols, SignedPeerRecord = record, PublicKey = b.Settings.Identity.PublicKey };
        Assert.True(big.GetEncodedLength() > IdentifyMessage.DefaultMaxMessageSize);
        Assert.True((big with { SignedPeerRecord = null }).GetEncodedLength() <= IdentifyMessage.DefaultMaxMessageSize);
        await b.Network.SetStreamHandlerAsync("/test/identify-wire", async stream =>
        {
            await IdentifyService.WriteAsync(stream, big);
            stream.CloseWrite();
        });
        await a.ConnectAsync(await AddressOfAsync(b));

        var raw = await a.Network.NewStreamAsync(b.PeerId, ["/test/identify-wire"]);
        var bytes = new MemoryStream();
        await raw.Stream.CopyToAsync(bytes).WaitAsync(Patience);
        var wire = bytes.ToArray();
        Assert.True(IdentifyMessage.TryReadDelimited(wire, out var first, out var used));
        Assert.True(IdentifyMessage.TryReadDelimited(wire.AsSpan(used), out var second, out var rest));
        Assert.Equal(wire.Length, used + rest);
        Assert.Null(first.SignedPeerRecord);
        Assert.Empty(second.Protocols);

        var merged = await IdentifyService.ReadAsync(await a.Network.NewStreamAsync(b.PeerId, ["/test/identify-wire"])).WaitAsync(Patience);
        Assert.Equal(big, merged);
        var result = IdentifyService.Verify(b.PeerId, merged);
        Assert.True(result.Certified);
    }

    [Fact]
    public async Task Garbage_on_identify_push_resets_that_stream_and_nothing_else()
    {
        var a = await StartAsync();
        var b = await StartAsync();
        await a.ConnectAsync(await AddressOfAsync(b));
        var push = await a.Network.NewStreamAsync(b.PeerId, [IdentifyService.PushProtocolId]);
        // A length prefix promising 100 KiB: over the 8 KiB limit.
        await push.Stream.WriteAsync(new byte[] { 0x80, 0x80, 0x06, 1, 2, 3 });
        push.CloseWrite();
        var reset = await Assert.ThrowsAsync<Protocols.Connections.StreamResetException>(() => push.Completion.WaitAsync(Patience));
        Assert.EndsWith(" was reset: reset by the remote", reset.Message, StringComparison.Ordinal);

        // The connection and the services on it still work.
        Assert.Single(await a.PingAsync(b.PeerId, 1).WaitAsync(Patience));
        Assert.Equal(b.PeerId, (await a.IdentifyAsync(b.PeerId).WaitAsync(Patience)).Peer);
    }

    [Fact]
    public async Task A_peer_that_never_answers_identify_fails_it_once_its_one_deadline_passed()
    {
        var a = await StartAsync(s => s with { IdentifyTimeout = TimeSpan.FromSeconds(1) });
        var b = await StartAsync();
        // B accepts identify streams and never writes on them, nor closes them.
        var asked = 0;
        var hold = new TaskCompletionSource();
        await b.Network.SetStreamHandlerAsync(IdentifyService.ProtocolId, async _ =>
        {
            Interlocked.Increment(ref asked);
            await hold.Task;
        });
        await a.ConnectAsync(await AddressOfAsync(b));
        var started = System.Diagnostics.Stopwatch.GetTimestamp();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => a.IdentifyAsync(b.PeerId).WaitAsync(Patience));

        Assert.Equal($"identify of {b.PeerId} timed out after 1 s", error.Message);
        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10));
        // One deadline, not one per attempt: a timed-out identify is not asked again. B's handler
        // runs on its own thread, and on a loaded machine may count its one stream after A gave up.
        await AwaitAssertAsync(() => Assert.Equal(1, Volatile.Read(ref asked)), Patience);
        hold.SetResult();
    }

    [Fact]
    public void A_public_key_that_is_not_the_peers_is_refused()
    {
        using var other = Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519);
        using var mine = Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(mine.PublicKey);
        var error = Assert.Throws<FormatException>(() => IdentifyService.Verify(peer, new IdentifyMessage { PublicKey = other.PublicKey }));
        Assert.Equal($"identify: {peer} sent the public key of {PeerId.FromPublicKey(other.PublicKey)}", error.Message);
    }

    [Fact]
    public void A_signed_record_of_another_peer_is_ignored_and_the_plain_addresses_stand()
    {
        using var other = Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519);
        using var mine = Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519);
        var plain = Protocols.Multiformats.Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001");
        var foreign = new PeerRecord(PeerId.FromPublicKey(other.PublicKey), 1, [Protocols.Multiformats.Multiaddr.Parse("/ip4/6.6.6.6/tcp/1")]).Seal(other);
        var result = IdentifyService.Verify(PeerId.FromPublicKey(mine.PublicKey), new IdentifyMessage { ListenAddrs = [plain], SignedPeerRecord = foreign });
        Assert.False(result.Certified);
        Assert.Equal([plain], result.ListenAddresses);
    }

    [Fact]
    public void A_record_with_a_lower_sequence_number_than_the_one_held_is_stale()
    {
        using var key = Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        var older = Protocols.Multiformats.Multiaddr.Parse("/ip4/10.0.0.1/tcp/1");
        var newer = Protocols.Multiformats.Multiaddr.Parse("/ip4/10.0.0.2/tcp/2");
        var held = IdentifyService.Verify(peer, new IdentifyMessage { SignedPeerRecord = new PeerRecord(peer, 5, [newer]).Seal(key) });
        var stale = IdentifyService.Verify(peer, new IdentifyMessage { SignedPeerRecord = new PeerRecord(peer, 3, [older]).Seal(key) });
        Assert.True(IdentifyService.IsNewer(held, stale));
        Assert.False(IdentifyService.IsNewer(stale, held));
        Assert.False(IdentifyService.IsNewer(held, held));
    }
}
