namespace Libp2p.Actors.Resources;

/// <summary>Hears named scopes come and go (the <see cref="ResourceManagerActor"/> makes a <see cref="ScopeActor"/> for each).</summary>
internal interface IScopeObserver
{
    /// <summary>A named scope exists: system, transient, allow-listed, or a service, protocol or peer made on demand.</summary>
    void Opened(NamedScope scope);

    /// <summary>A named scope was reclaimed: idle and empty.</summary>
    void Closed(string path);
}
