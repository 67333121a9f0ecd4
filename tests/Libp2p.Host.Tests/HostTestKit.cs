using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Host.Tests;

/// <summary>Hosts in one actor system on loopback, each under its own name.</summary>
public abstract class HostTestKit() : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING")
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private int _hosts;

    protected static HostSettings Settings(Func<HostSettings, HostSettings>? configure = null)
    {
        var settings = new HostSettings(PrivateKey.Generate(KeyType.Ed25519)) { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] };
        return configure?.Invoke(settings) ?? settings;
    }

    protected Task<Libp2pHost> StartAsync(Func<HostSettings, HostSettings>? configure = null) =>
        Libp2pHost.StartAsync(Sys, Settings(configure), $"node-{Interlocked.Increment(ref _hosts)}").WaitAsync(Patience);

    protected static async Task<Multiaddr> AddressOfAsync(Libp2pHost host) => (await host.AddressesAsync())[0];
}
