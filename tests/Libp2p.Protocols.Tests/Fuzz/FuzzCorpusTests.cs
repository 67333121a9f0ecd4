using Libp2p.Fuzz;

namespace Libp2p.Protocols.Tests.Fuzz;

/// <summary>
/// Replays every input the fuzzers kept (tests/Libp2p.Fuzz/corpus/&lt;target&gt;/) through the same
/// target code, so what a fuzz run found stays fixed: each must raise only the errors its parser
/// documents, and end.
/// </summary>
public sealed class FuzzCorpusTests
{
    private static readonly string Corpus = Path.Combine(AppContext.BaseDirectory, "FuzzCorpus");

    // Generous: the slowest input (an RSA-8192 key, signed and verified) takes well under a second.
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static TheoryData<string, string> Inputs()
    {
        var inputs = new TheoryData<string, string>();
        foreach (var folder in Directory.GetDirectories(Corpus).Order(StringComparer.Ordinal))
            foreach (var file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
                inputs.Add(Path.GetFileName(folder), Path.GetFileName(file));
        return inputs;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task A_corpus_input_must_raise_only_the_errors_its_parser_documents(string target, string file)
    {
        var fuzz = FuzzTargets.Find(target);
        Assert.NotNull(fuzz);
        var input = await File.ReadAllBytesAsync(Path.Combine(Corpus, target, file));
        await Task.Run(() => fuzz.Run(input)).WaitAsync(Deadline);
    }

    [Fact]
    public void Every_fuzz_target_must_have_a_corpus_to_start_from()
    {
        foreach (var target in FuzzTargets.All)
        {
            var folder = Path.Combine(Corpus, target.Name);
            Assert.True(Directory.Exists(folder) && Directory.GetFiles(folder).Length > 0, $"no corpus for {target.Name}");
        }
        Assert.Equal(FuzzTargets.All.Count, FuzzTargets.All.Select(t => t.Name).Distinct().Count());
    }
}
