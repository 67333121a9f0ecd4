using Akka.Configuration;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Host.Tests;

/// <summary>A host told in HOCON to listen on <c>/ws</c>, as <c>p2p listen --listen …/ws</c> does.</summary>
public sealed class WebSocketHostTests : HostTestKit
{
    [Fact]
    public async Task A_host_listening_on_ws_must_advertise_ws_p2p_addresses_and_be_pinged_over_them()
    {
        var settings = HostSettings.FromConfig(ConfigurationFactory.ParseString("""akka.libp2p.listen = ["/ip4/127.0.0.1/tcp/0/ws"]"""));
        var server = await Libp2pHost.StartAsync(Sys, settings, "ws-server").WaitAsync(Patience);
        var client = await StartAsync(s => s with { ListenAddresses = [] });

        var address = Assert.Single(await server.AddressesAsync());
        Assert.Matches($@"^/ip4/127\.0\.0\.1/tcp/[1-9][0-9]*/ws/p2p/{server.PeerId}$", address.ToString());
        var connection = await client.ConnectAsync(address).WaitAsync(Patience);
        Assert.Equal(address.Decapsulate("p2p"), connection.RemoteAddress);
        var rtts = await client.PingAsync(server.PeerId, 3).WaitAsync(Patience);
        Assert.Equal(3, rtts.Count);
        await client.StopAsync().WaitAsync(Patience);
        await server.StopAsync().WaitAsync(Patience);
    }
}
