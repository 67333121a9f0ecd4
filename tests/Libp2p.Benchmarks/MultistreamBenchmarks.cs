using System.Buffers;
using BenchmarkDotNet.Attributes;
using Libp2p.Protocols.Multistream;

namespace Libp2p.Benchmarks;

/// <summary>
/// Whole negotiations in memory, both sides sans-IO: the common one-round-trip case, one with a
/// refused proposal first, and the responder alone parsing a pipelined header and proposal.
/// </summary>
[MemoryDiagnoser]
public class MultistreamBenchmarks
{
    private static readonly string[] Proposals = ["/yamux/2.0.0", "/yamux/1.0.0"];
    private static readonly string[] Supported = ["/yamux/1.0.0", "/mplex/6.7.0"];
    private static readonly string[] Noise = ["/noise"];
    private readonly ArrayBufferWriter<byte> _toResponder = new(256);
    private readonly ArrayBufferWriter<byte> _toInitiator = new(256);
    private byte[] _pipelined = [];

    /// <summary>Prepares the dialer's first write for the responder-only benchmark.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var output = new ArrayBufferWriter<byte>();
        new MultistreamInitiator(Noise).Start(output);
        _pipelined = output.WrittenSpan.ToArray();
    }

    /// <summary>Header and an accepted first proposal: one round trip.</summary>
    [Benchmark(Baseline = true)]
    public string? NegotiateFirstChoice() => Negotiate(Noise, Noise);

    /// <summary>Header, one refused proposal, one accepted: two round trips.</summary>
    [Benchmark]
    public string? NegotiateAfterRefusal() => Negotiate(Proposals, Supported);

    /// <summary>The listener reading a pipelined header and proposal and answering both.</summary>
    [Benchmark]
    public string? RespondToPipelinedProposal()
    {
        _toInitiator.ResetWrittenCount();
        var responder = new MultistreamResponder(Noise);
        responder.Receive(_pipelined, _toInitiator);
        return responder.Protocol;
    }

    private string? Negotiate(string[] proposals, string[] supported)
    {
        _toResponder.ResetWrittenCount();
        _toInitiator.ResetWrittenCount();
        var initiator = new MultistreamInitiator(proposals);
        var responder = new MultistreamResponder(supported);
        initiator.Start(_toResponder);
        while (initiator.State == NegotiationState.Negotiating)
        {
            responder.Receive(_toResponder.WrittenSpan, _toInitiator);
            _toResponder.ResetWrittenCount();
            initiator.Receive(_toInitiator.WrittenSpan, _toResponder);
            _toInitiator.ResetWrittenCount();
        }
        return initiator.Protocol;
    }
}
