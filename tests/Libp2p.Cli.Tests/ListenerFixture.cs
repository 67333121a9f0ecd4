namespace Libp2p.Cli.Tests;

/// <summary>One <c>p2p listen --serve-resources</c> on loopback, shared by the tests of a class.</summary>
public sealed class ListenerFixture : IAsyncLifetime
{
    private P2pProcess.Running? _listener;

    /// <summary>The address it printed, with its peer ID.</summary>
    public string Address { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _listener = P2pProcess.Start("listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--serve-resources");
        var line = await _listener.LineAsync(l => l.StartsWith("LISTEN ", StringComparison.Ordinal));
        Address = line["LISTEN ".Length..];
    }

    public async Task DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.TerminateAsync();
            await _listener.DisposeAsync();
        }
    }
}
