using Akka.Configuration;
using Libp2p.Actors.Resources;
using Libp2p.Host.Services;

namespace Libp2p.Host.Tests.Services;

public sealed class ResourcesServiceTests : HostTestKit
{
    [Fact]
    public async Task A_host_serving_resources_hands_its_scopes_to_a_peer()
    {
        var server = await StartAsync(s => s with { Resources = true });
        var client = await StartAsync();
        await client.ConnectAsync(await AddressOfAsync(server));

        var scopes = await client.RemoteResourceSnapshotAsync(server.PeerId).WaitAsync(Patience);

        Assert.Equal("system", scopes[0].Scope);
        Assert.Contains(scopes, s => s.Scope == $"peer:{client.PeerId}");
        // The client's own connection is in the figures it reads.
        Assert.True(scopes[0].Usage.NumConnsInbound >= 1);
        Assert.Equal((await server.ResourceSnapshotAsync())[0].Limit, scopes[0].Limit);
    }

    [Fact]
    public async Task A_host_does_not_serve_resources_unless_told_to()
    {
        var server = await StartAsync();
        var client = await StartAsync();
        await client.ConnectAsync(await AddressOfAsync(server));

        var refused = await Assert.ThrowsAsync<Protocols.Multistream.MultistreamException>(() => client.RemoteResourceSnapshotAsync(server.PeerId).WaitAsync(Patience));
        Assert.Equal("multistream: the remote supports none of /libp2p-dotnet/resources/1.0.0", refused.Message);
        Assert.False(HostSettings.FromConfig(ConfigurationFactory.Empty).Resources);
        Assert.True(HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.services.resources = on")).Resources);
    }

    [Fact]
    public void The_snapshot_survives_its_JSON_form_with_unlimited_limits_as_null()
    {
        var scopes = new[]
        {
            new ScopeSnapshot("system", new ScopeStat(1, 2, 3, 4, 5, 6), new ScopeLimit { Conns = 10, Memory = 1 << 20 }),
            new ScopeSnapshot("peer:x", ScopeStat.Zero, ScopeLimit.Unlimited),
        };

        var json = ResourcesService.Encode(scopes);

        Assert.Equal(scopes, ResourcesService.Decode(json));
        Assert.Contains("\"streams\":null", System.Text.Encoding.UTF8.GetString(json), StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => ResourcesService.Decode("{\"scopes\":[{}]}"u8));
    }
}
