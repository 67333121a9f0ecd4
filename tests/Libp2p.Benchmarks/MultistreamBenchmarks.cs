using System.Buffers;
using BenchmarkDotNet.Attributes;
using Libp2p.Protocols.Multistream;

namespace Libp2p.Benchmarks;

/// <summary>A whole negotiation in memory: header, one refused proposal, one accepted.</summary>
[MemoryDiagnoser]
public class MultistreamBenchmarks
{
    private static readonly string[] Proposals = ["/yamux/2.0.0", "/yamux/1.0.0"];
    private static readonly string[] Supported = ["/yamux/1.0.0", "/mplex/6.7.0"];
    private readonly ArrayBufferWriter<byte> _toResponder = new(256);
    private readonly ArrayBufferWriter<byte> _toInitiator = new(256);

    [Benchmark]
    public string? Negotiate()
    {
        _toResponder.ResetWrittenCount();
        _toInitiator.ResetWrittenCount();
        var initiator = MultistreamNegotiator.Initiator(Proposals);
        var responder = MultistreamNegotiator.Responder(Supported);
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
