using System.Diagnostics;

namespace MixFit.Bench;

/// <summary>
/// Runs several training loops side by side, one step each in turn, each loop on its own thread and only one thread
/// stepping at a time, so a loop that owns its own iteration (a whole <c>Fit</c> of many steps) takes turns with
/// hand-written ones exactly as they take turns with each other, and drift in the machine's speed hits all alike.
/// </summary>
/// <remarks>
/// A loop calls <see cref="Participant.Step"/> where each of its steps begins (a hand loop before its step, a Fit from
/// its batch-begin callback): that ends the participant's previous step, hands the turn on, and waits for the turn to
/// come back. A step is so timed from getting the turn to wanting it again: the step and whatever the loop does up to
/// its next one (for Fit: its batch-end callbacks, the logs, the next batch). TorchSharp's dispose scopes and
/// libtorch's grad mode are per thread, so the loops do not disturb each other.
/// </remarks>
internal sealed class TurnTaking
{
    private readonly List<Participant> participants = new();
    private readonly object gate = new();
    private int turn;

    /// <summary>Adds a loop; <paramref name="run"/> drives it and calls the participant's <c>Step</c> before each step.</summary>
    public Participant Add(string label, int warmup, Action<Participant> run)
    {
        var participant = new Participant(this, label, warmup, run);
        participants.Add(participant);
        return participant;
    }

    /// <summary>Runs every loop to its end, turn by turn; rethrows the first failure of a loop.</summary>
    public void Run()
    {
        var threads = participants.Select(p => new Thread(p.Body, maxStackSize: 16 << 20) { Name = p.Label, IsBackground = true }).ToList();
        lock (gate)
        {
            turn = 0;
        }

        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (participants.FirstOrDefault(p => p.Failure is not null) is { } failed)
        {
            throw new InvalidOperationException($"The loop '{failed.Label}' failed: {failed.Failure!.Message}", failed.Failure);
        }
    }

    private void WaitFor(Participant participant)
    {
        int index = participants.IndexOf(participant);
        lock (gate)
        {
            while (turn != index)
            {
                Monitor.Wait(gate);
            }
        }
    }

    private void PassOn(Participant participant, bool leaving)
    {
        lock (gate)
        {
            participant.Done |= leaving;
            int index = participants.IndexOf(participant);
            for (int next = 1; next <= participants.Count; next++)
            {
                int candidate = (index + next) % participants.Count;
                if (!participants[candidate].Done)
                {
                    turn = candidate;
                    Monitor.PulseAll(gate);
                    return;
                }
            }

            turn = -1;    // every loop has ended
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>One loop: its label, its measured steps and its place in the turns.</summary>
    internal sealed class Participant
    {
        private readonly TurnTaking owner;
        private readonly Action<Participant> run;
        private readonly int warmup;
        private readonly Stopwatch watch = new();
        private int started;

        internal Participant(TurnTaking owner, string label, int warmup, Action<Participant> run)
        {
            this.owner = owner;
            this.run = run;
            this.warmup = warmup;
            Label = label;
        }

        public string Label { get; }

        /// <summary>The measured step times in milliseconds (the warm-up steps left out).</summary>
        public List<double> Times { get; } = new();

        internal bool Done { get; set; }

        internal Exception? Failure { get; private set; }

        /// <summary>Ends the previous step (if any), hands the turn on and returns when this loop may step again.</summary>
        public void Step()
        {
            if (started > 0)
            {
                if (started > warmup)
                {
                    Times.Add(watch.Elapsed.TotalMilliseconds);
                }

                owner.PassOn(this, leaving: false);
            }

            owner.WaitFor(this);
            started++;
            watch.Restart();
        }

        internal void Body()
        {
            try
            {
                run(this);    // the last step is not timed: it ends with the loop's own ending (Fit's train-end work)
            }
            catch (Exception e)
            {
                Failure = e;
            }
            finally
            {
                if (started == 0)
                {
                    owner.WaitFor(this);    // never stepped: take a turn only to leave
                }

                owner.PassOn(this, leaving: true);
            }
        }
    }
}
