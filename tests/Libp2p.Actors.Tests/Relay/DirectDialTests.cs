using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Actors.Tests.Relay;

/// <summary>The seed's ForceDirectDial and SimultaneousConnect, as hole punching uses them: three swarms on loopback.</summary>
public sealed class DirectDialTests : RelayTestKit
{
    [Fact]
    public async Task A_direct_dial_must_connect_directly_although_a_relayed_connection_lives()
    {
        var (relay, _) = StartRelay();
        var listener = StartClient();
        var dialer = StartClient();
        var reservation = await ReserveAndListenAsync(listener, relay);
        await dialer.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default, [Through(reservation, listener)]), Patience);
        await KnowAsync(dialer, listener);

        // An ordinary dial is answered with the limited connection, as go's DialPeer is, and does
        // not dial past it; a stream on it still needs UseTransient.
        var limited = await dialer.Swarm.Ask(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default), Patience);
        Assert.True(Assert.IsType<SwarmProtocol.Dialed>(limited).Connection.Stat.Transient);
        Assert.Single(Conns(dialer, listener.Peer));
        var refused = await dialer.Swarm.Ask(new SwarmProtocol.OpenStream(listener.Peer, ["/echo/1.0.0"], DialOptions.Default), Patience);
        Assert.IsType<TransientConnectionException>(Assert.IsType<SwarmProtocol.OpenStreamFailed>(refused).Reason);
        var direct = await dialer.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default.WithForceDirectDial("test")), Patience);
        var again = await dialer.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default.WithForceDirectDial("test")), Patience);

        Assert.False(direct.Connection.Stat.Transient);
        Assert.Equal(listener.Addresses[0], direct.Connection.RemoteAddress);
        // The direct connection is reused, and now answers ordinary dials and streams first.
        Assert.Equal(direct.Connection.Id, again.Connection.Id);
        var ordinary = await dialer.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default.WithUseTransient("test")), Patience);
        Assert.Equal(direct.Connection.Id, ordinary.Connection.Id);
        Assert.Equal(2, Conns(dialer, listener.Peer).Count);
    }

    [Fact]
    public async Task A_direct_dial_must_not_dial_relayed_addresses()
    {
        var (relay, _) = StartRelay();
        var listener = StartClient();
        var dialer = StartClient();
        var reservation = await ReserveAndListenAsync(listener, relay);
        var relayed = Through(reservation, listener);

        var failed = await dialer.Swarm.Ask(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default.WithForceDirectDial("hole punching"), [relayed]), Patience);

        var error = Assert.IsType<DialException>(Assert.IsType<SwarmProtocol.DialFailed>(failed).Reason);
        Assert.Contains($"a direct dial (hole punching) has only relayed addresses: {relayed.Decapsulate("p2p")}", error.Message, StringComparison.Ordinal);
        Assert.Empty(Conns(dialer, listener.Peer));
    }

    [Fact]
    public async Task A_simultaneous_connect_must_give_the_dial_the_role_it_names()
    {
        var listener = StartHost();
        var client = StartHost();
        var server = StartHost();

        // The client's side leads the upgrade as any dial does; the server's side waits to be led,
        // so against a listener, which waits too, nothing is ever negotiated and the dial times out.
        var led = await client.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(listener.Peer,
            DialOptions.Default.WithForceDirectDial("test").WithSimultaneousConnect(true, "test"), listener.Addresses), Patience);
        var waited = await server.Swarm.Ask(new SwarmProtocol.Dial(listener.Peer,
            DialOptions.Default.WithForceDirectDial("test").WithSimultaneousConnect(false, "test").WithTimeout(TimeSpan.FromSeconds(2)), listener.Addresses), Patience);

        Assert.Equal(Direction.Outbound, led.Connection.Stat.Direction);
        var error = Assert.IsType<DialException>(Assert.IsType<SwarmProtocol.DialFailed>(waited).Reason);
        Assert.StartsWith($"failed to dial {listener.Peer}: timed out after 2 s", error.Message, StringComparison.Ordinal);
        Assert.Empty(Conns(server, listener.Peer));
    }
}
