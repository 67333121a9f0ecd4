namespace Libp2p.Interop;

/// <summary>Runs matrix cells as the contracts' runners do: two processes that meet through Redis.</summary>
public static class InteropRunner
{
    /// <summary>Every combination of dialer, listener, transport, security and muxer.</summary>
    public static IReadOnlyList<InteropCell> Cells(IReadOnlyList<InteropImplementation> implementations) =>
        [.. from dialer in implementations
            from listener in implementations
            from transport in InteropSettings.Transports
            from security in InteropSettings.SecurityChannels
            from muxer in InteropSettings.Muxers
            select new InteropCell(dialer, listener, transport, security, muxer)];

    /// <summary>
    /// Runs <paramref name="cells"/>, <paramref name="parallelism"/> at a time, each worker with a
    /// Redis of its own (transport-interop's key is not namespaced, so two tests on one Redis
    /// would take each other's listener).
    /// </summary>
    public static async Task<IReadOnlyList<InteropResult>> RunAsync(IReadOnlyList<InteropCell> cells, InteropContract contract, TimeSpan timeout,
        int parallelism, Action<InteropResult>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var results = new InteropResult[cells.Count];
        var next = -1;
        var workers = Enumerable.Range(0, Math.Clamp(parallelism, 1, Math.Max(1, cells.Count))).Select(async _ =>
        {
            await using var redis = await RedisServer.StartAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            int index;
            while ((index = Interlocked.Increment(ref next)) < cells.Count)
            {
                results[index] = await RunCellAsync(cells[index], contract, redis.Address, timeout, cancellationToken).ConfigureAwait(false);
                progress?.Invoke(results[index]);
            }
        });
        await Task.WhenAll(workers).ConfigureAwait(false);
        return results;
    }

    /// <summary>
    /// Runs one test: the listener and the dialer as processes, with the variables of
    /// <paramref name="contract"/>; the listener is stopped once the dialer is done. The Redis key
    /// is cleared first, so nothing an earlier test left is taken for this listener.
    /// </summary>
    public static async Task<InteropResult> RunCellAsync(InteropCell cell, InteropContract contract, string redisAddress, TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cell);
        var listenerSettings = new InteropSettings(contract, false, redisAddress, cell.Transport, cell.Security, cell.Muxer, "127.0.0.1", timeout,
            contract == InteropContract.UnifiedTesting ? cell.TestKey : null);
        var dialerSettings = listenerSettings with { IsDialer = true };
        await using var redis = await RedisRendezvous.ConnectAsync(redisAddress, timeout).ConfigureAwait(false);
        await redis.Database.KeyDeleteAsync(listenerSettings.ListenerKey).ConfigureAwait(false);

        using var listener = HarnessProcess.Start(cell.Listener, listenerSettings);
        using var dialer = HarnessProcess.Start(cell.Dialer, dialerSettings);
        // The dialer has the test's deadline itself; this one is for a process that ignores it.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout + TimeSpan.FromSeconds(30));
        string? failure = null;
        try
        {
            var first = await Task.WhenAny(dialer.Exited, listener.Exited).WaitAsync(limit.Token).ConfigureAwait(false);
            if (first == listener.Exited && !dialer.Exited.IsCompleted)
                failure = $"the listener exited ({listener.ExitCode}) before the dialer was done: {await listener.ErrorTailAsync().ConfigureAwait(false)}";
        }
        catch (OperationCanceledException)
        {
            failure = $"the dialer ran over {timeout.TotalSeconds + 30:0} s";
        }
        await dialer.StopAsync().ConfigureAwait(false);
        await listener.StopAsync().ConfigureAwait(false);
        var published = await PublishedAsync(redis, listenerSettings).ConfigureAwait(false);

        var output = await dialer.OutputAsync().ConfigureAwait(false);
        var measurement = PingMeasurement.Parse(contract, output);
        if (failure is null && dialer.ExitCode != PingTest.Passed)
            failure = $"the dialer exited with {dialer.ExitCode}: {await dialer.ErrorTailAsync().ConfigureAwait(false)}";
        if (failure is null && measurement is null)
            failure = $"the dialer exited 0 but printed no {(contract == InteropContract.TransportInterop ? "JSON" : "YAML")} report: '{output.Trim()}'";
        return new InteropResult(cell, failure is null ? measurement : null, failure, published);
    }

    /// <summary>
    /// What the listener left in Redis: under unified-testing the key keeps its value; under
    /// transport-interop the dialer popped it, so an empty list means it was taken.
    /// </summary>
    private static async Task<string?> PublishedAsync(RedisRendezvous redis, InteropSettings settings)
    {
        if (settings.Contract == InteropContract.UnifiedTesting)
        {
            var value = await redis.Database.StringGetAsync(settings.ListenerKey).ConfigureAwait(false);
            return value.IsNullOrEmpty ? null : value.ToString();
        }
        var left = await redis.Database.ListGetByIndexAsync(settings.ListenerKey, 0).ConfigureAwait(false);
        return left.IsNullOrEmpty ? null : left.ToString();
    }
}
