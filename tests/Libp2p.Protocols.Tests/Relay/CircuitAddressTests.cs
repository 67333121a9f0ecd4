using Akka.Actor;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Relay;

namespace Libp2p.Protocols.Tests.Relay;

public sealed class CircuitAddressTests
{
    private const string Relay = "12D3KooWB1b3qZxWJanuhtseF3DmPggHCtG36KZ9ixkqHtdKH9fh";
    private const string Target = "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC";

    [Theory]
    [InlineData($"/ip4/1.2.3.4/tcp/4001/p2p/{Relay}/p2p-circuit/p2p/{Target}", "/ip4/1.2.3.4/tcp/4001", true)]
    [InlineData($"/ip4/1.2.3.4/tcp/4001/p2p/{Relay}/p2p-circuit", "/ip4/1.2.3.4/tcp/4001", false)]
    [InlineData($"/p2p/{Relay}/p2p-circuit/p2p/{Target}", "", true)]
    public void A_relayed_address_must_come_apart_into_relay_address_relay_and_target(string text, string relayAddress, bool hasTarget)
    {
        Assert.True(CircuitAddress.TryParse(Multiaddr.Parse(text), out var circuit));
        Assert.Equal(relayAddress, circuit.RelayAddress.ToString());
        Assert.Equal(PeerId.Parse(Relay), circuit.Relay);
        Assert.Equal(hasTarget ? PeerId.Parse(Target) : null, circuit.Target);
        Assert.Equal(text, circuit.ToMultiaddr().ToString());
    }

    [Theory]
    [InlineData("/ip4/1.2.3.4/tcp/4001")]
    [InlineData("/p2p-circuit")]
    [InlineData("/ip4/1.2.3.4/tcp/4001/p2p-circuit/p2p/" + Target)]
    [InlineData($"/p2p/{Relay}/p2p-circuit/p2p/{Target}/p2p-circuit/p2p/{Relay}")]
    [InlineData($"/p2p/{Relay}/p2p-circuit/ip4/1.2.3.4")]
    public void An_address_that_is_not_one_circuit_through_a_named_relay_must_be_refused(string text) =>
        Assert.False(CircuitAddress.TryParse(Multiaddr.Parse(text), out _));

    [Fact]
    public void The_status_names_must_be_the_specs() =>
        Assert.Equal(["OK", "NO_RESERVATION", "RESOURCE_LIMIT_EXCEEDED", "999"],
            new[] { Protocols.Relay.Pb.Status.Ok, Protocols.Relay.Pb.Status.NoReservation, Protocols.Relay.Pb.Status.ResourceLimitExceeded, (Protocols.Relay.Pb.Status)999 }
                .Select(CircuitRelay.NameOf));
}

public sealed class ByteLimitStageTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("byte-limit", "akka.loglevel = WARNING");

    public void Dispose() => _system.Dispose();

    [Property(MaxTest = 100)]
    public Property Exactly_the_limit_must_pass_and_the_stream_fail_past_it(PositiveInt limit, NonEmptyArray<PositiveInt> chunkSizes)
    {
        var chunks = chunkSizes.Get.Select(s => ByteString.FromBytes(new byte[s.Get % 5000 + 1])).ToArray();
        var total = chunks.Sum(c => (long)c.Count);
        var received = 0L;
        var run = Source.From(chunks)
            .Via(new ByteLimitStage(limit.Get, "test"))
            .RunForeach(c => received += c.Count, _system.Materializer());
        var failed = false;
        try
        {
            run.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException e) when (e.GetBaseException() is CircuitLimitExceededException)
        {
            failed = true;
        }
        return (failed == total > limit.Get && received == Math.Min(total, limit.Get)).ToProperty();
    }

    [Fact]
    public async Task A_zero_limit_must_pass_everything()
    {
        var all = await Source.From(Enumerable.Range(0, 100).Select(_ => ByteString.FromBytes(new byte[1000])))
            .Via(new ByteLimitStage(0, "test"))
            .RunAggregate(0L, (n, c) => n + c.Count, _system.Materializer());
        Assert.Equal(100_000, all);
    }
}
