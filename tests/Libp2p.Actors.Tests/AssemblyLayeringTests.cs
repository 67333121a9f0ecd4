using System.Reflection;

namespace Libp2p.Actors.Tests;

/// <summary>Dependencies go one way, Host → Actors → Protocols, and Protocols holds no actors.</summary>
public sealed class AssemblyLayeringTests
{
    private static IEnumerable<string> ReferencesOf(string assembly) =>
        Assembly.Load(assembly).GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Libp2p.", StringComparison.Ordinal));

    [Fact]
    public void Protocols_must_reference_no_other_project_assembly() =>
        Assert.Empty(ReferencesOf("Libp2p.Protocols"));

    [Fact]
    public void Actors_must_reference_Protocols_only() =>
        Assert.All(ReferencesOf("Libp2p.Actors"), name => Assert.Equal("Libp2p.Protocols", name));

    [Fact]
    public void Host_must_not_be_referenced_below_it() =>
        Assert.DoesNotContain(ReferencesOf("Libp2p.Actors").Concat(ReferencesOf("Libp2p.Protocols")), name => name.StartsWith("Libp2p.Host", StringComparison.Ordinal));

    [Fact]
    public void Protocols_must_hold_no_actor()
    {
        var actors = Assembly.Load("Libp2p.Protocols").GetTypes()
            .Where(t => typeof(Akka.Actor.ActorBase).IsAssignableFrom(t))
            .Select(t => t.FullName);
        Assert.Empty(actors);
    }
}
