namespace Libp2p.Interop.Tests;

/// <summary>
/// A redis-server of the test class's own, on a free loopback port, with keyspace notifications
/// on, so a test awaits a key being written instead of polling for it.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private RedisServer? _server;

    public RedisServer Server => _server ?? throw new InvalidOperationException("the fixture has not started");

    public string Address => Server.Address;

    public async Task InitializeAsync() => _server = await RedisServer.StartAsync(["--notify-keyspace-events", "KA"]);

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

/// <summary>A Redis of its own and js-libp2p's packages installed from the lock file.</summary>
public sealed class JsInteropFixture : IAsyncLifetime
{
    private readonly RedisFixture _redis = new();

    public string Address => _redis.Address;

    public InteropImplementation Js { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var folder = JsHarness.FindFolder();
        await JsHarness.EnsureInstalledAsync(folder);
        Js = InteropImplementation.Js(folder);
        await _redis.InitializeAsync();
    }

    public Task DisposeAsync() => _redis.DisposeAsync();
}
