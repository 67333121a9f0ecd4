using System.Security.Cryptography;
using Libp2p.Fuzz;
using SharpFuzz;

// The fuzz driver. `run` is what afl-fuzz starts (build.cake's Fuzz task does it all):
//   list                          the targets and what each covers
//   run TARGET                    under afl-fuzz: SharpFuzz's fork server; alone: one input from stdin
//   replay TARGET PATH...         runs files (or folders of files) once each, reports what escapes
//   seed CORPUS                   writes the seed inputs of every target under CORPUS/<target>/
//   collect TARGET FROM CORPUS N  keeps afl-fuzz's finds in CORPUS/<target>/: at most N of afl-cmin's output FROM, replacing
//                                 the earlier finds, or adds the inputs of a crashes or hangs folder FROM
if (args is ["list"])
{
    foreach (var target in FuzzTargets.All)
        Console.WriteLine($"{target.Name,-16} {target.Covers}");
    return 0;
}
if (args is ["run", var name] && FuzzTargets.Find(name) is { } toRun)
{
    Fuzzer.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        toRun.Run(buffer.ToArray());
    });
    return 0;
}
if (args is ["replay", var replayName, .. var paths] && FuzzTargets.Find(replayName) is { } toReplay)
{
    var failures = 0;
    foreach (var file in paths.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : [p]))
    {
        try
        {
            toReplay.Run(File.ReadAllBytes(file));
        }
#pragma warning disable CA1031 // reporting whatever escapes is the point
        catch (Exception e)
#pragma warning restore CA1031
        {
            failures++;
            Console.WriteLine($"{file}: {e.GetType().Name}: {e.Message}");
        }
    }
    return failures == 0 ? 0 : 1;
}
if (args is ["seed", var corpus])
{
    foreach (var (target, seeds) in FuzzSeeds.All())
    {
        var folder = Directory.CreateDirectory(Path.Combine(corpus, target)).FullName;
        for (var i = 0; i < seeds.Count; i++)
            File.WriteAllBytes(Path.Combine(folder, $"seed-{i:00}"), seeds[i]);
    }
    return 0;
}
if (args is ["collect", var collectName, var from, var into, var maxText] && int.TryParse(maxText, out var max) && Directory.Exists(from))
{
    // From afl-cmin's output (a minimized queue that started from this corpus), the finds replace
    // the earlier ones, so the corpus stays minimized and bounded; seeds, crashes and hangs stay.
    // From a crashes or hangs folder, they are added. Named by content, smallest first.
    var kind = Path.GetFileName(Path.TrimEndingDirectorySeparator(from)) switch
    {
        "crashes" => "crash-",
        "hangs" => "hang-",
        _ => "",
    };
    var folder = Directory.CreateDirectory(Path.Combine(into, collectName)).FullName;
    if (kind == "")
    {
        // Finds are named by their hash alone; seed-, crash- and hang- files have a dash.
        foreach (var old in Directory.GetFiles(folder).Where(f => !Path.GetFileName(f).Contains('-', StringComparison.Ordinal)))
            File.Delete(old);
    }
    var known = Directory.GetFiles(folder).Select(f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)))[..16]).ToHashSet();
    var added = 0;
    foreach (var file in Directory.GetFiles(from).Where(f => !Path.GetFileName(f).StartsWith("README", StringComparison.Ordinal)).OrderBy(f => new FileInfo(f).Length))
    {
        var bytes = File.ReadAllBytes(file);
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
        if (added >= max || !known.Add(hash))
            continue;
        File.WriteAllBytes(Path.Combine(folder, kind + hash), bytes);
        added++;
    }
    Console.WriteLine($"{collectName}: {added} inputs kept from {from}");
    return 0;
}
Console.Error.WriteLine("usage: list | run TARGET | replay TARGET PATH... | seed CORPUS | collect TARGET FROM CORPUS MAX");
Console.Error.WriteLine("targets: " + string.Join(", ", FuzzTargets.All.Select(t => t.Name)));
return 2;
