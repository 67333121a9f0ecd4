using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Libp2p.Interop.Tests;

/// <summary>Our harness binary alone against a real redis-server: what it publishes, and how it fails.</summary>
[Trait("Category", "Interop")]
public sealed class HarnessContractTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private const string PeerAddress = @"/p2p/12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$";

    private InteropSettings Settings(InteropContract contract, bool dialer, string transport = "tcp", string? testKey = null) =>
        new(contract, dialer, redis.Address, transport, "noise", "yamux", "127.0.0.1", Patience,
            contract == InteropContract.UnifiedTesting ? testKey ?? Guid.NewGuid().ToString("N")[..8] : null);

    [Theory]
    [InlineData("tcp", @"^/ip4/127\.0\.0\.1/tcp/\d+")]
    [InlineData("ws", @"^/ip4/127\.0\.0\.1/tcp/\d+/ws")]
    public async Task Our_listener_rpushes_its_address_to_listenerAddr_and_serves_until_stopped(string transport, string pattern)
    {
        var listener = Settings(InteropContract.TransportInterop, dialer: false, transport);
        await using var rendezvous = await RedisRendezvous.ConnectAsync(redis.Address, Patience);
        await rendezvous.Database.KeyDeleteAsync("listenerAddr");
        using var process = HarnessProcess.Start(InteropImplementation.Dotnet, listener);

        // BLPOP, as a transport-interop dialer does.
        var address = await rendezvous.WaitForListenerAsync(listener with { IsDialer = true }, Patience);

        Assert.Matches(pattern + PeerAddress, address);
        Assert.False(process.Exited.IsCompleted, "the listener must serve until its runner stops it");
        // Stopped as docker stops a container: a listener's normal end.
        await process.TerminateAsync().WaitAsync(Patience);
        Assert.Equal(PingTest.Passed, process.ExitCode);
    }

    [Fact]
    public async Task Our_listener_on_every_interface_publishes_an_address_of_another_than_loopback_when_there_is_one()
    {
        var listener = Settings(InteropContract.TransportInterop, dialer: false) with { ListenIp = "0.0.0.0" };
        await using var rendezvous = await RedisRendezvous.ConnectAsync(redis.Address, Patience);
        await rendezvous.Database.KeyDeleteAsync("listenerAddr");
        var others = NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Where(a => a.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a.Address))
            .Select(a => a.Address.ToString())
            .ToArray();
        using var process = HarnessProcess.Start(InteropImplementation.Dotnet, listener);

        var address = await rendezvous.WaitForListenerAsync(listener with { IsDialer = true }, Patience);

        var ip = address.Split('/')[2];
        if (others.Length > 0)
            Assert.Contains(ip, others);
        else
            Assert.Equal("127.0.0.1", ip);
        await process.StopAsync();
    }

    [Fact]
    public async Task Our_unified_listener_sets_TEST_KEY_listener_multiaddr()
    {
        var listener = Settings(InteropContract.UnifiedTesting, dialer: false, testKey: "5e7a11ed");
        await using var rendezvous = await RedisRendezvous.ConnectAsync(redis.Address, Patience);
        var written = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscriber = rendezvous.Database.Multiplexer.GetSubscriber();
        await subscriber.SubscribeAsync(RedisChannel.Literal("__keyspace@0__:5e7a11ed_listener_multiaddr"), (_, operation) => written.TrySetResult(operation!));
        using var process = HarnessProcess.Start(InteropImplementation.Dotnet, listener);

        Assert.Equal("set", await written.Task.WaitAsync(Patience));

        Assert.Equal(RedisType.String, await rendezvous.Database.KeyTypeAsync("5e7a11ed_listener_multiaddr"));
        Assert.Matches(@"^/ip4/127\.0\.0\.1/tcp/\d+" + PeerAddress, (string?)await rendezvous.Database.StringGetAsync("5e7a11ed_listener_multiaddr"));
        await process.StopAsync();
    }

    [Fact]
    public async Task Our_dialer_without_a_listener_fails_after_test_timeout_seconds_with_nothing_on_stdout()
    {
        await using var rendezvous = await RedisRendezvous.ConnectAsync(redis.Address, Patience);
        await rendezvous.Database.KeyDeleteAsync("listenerAddr");
        var dialer = Settings(InteropContract.TransportInterop, dialer: true) with { Timeout = TimeSpan.FromSeconds(10) };
        using var process = HarnessProcess.Start(InteropImplementation.Dotnet, dialer);

        await process.Exited.WaitAsync(Patience);

        Assert.Equal(PingTest.Failed, process.ExitCode);
        Assert.Equal("", await process.OutputAsync());
        Assert.Contains($"ERROR the test ran over its 10 s while waiting for the listener's address in Redis list 'listenerAddr' at {redis.Address}", await process.ErrorTailAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Our_dialer_fails_when_the_published_listener_is_gone()
    {
        await using var rendezvous = await RedisRendezvous.ConnectAsync(redis.Address, Patience);
        var dialer = Settings(InteropContract.TransportInterop, dialer: true) with { Timeout = TimeSpan.FromSeconds(30) };
        await rendezvous.Database.KeyDeleteAsync("listenerAddr");
        // Port 1 on loopback: nothing listens there, so the dial is refused at once.
        await rendezvous.Database.ListRightPushAsync("listenerAddr", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGzBxZVF2bwo1jFtkKjoTw2iRZNzVSGPjvuHV5bM6qAtD");
        using var process = HarnessProcess.Start(InteropImplementation.Dotnet, dialer);

        await process.Exited.WaitAsync(Patience);

        Assert.Equal(PingTest.Failed, process.ExitCode);
        Assert.Equal("", await process.OutputAsync());
        Assert.Contains("ERROR", await process.ErrorTailAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await rendezvous.Database.ListLengthAsync("listenerAddr"));
    }

    [Fact]
    public async Task Our_dialer_fails_naming_the_redis_it_cannot_reach()
    {
        // Port 1 on loopback: nothing listens there, so every connection attempt is refused.
        var dialer = Settings(InteropContract.TransportInterop, dialer: true) with { RedisAddress = "127.0.0.1:1", Timeout = TimeSpan.FromSeconds(30) };
        using var process = HarnessProcess.Start(InteropImplementation.Dotnet, dialer);

        await process.Exited.WaitAsync(Patience);

        Assert.Equal(PingTest.Failed, process.ExitCode);
        Assert.Equal("", await process.OutputAsync());
        Assert.Contains("(while connecting to Redis at 127.0.0.1:1)", await process.ErrorTailAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_transport_is_a_usage_error_naming_the_variable()
    {
        var dialer = Settings(InteropContract.TransportInterop, dialer: true) with { Transport = "quic-v1" };
        using var process = HarnessProcess.Start(InteropImplementation.Dotnet, dialer);

        await process.Exited.WaitAsync(Patience);

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("", await process.OutputAsync());
        Assert.Equal("ERROR transport 'quic-v1' is not one of tcp, ws", await process.ErrorTailAsync());
    }
}
