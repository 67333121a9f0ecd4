namespace Libp2p.Interop.Tests;

/// <summary>
/// Cells of the matrix as the contracts' runners run them: a listener and a dialer process that
/// meet through Redis. CI runs, for each pair, four cells that between them hold every pairing of
/// two values of transport, security and muxer (all-pairs), alternating the two contracts; set
/// LIBP2P_INTEROP_FULL_MATRIX=1 for all eight combinations under both contracts. The harness's
/// <c>matrix</c> command runs the full matrix and writes docs/interop.md.
/// </summary>
public static class MatrixCells
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string, string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string, string>();
        if (System.Environment.GetEnvironmentVariable("LIBP2P_INTEROP_FULL_MATRIX") == "1")
        {
            foreach (var transport in InteropSettings.Transports)
                foreach (var security in InteropSettings.SecurityChannels)
                    foreach (var muxer in InteropSettings.Muxers)
                        foreach (var contract in (string[])["transport-interop", "unified-testing"])
                            data.Add(transport, security, muxer, contract);
            return data;
        }
        data.Add("tcp", "noise", "yamux", "transport-interop");
        data.Add("tcp", "tls", "mplex", "unified-testing");
        data.Add("ws", "noise", "mplex", "transport-interop");
        data.Add("ws", "tls", "yamux", "unified-testing");
        return data;
    }

    public static async Task AssertPassesAsync(InteropCell cell, string contractName, string redisAddress)
    {
        var contract = contractName == "unified-testing" ? InteropContract.UnifiedTesting : InteropContract.TransportInterop;

        var result = await InteropRunner.RunCellAsync(cell, contract, redisAddress, Timeout);

        Assert.True(result.Passed, $"{cell.Name}: {result.Failure}");
        Assert.InRange(result.Measurement!.PingRttMillis, 0, result.Measurement.HandshakePlusOneRttMillis);
        if (contract == InteropContract.UnifiedTesting)
        {
            // SET: the key keeps the listener's address, over the cell's transport.
            Assert.NotNull(result.Listener);
            Assert.StartsWith("/ip4/127.0.0.1/tcp/", result.Listener, StringComparison.Ordinal);
            Assert.Equal(cell.Transport == "ws", result.Listener.Contains("/ws/p2p/", StringComparison.Ordinal));
        }
        else
        {
            // RPUSH then BLPOP: the dialer took the one address the listener pushed.
            Assert.Null(result.Listener);
        }
    }
}

[Trait("Category", "Interop")]
public sealed class OursDialsOursTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Theory]
    [MemberData(nameof(MatrixCells.Cases), MemberType = typeof(MatrixCells))]
    public Task Our_dialer_pings_our_listener(string transport, string security, string muxer, string contract) =>
        MatrixCells.AssertPassesAsync(new InteropCell(InteropImplementation.Dotnet, InteropImplementation.Dotnet, transport, security, muxer), contract, redis.Address);
}

[Trait("Category", "Interop")]
public sealed class OursDialsJsTests(JsInteropFixture js) : IClassFixture<JsInteropFixture>
{
    [Theory]
    [MemberData(nameof(MatrixCells.Cases), MemberType = typeof(MatrixCells))]
    public Task Our_dialer_pings_a_js_libp2p_listener(string transport, string security, string muxer, string contract) =>
        MatrixCells.AssertPassesAsync(new InteropCell(InteropImplementation.Dotnet, js.Js, transport, security, muxer), contract, js.Address);
}

[Trait("Category", "Interop")]
public sealed class JsDialsOursTests(JsInteropFixture js) : IClassFixture<JsInteropFixture>
{
    [Theory]
    [MemberData(nameof(MatrixCells.Cases), MemberType = typeof(MatrixCells))]
    public Task A_js_libp2p_dialer_pings_our_listener(string transport, string security, string muxer, string contract) =>
        MatrixCells.AssertPassesAsync(new InteropCell(js.Js, InteropImplementation.Dotnet, transport, security, muxer), contract, js.Address);
}
