using Libp2p.Host.Services;

namespace Libp2p.Cli.Commands;

/// <summary><c>p2p identify MULTIADDR [--timeout SECONDS]</c>: what the peer says about itself in <c>/ipfs/id/1.0.0</c>.</summary>
internal static class IdentifyCommand
{
    public static async Task<int> RunAsync(CommandLine line, TextWriter output)
    {
        var timeout = Node.Timeout(line);
        var (address, _) = Node.ParseTarget(line);

        return await Node.DialAsync(line, address, timeout, async (host, peer) =>
        {
            var result = await Node.AttemptAsync($"identify {peer}", host.IdentifyAsync(peer).WaitAsync(timeout)).ConfigureAwait(false);
            // This node's own view: the verdict so far and the NAT type its observers (the peer among them) suggest.
            var own = await Node.AttemptAsync("address state", host.AddressStateAsync().WaitAsync(timeout)).ConfigureAwait(false);
            if (line.Json)
            {
                Output.Json(output, new Dictionary<string, object?>
                {
                    ["event"] = "identify",
                    ["peer"] = result.Peer.ToString(),
                    ["agentVersion"] = result.AgentVersion,
                    ["protocolVersion"] = result.ProtocolVersion,
                    ["protocols"] = result.Protocols,
                    ["listenAddresses"] = result.ListenAddresses.Select(a => a.ToString()).ToArray(),
                    ["observedAddress"] = result.ObservedAddress?.ToString(),
                    ["certified"] = result.Certified,
                    ["reachability"] = own.Reachability.ToString(),
                    ["natDeviceType"] = new Dictionary<string, string> { ["tcp"] = own.TcpNatType.ToString(), ["udp"] = own.UdpNatType.ToString() },
                });
                return 0;
            }
            output.WriteLine($"peer id: {result.Peer}");
            output.WriteLine($"agent version: {result.AgentVersion ?? "(none)"}");
            output.WriteLine($"protocol version: {result.ProtocolVersion ?? "(none)"}");
            output.WriteLine($"protocols: {string.Join(' ', result.Protocols)}");
            output.WriteLine($"listen addresses{(result.Certified ? " (signed peer record)" : "")}:");
            foreach (var listen in result.ListenAddresses)
                output.WriteLine($"  {listen}");
            output.WriteLine($"observed address: {result.ObservedAddress?.ToString() ?? "(none)"}");
            output.WriteLine($"reachability (this node): {own.Reachability}");
            output.WriteLine($"nat device type (this node): tcp {own.TcpNatType}, udp {own.UdpNatType}");
            return 0;
        }).ConfigureAwait(false);
    }
}
