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
}
