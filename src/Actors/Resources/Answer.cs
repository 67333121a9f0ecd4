using System.Collections.Concurrent;
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

    /// <summary>Completes the answer with <paramref name="message"/>, the reply an <c>Ask</c> would have had.</summary>
    void Complete(object message);

    void Fail(Exception reason);
}

/// <summary>
/// An answer of type <typeparamref name="T"/>. Its continuations run on the thread pool, never
/// inline on the scope actor that completes it: the caller's code must not run on, or block, a
/// dispatcher thread.
/// </summary>
internal sealed class Answer<T>(long deadline) : TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously), IAnswer
{
    public long Deadline { get; } = deadline;

    public bool IsCompleted => Task.IsCompleted;

    public void Complete(object message)
    {
        if (message is T answer)
            TrySetResult(answer);
        else if (message is Status.Failure failure)
            TrySetException(failure.Cause);
        else
            TrySetException(new InvalidOperationException($"a resource scope answered {message.GetType().Name} where {typeof(T).Name} was expected"));
    }

    public void Fail(Exception reason) => TrySetException(reason);
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
/// The answers one manager's facade is waiting for, and their one deadline: the manager's actor
/// sweeps them (<see cref="Sweep"/>) and fails any still open after
/// <see cref="ResourceManager.AnswerTimeout"/>, as an <c>Ask</c> would have; when it stops, it fails
/// all of them. Adding is lock-free; only the sweeping actor reads them.
/// </summary>
internal sealed class Answers
{
    private readonly ConcurrentQueue<IAnswer> _fresh = new();
    // Still open at the last sweep; touched by the sweeping actor only.
    private readonly List<IAnswer> _open = [];
    private volatile bool _stopped;

    /// <summary>A new answer, given up on after <see cref="ResourceManager.AnswerTimeout"/>.</summary>
    public Answer<T> New<T>()
    {
        var answer = new Answer<T>(Environment.TickCount64 + (long)ResourceManager.AnswerTimeout.TotalMilliseconds);
        _fresh.Enqueue(answer);
        // Checked after adding: a stop that ran its last sweep in between leaves no one to fail it.
        if (_stopped)
            FailAll();
        return answer;
    }

    /// <summary>How many answers were still open at the last sweep.</summary>
    public int Open => _open.Count;

    /// <summary>Fails the answers past their deadline with an <see cref="AskTimeoutException"/>, and forgets those answered.</summary>
    public void Sweep(long now)
    {
        _open.RemoveAll(a => Settle(a, now));
        while (_fresh.TryDequeue(out var answer))
            if (!Settle(answer, now))
                _open.Add(answer);
    }

    /// <summary>The manager stopped: nothing will answer what is still open, nor anything asked from now on.</summary>
    public void Stop()
    {
        _stopped = true;
        FailAll();
    }

    private void FailAll()
    {
        var stopped = new InvalidOperationException("the resource manager stopped before it answered");
        // The sweeper is gone, so any thread may come here: each answer is failed at most once.
        lock (_open)
        {
            foreach (var answer in _open)
                answer.Fail(stopped);
            _open.Clear();
        }
        while (_fresh.TryDequeue(out var answer))
            answer.Fail(stopped);
    }

    private static bool Settle(IAnswer answer, long now)
    {
        if (answer.IsCompleted)
            return true;
        if (now < answer.Deadline)
            return false;
        answer.Fail(new AskTimeoutException($"a resource scope did not answer within {ResourceManager.AnswerTimeout.TotalSeconds:F0} s"));
        return true;
    }
}
