using Libp2p.Actors.Swarm;
using Libp2p.Cli.Commands;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Cli.Tests;

/// <summary>The connection manager's and the gater's lines under the top table.</summary>
public sealed class TopManagedTests
{
    [Fact]
    public void The_lines_must_show_the_counts_the_last_trim_and_the_refusals_by_hook()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        var at = new DateTimeOffset(2026, 12, 1, 12, 0, 1, TimeSpan.Zero);
        var trim = new ConnectionManagerProtocol.Trimmed(peer, TrimCause.HighWater, at, 26, 13,
            [.. Enumerable.Range(0, 13).Select(_ => new TrimmedPeer(peer, 0, 1, 0, true))], 2, 1, null);
        var info = new ConnectionManagerInfo(new ConnectionManagerSettings(10, 20), 17, 17, 2, 4, trim);

        var lines = TopCommand.Managed(info, new Dictionary<GaterHook, long> { [GaterHook.InterceptSecured] = 1, [GaterHook.InterceptAccept] = 3 }).Split('\n');

        Assert.Equal($"connmgr 17 conns, 17 peers, 2 protected (low 10, high 20); last trim {at.ToLocalTime():HH:mm:ss} (HighWater) 26->13, closed 13 peers", lines[0]);
        Assert.Equal("gater refused 3 at InterceptAccept, 1 at InterceptSecured", lines[1]);
        Assert.Equal("connmgr off", TopCommand.Managed(null, new Dictionary<GaterHook, long>()).Split('\n')[0]);
        Assert.All(TopCommand.Managed(info, new Dictionary<GaterHook, long>(), 50).Split('\n'), l => Assert.True(l.Length < 50, l));
    }

    [Fact]
    public void The_reachability_line_must_show_the_verdict_the_NAT_type_and_the_address_counts()
    {
        Libp2p.Protocols.Multiformats.Multiaddr A(string text) => Libp2p.Protocols.Multiformats.Multiaddr.Parse(text);
        var state = new Libp2p.Actors.AutoNat.AddressManagerProtocol.StateIs(
            [A("/ip4/10.0.0.2/tcp/4001")],
            [new(A("/ip4/203.0.113.5/tcp/4001"), 4, false)],
            [A("/ip4/203.0.113.5/tcp/4001")], [], [],
            [A("/ip4/10.0.0.2/tcp/4001"), A("/ip4/203.0.113.5/tcp/4001")],
            Libp2p.Actors.Network.NATDeviceType.Cone, Libp2p.Actors.Network.NATDeviceType.Unknown, Libp2p.Actors.Network.Reachability.Public, 4);

        Assert.Equal("reachability Public, nat tcp Cone udp Unknown; addrs 2 advertised, 1 observed, 1 confirmed, 0 unreachable, 0 relayed\n", TopCommand.Reachability(state));
        Assert.True(TopCommand.Reachability(state, 40).Length <= 40);
    }
}
