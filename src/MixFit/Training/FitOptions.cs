using System.Text.Json.Serialization;
using MixFit.Callbacks;
using MixFit.Data;
using MixFit.Precision;

namespace MixFit.Training;

/// <summary>Keras' <c>fit</c> arguments. Defaults: 1 epoch, batch 32, shuffled, verbose 1.</summary>
public sealed record FitOptions
{
    /// <summary>Epochs to train (the last epoch index + 1, as in Keras with <see cref="InitialEpoch"/>). Must be &gt;= 1.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Samples per batch for in-memory data. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Fraction of in-memory data held out for validation (the last samples, before shuffling); 0: none.</summary>
    public double ValidationSplit { get; init; }

    /// <summary>Validation data; takes precedence over <see cref="ValidationSplit"/>.</summary>
    [JsonIgnore]
    public IBatchSource? ValidationData { get; init; }

    /// <summary>Shuffle in-memory training data every epoch (seeded by <see cref="Seed"/> and the epoch). Default true.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of the shuffle order. Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Epoch to start at (0-based), e.g. to continue a previous fit.</summary>
    public int InitialEpoch { get; init; }

    /// <summary>
    /// Steps of <see cref="InitialEpoch"/> already trained (resuming inside an epoch): its first batches are passed over,
    /// in the same data order, and training continues with the next. Default 0.
    /// </summary>
    public int InitialStep { get; init; }

    /// <summary>Stop each epoch after this many batches; null: the whole source.</summary>
    public int? StepsPerEpoch { get; init; }

    /// <summary>Callbacks, called in this order after the progress logger and before the history.</summary>
    [JsonIgnore]
    public IReadOnlyList<Callback> Callbacks { get; init; } = Array.Empty<Callback>();

    /// <summary>0 silent, 1 progress bar, 2 one line per epoch.</summary>
    public int Verbose { get; init; } = 1;

    /// <summary>Clipping of unscaled gradients, or null.</summary>
    public GradientClipping? Clipping { get; init; }

    /// <summary>Micro-batches per optimizer step. Default 1.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>
    /// Keras' <c>class_weight</c>: the weight of each class index in the training loss and metrics (not in validation),
    /// e.g. <c>{ [0] = 1, [1] = 5 }</c> to count class 1's samples five times; missing classes weigh 1. The class of a
    /// sample is its integer target, the argmax of a one-hot row, or the rounded binary target. Null: none.
    /// Cannot be combined with sample weights.
    /// </summary>
    public IReadOnlyDictionary<int, double>? ClassWeight { get; init; }

    /// <summary>
    /// Keras' <c>sample_weight</c> for in-memory data: one weight per sample of <c>x</c>, shape [samples], float;
    /// split with the data by <see cref="ValidationSplit"/> and shuffled with it. A batch source instead supplies
    /// <see cref="Batch.SampleWeight"/>. Null: every sample weighs 1.
    /// </summary>
    [JsonIgnore]
    public TorchSharp.torch.Tensor? SampleWeight { get; init; }

    /// <summary>
    /// Data-parallel training across the ranks of an MPI job (<c>DataParallel.FromEnvironment()</c> under
    /// <c>mpirun</c>): each rank trains on its shard of every global batch of <see cref="BatchSize"/> samples, gradients
    /// are averaged before each step, epoch logs are averaged, and only rank 0 prints. Null: one process.
    /// </summary>
    [JsonIgnore]
    public MixFit.Distributed.DataParallel? DataParallel { get; init; }

    /// <summary>Where the progress log goes; null: the console.</summary>
    [JsonIgnore]
    public TextWriter? Output { get; init; }

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message gives the received value.</exception>
    public FitOptions Validated()
    {
        if (Epochs < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, $"Epochs must be at least 1, got {Epochs}.");
        }

        if (BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"The batch size must be at least 1, got {BatchSize}.");
        }

        if (ValidationSplit != 0 && !(ValidationSplit > 0 && ValidationSplit < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(ValidationSplit), ValidationSplit, $"The validation split must be in (0, 1), got {ValidationSplit}.");
        }

        if (Verbose is < 0 or > 2)
        {
            throw new ArgumentOutOfRangeException(nameof(Verbose), Verbose, $"Verbose must be 0, 1 or 2, got {Verbose}.");
        }

        if (GradientAccumulation < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(GradientAccumulation), GradientAccumulation, $"Gradient accumulation must be at least 1, got {GradientAccumulation}.");
        }

        if (InitialStep < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialStep), InitialStep, $"The initial step must be >= 0, got {InitialStep}.");
        }

        if (InitialEpoch < 0 || InitialEpoch >= Epochs)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialEpoch), InitialEpoch, $"The initial epoch must be in [0, {Epochs}), got {InitialEpoch}.");
        }

        if (StepsPerEpoch is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(StepsPerEpoch), StepsPerEpoch, $"Steps per epoch must be at least 1, got {StepsPerEpoch}.");
        }

        if (ClassWeight is { } classWeight)
        {
            if (SampleWeight is not null)
            {
                throw new ArgumentException("You cannot use ClassWeight and SampleWeight at the same time (as in Keras): fold the class weights into the sample weights.", nameof(ClassWeight));
            }

            foreach (var (label, weight) in classWeight)
            {
                if (label < 0 || !double.IsFinite(weight) || weight < 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(ClassWeight), $"Class weights need class indices >= 0 and finite weights >= 0, got {label} -> {weight}.");
                }
            }
        }

        return this;
    }
}
