using StackExchange.Redis;

namespace Libp2p.Interop;

/// <summary>Where a listener publishes its address and a dialer finds it, under either contract's keys.</summary>
public sealed class RedisRendezvous : IAsyncDisposable
{
    /// <summary>How often a unified-testing dialer asks for the listener's address: the contract has the dialer poll.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly ConnectionMultiplexer _redis;
    private readonly string _address;

    private RedisRendezvous(ConnectionMultiplexer redis, string address)
    {
        _redis = redis;
        _address = address;
    }

    /// <summary>The Redis database the rendezvous uses (database 0, as the contracts' runners).</summary>
    public IDatabase Database => _redis.GetDatabase();

    /// <summary>
    /// Connects to Redis at <paramref name="address"/> (<c>host:port</c>). Commands may take up to
    /// <paramref name="longestWait"/>: a BLPOP holds its answer until the listener pushes.
    /// </summary>
    /// <exception cref="RedisConnectionException">Nothing answers at <paramref name="address"/>.</exception>
    public static async Task<RedisRendezvous> ConnectAsync(string address, TimeSpan longestWait)
    {
        var options = ConfigurationOptions.Parse(address);
        options.AbortOnConnectFail = true;
        options.ConnectTimeout = 10_000;
        options.ConnectRetry = 3;
        // A blocking pop answers only when the listener pushes or its own timeout passes: the
        // client must wait longer than that, or it gives up on an answer that is still coming.
        var wait = (int)Math.Min(int.MaxValue, (longestWait + TimeSpan.FromSeconds(10)).TotalMilliseconds);
        options.AsyncTimeout = wait;
        options.SyncTimeout = wait;
        var redis = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
        return new RedisRendezvous(redis, address);
    }

    /// <summary>Publishes the listener's <paramref name="listenerAddress"/> as <paramref name="settings"/>' contract says: RPUSH or SET.</summary>
    public async Task PublishAsync(InteropSettings settings, string listenerAddress)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Contract == InteropContract.TransportInterop)
            await Database.ListRightPushAsync(settings.ListenerKey, listenerAddress).ConfigureAwait(false);
        else
            await Database.StringSetAsync(settings.ListenerKey, listenerAddress).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until the listener has published its address, at most <paramref name="timeout"/>:
    /// transport-interop's BLPOP of <c>listenerAddr</c>, or unified-testing's poll of
    /// <c>&lt;TEST_KEY&gt;_listener_multiaddr</c> (read as a string, or as the first entry of a
    /// list for a listener that pushed it).
    /// </summary>
    /// <exception cref="TimeoutException">No address within <paramref name="timeout"/>.</exception>
    public async Task<string> WaitForListenerAsync(InteropSettings settings, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var key = settings.ListenerKey;
        if (settings.Contract == InteropContract.TransportInterop)
        {
            // BLPOP's timeout is whole seconds here (fractions need Redis 6); 0 would mean forever.
            var seconds = Math.Max(1, (long)Math.Ceiling(timeout.TotalSeconds));
            var popped = await Database.ExecuteAsync("BLPOP", key, seconds).ConfigureAwait(false);
            if (popped.IsNull || popped.Resp2Type != ResultType.Array || popped.Length != 2)
                throw new TimeoutException($"no listener address in Redis list '{key}' at {_address} within {seconds} s");
            return popped[1].ToString();
        }
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var value = await ReadAsync(key).ConfigureAwait(false);
            if (!value.IsNullOrEmpty)
                return value.ToString();
            if (DateTime.UtcNow >= deadline)
                throw new TimeoutException($"no listener address in Redis key '{key}' at {_address} within {timeout.TotalSeconds:0.#} s");
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<RedisValue> ReadAsync(string key)
    {
        try
        {
            return await Database.StringGetAsync(key).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
        {
            return await Database.ListGetByIndexAsync(key, 0).ConfigureAwait(false);
        }
    }

    /// <summary>Closes the connection.</summary>
    public async ValueTask DisposeAsync() => await _redis.DisposeAsync().ConfigureAwait(false);
}
