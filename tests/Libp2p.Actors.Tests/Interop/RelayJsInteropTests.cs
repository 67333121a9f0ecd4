using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Relay;
using Libp2p.Actors.Swarm;
using Libp2p.Actors.Tests.Relay;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tests.Interop;

namespace Libp2p.Actors.Tests.Interop;

/// <summary>Circuit relay v2 against js-libp2p 3 (<c>@libp2p/circuit-relay-v2</c>): a js relay between two of ours, and our relay between a js node and ours.</summary>
[Trait("Category", "Interop")]
public sealed class RelayJsInteropTests : RelayTestKit
{
    [Fact]
    public async Task A_js_relay_must_carry_a_circuit_between_two_of_our_nodes_and_sign_a_voucher_we_verify()
    {
        await using var js = await JsPeer.ListenAsync("yamux", options: ["--relay-server"]);
        var jsAddress = Multiaddr.Parse(js.Address);
        var jsRelay = PeerId.Parse(jsAddress.PeerIdText!);
        var listener = StartClient();
        var dialer = StartClient();
        SetHandler(listener, EchoProtocol, Echo);

        var reservation = await RelayClient.ReserveAsync(Client(listener), jsRelay, [jsAddress.Decapsulate("p2p")], Patience);
        await listener.Swarm.Ask<SwarmProtocol.Listening>(new SwarmProtocol.Listen([Multiaddr.Parse("/p2p-circuit")]), Patience);

        // js's voucher, opened and checked by our envelope code.
        Assert.NotNull(reservation.Voucher);
        Assert.Equal((jsRelay, listener.Peer), (reservation.Voucher!.Relay, reservation.Voucher.Peer));
        Assert.Equal(reservation.Expiration, reservation.Voucher.Expiration);
        var circuit = jsAddress.Encapsulate($"/p2p-circuit/p2p/{listener.Peer}");
        var dialed = await dialer.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default, [circuit]), Patience);
        Assert.True(dialed.Connection.Stat.Transient);
        var opened = await dialer.Swarm.Ask<SwarmProtocol.StreamOpened>(
            new SwarmProtocol.OpenStream(listener.Peer, [EchoProtocol], DialOptions.Default.WithUseTransient("interop")), Patience);
        var payload = RandomBytes(16 * 1024);
        Assert.Equal(payload, await EchoThroughAsync(opened.Stream, payload));
        CloseAll(dialer, listener);
    }

    [Fact]
    public async Task Our_relay_must_carry_a_circuit_from_our_node_to_a_js_node_that_reserved_on_it()
    {
        var (relay, books) = StartRelay();
        await using var js = await JsPeer.ListenAsync("yamux", options: ["--via", $"{relay.Addresses[0]}/p2p/{relay.Peer}"]);
        var jsCircuit = Multiaddr.Parse(js.Address);
        var jsPeer = PeerId.Parse(jsCircuit.PeerIdText!);
        var state = await books.Ask<RelayServiceProtocol.StateIs>(RelayServiceProtocol.GetState.Instance, Patience);
        Assert.True(state.Reservations.ContainsKey(jsPeer), $"js listens at {jsCircuit} but holds no reservation");
        var dialer = StartClient();

        var dialed = await dialer.Swarm.Ask<SwarmProtocol.Dialed>(
            new SwarmProtocol.Dial(jsPeer, DialOptions.Default, [relay.Addresses[0].Encapsulate($"/p2p/{relay.Peer}/p2p-circuit/p2p/{jsPeer}")]), Patience);
        var opened = await dialer.Swarm.Ask<SwarmProtocol.StreamOpened>(
            new SwarmProtocol.OpenStream(jsPeer, [EchoProtocol], DialOptions.Default.WithUseTransient("interop")), Patience);
        var payload = RandomBytes(16 * 1024);

        Assert.True(dialed.Connection.Stat.Transient);
        Assert.Equal(payload, await EchoThroughAsync(opened.Stream, payload));
        Assert.Equal(1, (await books.Ask<RelayServiceProtocol.StateIs>(RelayServiceProtocol.GetState.Instance, Patience)).Circuits);
        CloseAll(dialer, relay);
    }
}
