using FsCheck;
using FsCheck.Fluent;
using Libp2p.Actors.Resources;
using Libp2p.Cli.Commands;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Cli.Tests;

/// <summary>The perf bar and the top table never take a terminal's last column, whatever the figures.</summary>
public sealed class TerminalLayoutTests
{
    [FsCheck.Xunit.Property]
    public Property The_perf_bar_must_fit_any_terminal_and_keep_its_percentage() =>
        Prop.ForAll(
            Gen.Choose(20, 300).ToArbitrary(),
            Gen.Choose(0, 1000).ToArbitrary(),
            Gen.Choose(0, 100_000).ToArbitrary(),
            (width, permille, milliseconds) =>
            {
                var total = 1L << 30;
                var bar = PerfCommand.ProgressBar.Render(total / 1000 * permille, total, TimeSpan.FromMilliseconds(milliseconds), width);
                return bar.Length < width && bar.Contains('%') && bar.StartsWith('[');
            });

    [Fact]
    public void The_perf_bar_must_show_percentage_amount_rate_and_time_left_when_there_is_room()
    {
        var bar = PerfCommand.ProgressBar.Render(64L << 20, 128L << 20, TimeSpan.FromSeconds(2), 80);

        Assert.EndsWith("]  50%  64 MiB/128 MiB  32 MiB/s  ETA 0:02", bar, StringComparison.Ordinal);
        Assert.Equal(79, bar.Length);
    }

    [Theory]
    [InlineData(50)]
    [InlineData(80)]
    [InlineData(120)]
    public void The_top_table_must_fit_the_terminal_with_short_peer_ids(int width)
    {
        var (peer, scopes) = Scopes();

        var lines = TopCommand.Table(peer, scopes, wide: false, width).Split('\n');

        Assert.All(lines, l => Assert.True(l.Length < width, $"{l.Length} columns in {width}: {l}"));
        var text = peer.ToString();
        Assert.StartsWith($"resources of {text[..8]}…{text[^4..]} at ", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains(text, StringComparison.Ordinal));
        // At 50 columns the scope names are what gives way.
        Assert.Contains(lines, l => l.TrimStart().StartsWith(width >= 80 ? $"peer:{text[..8]}…{text[^4..]}" : "peer:12D3KooW", StringComparison.Ordinal));
        if (width >= 120)
            Assert.Contains(lines, l => l.TrimStart().StartsWith($"service-peer:libp2p.identify/{text[..8]}…{text[^4..]}", StringComparison.Ordinal));
    }

    [Fact]
    public void The_wide_top_table_must_show_full_peer_ids_and_limits()
    {
        var (peer, scopes) = Scopes();

        var lines = TopCommand.Table(peer, scopes, wide: true).Split('\n');

        Assert.StartsWith($"resources of {peer} at ", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains($"peer:{peer}", StringComparison.Ordinal));
        Assert.StartsWith("SCOPE", lines[1], StringComparison.Ordinal);
        Assert.Contains("STREAMS OUT", lines[1], StringComparison.Ordinal);
    }

    private static (PeerId Peer, IReadOnlyList<ScopeSnapshot> Scopes) Scopes()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        var limit = new ScopeLimit { ConnsInbound = 244, ConnsOutbound = 488, StreamsInbound = 3909, StreamsOutbound = 7818, FD = 10256, Memory = 3L << 30 };
        var used = new ScopeStat(12, 34, 1, 2, 3, 5L << 20);
        return (peer,
        [
            new("system", used, limit),
            new("transient", ScopeStat.Zero, limit),
            new($"peer:{peer}", used, limit),
            new("protocol:/libp2p-dotnet/resources/1.0.0", used, limit),
            new("service:libp2p.identify", used, ScopeLimit.Unlimited),
            new($"service-peer:libp2p.identify/{peer}", used, limit),
        ]);
    }
}
