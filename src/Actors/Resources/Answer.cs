using Akka.Actor;

namespace Libp2p.Actors.Resources;

/// <summary>
/// The answer to one request of the facade to a scope actor, carried in the request and completed by
/// the actor that decides it. An <c>Ask</c> would make a temporary actor and a timer per request, a
/// few times the cost of the approval itself; here one sweep per manager (<see cref="Answers"/>)
/// keeps the deadline instead.
/// </summary>
internal interface IAnswer
{
    /// <summary>When, in <see cref="Environment.TickCount64"/> milliseconds, the answer is given up on.</summary>
    long Deadline { get; }

    bool IsCompleted { get; }

    /// <summary>The next older open answer of its manager (<see cref="Answers"/>'s list).</summary>
    IAnswer? Older { get; set; }

    /// <summary>The next newer open answer of its manager.</summary>
    IAnswer? Newer { get; set; }

    /// <summary>Whether it is on its manager's list of open answers.</summary>
    bool Listed { get; set; }

    /// <summary>Completes the answer with <paramref name="message"/>, the reply an <c>Ask</c> would have had.</summary>
    void Complete(object message);

    void Fail(Exception reason);
}

/// <summary>
/// An answer of type <typeparamref name="T"/>. Its continuations run on the thread pool, never
/// inline on the scope actor that completes it: the caller's code must not run on, or block, a
/// dispatcher thread. Completed, it leaves its manager's <see cref="Answers"/> at once, so nothing
/// keeps it alive.
/// </summary>
internal sealed class Answer<T>(Answers owner, long deadline) : TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously), IAnswer
{
    public long Deadline { get; } = deadline;

    public bool IsCompleted => Task.IsCompleted;

    // Links of the owner's list of open answers, written under its gate only.
    public IAnswer? Older { get; set; }

    public IAnswer? Newer { get; set; }

    public bool Listed { get; set; }

    public void Complete(object message)
    {
        var done = message switch
        {
            T answer => TrySetResult(answer),
            Status.Failure failure => TrySetException(failure.Cause),
            _ => TrySetException(new InvalidOperationException($"a resource scope answered {message.GetType().Name} where {typeof(T).Name} was expected")),
        };
        if (done)
            owner.Remove(this);
    }

    public void Fail(Exception reason)
    {
        if (TrySetException(reason))
            owner.Remove(this);
    }
}

/// <summary>
/// Where a scope actor sends its answer to a request: the request's <see cref="IAnswer"/> when the
/// facade sent it, or else its sender (an actor that told the request).
/// </summary>
internal readonly record struct ReplyTo(IActorRef Sender, IAnswer? Answer)
{
    public void Ok(object message)
    {
        if (Answer is null)
            Sender.Tell(message);
        else
            Answer.Complete(message);
    }

    public void Fail(Exception reason)
    {
        if (Answer is null)
            Sender.Tell(new Status.Failure(reason));
        else
            Answer.Fail(reason);
    }
}

/// <summary>
/// The answers one manager's facade is waiting for, oldest first, and their one deadline: the
/// manager's actor sweeps them once a second while any is open (<see cref="Sweep"/>; told by
/// <see cref="FirstOpened"/> when the first one opens) and fails any still open after
/// <see cref="ResourceManager.AnswerTimeout"/>, as an <c>Ask</c> would have; when it stops, it fails
/// all of them, and any asked later, at once. An answer leaves the list when it is completed. The
/// list's gate guards two links per answer and decides nothing: approvals are the scope actors'.
/// </summary>
internal sealed class Answers
{
    private readonly object _gate = new();
    private IAnswer? _oldest;
    private IAnswer? _newest;
    private int _open;
    private bool _stopped;

    /// <summary>
    /// Called, outside the gate, each time an answer opens while none was: the manager's actor
    /// sweeps only while answers are open, so an idle node runs no timer for them.
    /// </summary>
    public Action? FirstOpened { get; set; }

    /// <summary>Whether the manager's actor has its sweep timer running (it says so when it starts or stops it).</summary>
    public bool Sweeping
    {
        get => Volatile.Read(ref _sweeping);
        set => Volatile.Write(ref _sweeping, value);
    }

    private bool _sweeping;

    /// <summary>A new answer, given up on after <see cref="ResourceManager.AnswerTimeout"/>.</summary>
    public Answer<T> New<T>()
    {
        var answer = new Answer<T>(this, Environment.TickCount64 + (long)ResourceManager.AnswerTimeout.TotalMilliseconds);
        bool stopped;
        var first = false;
        lock (_gate)
        {
            stopped = _stopped;
            if (!stopped)
            {
                first = _open == 0;
                answer.Older = _newest;
                if (_newest is null)
                    _oldest = answer;
                else
                    _newest.Newer = answer;
                _newest = answer;
                answer.Listed = true;
                _open++;
            }
        }
        if (stopped)
            answer.Fail(Stopped());
        else if (first)
            FirstOpened?.Invoke();
        return answer;
    }

    /// <summary>How many answers are open.</summary>
    public int Open
    {
        get
        {
            lock (_gate)
                return _open;
        }
    }

    /// <summary>Takes a completed answer off the list.</summary>
    public void Remove(IAnswer answer)
    {
        lock (_gate)
            Unlink(answer);
    }

    /// <summary>Fails the answers past their deadline with an <see cref="AskTimeoutException"/>.</summary>
    public void Sweep(long now)
    {
        List<IAnswer>? expired = null;
        lock (_gate)
        {
            // Oldest first, all with the same timeout: the first one not yet due ends the sweep.
            while (_oldest is { } oldest && oldest.Deadline <= now)
            {
                Unlink(oldest);
                (expired ??= []).Add(oldest);
            }
        }
        // Failed outside the gate: a failure's continuations may ask for a new answer.
        foreach (var answer in expired ?? [])
            answer.Fail(new AskTimeoutException($"a resource scope did not answer within {ResourceManager.AnswerTimeout.TotalSeconds:F0} s"));
    }

    /// <summary>The manager stopped: nothing will answer what is still open, nor anything asked from now on.</summary>
    public void Stop()
    {
        var open = new List<IAnswer>();
        lock (_gate)
        {
            _stopped = true;
            while (_oldest is { } oldest)
            {
                Unlink(oldest);
                open.Add(oldest);
            }
        }
        foreach (var answer in open)
            answer.Fail(Stopped());
    }

    /// <summary>The manager started again: answers are waited for again.</summary>
    public void Restart()
    {
        lock (_gate)
            _stopped = false;
    }

    private static InvalidOperationException Stopped() => new("the resource manager stopped before it answered");

    private void Unlink(IAnswer answer)
    {
        if (!answer.Listed)
            return;
        if (answer.Older is { } older)
            older.Newer = answer.Newer;
        else
            _oldest = answer.Newer;
        if (answer.Newer is { } newer)
            newer.Older = answer.Older;
        else
            _newest = answer.Older;
        answer.Older = answer.Newer = null;
        answer.Listed = false;
        _open--;
    }
}
