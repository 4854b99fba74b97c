using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using MixFit.Data.Images;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Data;

/// <summary>
/// A tf.data-like input pipeline over an <see cref="ImageDataset"/>: seeded per-epoch shuffle (or class-balanced
/// sampling), decode and augment on parallel workers, batch, and prefetch a bounded number of batches in the
/// background. Feeds <c>Trainer.Fit</c> directly.
/// </summary>
/// <remarks>
/// <para>Threads: workers produce plain arrays; tensors are created on the consuming (training) thread, inside its
/// dispose scope, because TorchSharp's dispose scopes are thread-local. At most <see cref="ImagePipelineOptions.Prefetch"/>
/// finished batches wait in the queue.</para>
/// <para>Failures: by default the first unreadable image stops the epoch with an error naming the file, raised on the
/// consuming thread. With <see cref="ImagePipelineOptions.SkipBad"/> it is left out of its batch and recorded in
/// <see cref="Problems"/>. Abandoning an epoch early (e.g. early stopping) cancels the background work.</para>
/// </remarks>
public sealed class ImagePipeline : IBatchSource, IDisposable
{
    private readonly ConcurrentDictionary<int, SKBitmap> cache = new();
    private readonly ConcurrentQueue<DataProblem> problems = new();
    private int peakBuffered;
    private long waitTicks;

    /// <summary>Creates the pipeline.</summary>
    public ImagePipeline(ImageDataset dataset, ImagePipelineOptions? options = null)
    {
        Dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        Options = (options ?? new ImagePipelineOptions()).Validated();
        foreach (var problem in dataset.Problems)
        {
            problems.Enqueue(problem);
        }
    }

    /// <summary>The images.</summary>
    public ImageDataset Dataset { get; }

    /// <summary>The options.</summary>
    public ImagePipelineOptions Options { get; }

    /// <inheritdoc />
    public long? Count => Dataset.Count;

    /// <inheritdoc />
    public int? BatchesPerEpoch => Options.DropRemainder ? Dataset.Count / Options.BatchSize : (Dataset.Count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>Bad rows and unreadable images skipped so far (with skip-bad), including those found when the dataset was read.</summary>
    public IReadOnlyList<DataProblem> Problems => problems.ToArray();

    /// <summary>The most batches that were ever waiting in the prefetch queue.</summary>
    public int PeakBufferedBatches => Volatile.Read(ref peakBuffered);

    /// <summary>Total time the consumer spent waiting for a batch, in seconds.</summary>
    public double WaitSeconds => TimeSpan.FromTicks(Interlocked.Read(ref waitTicks)).TotalSeconds;

    /// <summary>A one-paragraph report of skipped inputs, or an empty string when there were none.</summary>
    public string Summary()
    {
        var list = Problems;
        return list.Count == 0 ? "" : $"{list.Count} bad input(s) skipped:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", list)}";
    }

    /// <summary>Frees the decoded-image cache.</summary>
    public void Dispose()
    {
        foreach (var bitmap in cache.Values)
        {
            bitmap.Dispose();
        }

        cache.Clear();
    }

    /// <summary>Resets <see cref="WaitSeconds"/> and <see cref="PeakBufferedBatches"/>.</summary>
    public void ResetStatistics()
    {
        Interlocked.Exchange(ref waitTicks, 0);
        Interlocked.Exchange(ref peakBuffered, 0);
    }

    /// <inheritdoc />
    public IEnumerable<Batch> GetBatches(int epoch)
    {
        var batches = Order(epoch).Chunk(Options.BatchSize).Where(b => !Options.DropRemainder || b.Length == Options.BatchSize).ToList();
        return Options.Prefetch == 0 ? Synchronous(batches, epoch) : Prefetched(batches, epoch);
    }

    /// <summary>The sample indices of an epoch, in visiting order.</summary>
    public int[] Order(int epoch)
    {
        var random = new Random(StableSeed.Mix(Options.Seed, epoch, -1));
        if (Options.Sampling == SamplingMode.Balanced)
        {
            var byClass = Enumerable.Range(0, Dataset.Count).GroupBy(i => Dataset.Records[i].Label ?? -1).Select(g => g.ToArray()).ToArray();
            return Enumerable.Range(0, Dataset.Count).Select(_ => byClass[random.Next(byClass.Length)]).Select(members => members[random.Next(members.Length)]).ToArray();
        }

        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (Options.Shuffle)
        {
            random.Shuffle(order);
        }

        return order;
    }

    private IEnumerable<Batch> Synchronous(List<int[]> batches, int epoch)
    {
        foreach (var indices in batches)
        {
            var watch = Stopwatch.StartNew();
            var data = Produce(indices, epoch, CancellationToken.None);
            Interlocked.Add(ref waitTicks, watch.Elapsed.Ticks);
            if (data.Count > 0)
            {
                yield return data.ToBatch();
            }
        }
    }

    private IEnumerable<Batch> Prefetched(List<int[]> batches, int epoch)
    {
        var channel = Channel.CreateBounded<BatchData>(new BoundedChannelOptions(Options.Prefetch)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var cancel = new CancellationTokenSource();
        var producer = Task.Run(async () =>
        {
            try
            {
                foreach (var indices in batches)
                {
                    var data = Produce(indices, epoch, cancel.Token);
                    await channel.Writer.WriteAsync(data, cancel.Token).ConfigureAwait(false);
                    InterlockedMax(ref peakBuffered, channel.Reader.Count);
                }

                channel.Writer.TryComplete();
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e);
            }
        });

        try
        {
            while (true)
            {
                var watch = Stopwatch.StartNew();
                if (!channel.Reader.TryRead(out var data))
                {
                    bool more = WaitToRead(channel.Reader);
                    if (!more || !channel.Reader.TryRead(out data))
                    {
                        Interlocked.Add(ref waitTicks, watch.Elapsed.Ticks);
                        break;
                    }
                }

                Interlocked.Add(ref waitTicks, watch.Elapsed.Ticks);
                if (data.Count > 0)
                {
                    yield return data.ToBatch();
                }
            }
        }
        finally
        {
            // Early exit (or a failure): stop the producer and wait for it, so nothing runs after the epoch.
            cancel.Cancel();
            while (channel.Reader.TryRead(out _))
            {
            }

            producer.Wait();
        }
    }

    private static bool WaitToRead(ChannelReader<BatchData> reader)
    {
        try
        {
            return reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private BatchData Produce(int[] indices, int epoch, CancellationToken token)
    {
        var items = new float[indices.Length][];
        var raw = Options.OutputDType == ScalarType.Byte ? new byte[indices.Length][] : null;
        var sizes = new (int Width, int Height)[indices.Length];
        var failed = new bool[indices.Length];
        try
        {
            Parallel.For(0, indices.Length, new ParallelOptions { MaxDegreeOfParallelism = Options.Workers, CancellationToken = token }, k => DecodeInto(k));
        }
        catch (AggregateException e)
        {
            // Surface the worker's own exception (it names the file), not the aggregate around it.
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }

        void DecodeInto(int k)
        {
            var record = Dataset.Records[indices[k]];
            try
            {
                using var image = Load(indices[k], epoch);
                sizes[k] = (image.Width, image.Height);
                if (raw is not null)
                {
                    raw[k] = Pixels.ToBytes(image, Options.Channels);
                }
                else
                {
                    items[k] = Pixels.ToFloats(image, Options.Channels, Options.Normalization);
                }
            }
            catch (Exception e) when (e is InvalidDataException or FileNotFoundException or IOException && Options.SkipBad)
            {
                failed[k] = true;
                problems.Enqueue(new DataProblem(record.Path, record.Line, record.Name, e.Message));
            }
            catch (Exception e) when (e is not InvalidDataException and not FileNotFoundException and not OperationCanceledException)
            {
                throw new InvalidDataException($"{record.Path}: {e.Message}", e);
            }
        }

        var kept = Enumerable.Range(0, indices.Length).Where(k => !failed[k]).ToArray();
        if (kept.Length == 0)
        {
            return new BatchData(0, Options.Channels, 0, 0, null, null, null);
        }

        var (width, height) = sizes[kept[0]];
        foreach (int k in kept)
        {
            if (sizes[k] != (width, height))
            {
                var record = Dataset.Records[indices[k]];
                throw new InvalidDataException(
                    $"{record.Path}: image is {sizes[k].Width}x{sizes[k].Height} after transforms but the batch is {width}x{height}; add a Resize transform so every image has one size.");
            }
        }

        int perImage = Options.Channels * width * height;
        float[]? floats = raw is null ? new float[kept.Length * perImage] : null;
        byte[]? bytes = raw is not null ? new byte[kept.Length * perImage] : null;
        long[]? labels = Dataset.Labels is null ? null : new long[kept.Length];
        for (int j = 0; j < kept.Length; j++)
        {
            int k = kept[j];
            if (floats is not null)
            {
                Array.Copy(items[k], 0, floats, j * perImage, perImage);
            }
            else
            {
                Array.Copy(raw![k], 0, bytes!, j * perImage, perImage);
            }

            if (labels is not null)
            {
                labels[j] = Dataset.Records[indices[k]].Label ?? 0;
            }
        }

        return new BatchData(kept.Length, Options.Channels, height, width, floats, bytes, labels, Options.OutputDType);
    }

    private SKBitmap Load(int index, int epoch)
    {
        var record = Dataset.Records[index];
        SKBitmap image;
        bool owned;
        if (Options.CacheDecoded && cache.TryGetValue(index, out var cached))
        {
            image = cached;
            owned = false;
        }
        else
        {
            image = ImageDecoder.Decode(record.Path, Options.MaxPixels);
            owned = !Options.CacheDecoded || !cache.TryAdd(index, image);
        }

        var random = new Random(StableSeed.Mix(Options.Seed, epoch, index));
        foreach (var transform in Options.Transforms)
        {
            var next = transform.Apply(image, random);
            if (!ReferenceEquals(next, image))
            {
                if (owned)
                {
                    image.Dispose();
                }

                image = next;
                owned = true;
            }
        }

        return owned ? image : image.Copy();
    }

    /// <summary>A finished batch in plain arrays, made into tensors on the consuming thread.</summary>
    private sealed record BatchData(int Count, int Channels, int Height, int Width, float[]? Floats, byte[]? Bytes, long[]? Labels, ScalarType DType = ScalarType.Float32)
    {
        public Batch ToBatch()
        {
            var shape = new long[] { Count, Channels, Height, Width };
            Tensor x = Bytes is not null ? tensor(Bytes, shape) : tensor(Floats!, shape);
            if (DType is ScalarType.BFloat16 or ScalarType.Float16)
            {
                x = x.to(DType);
            }

            return new Batch(x, Labels is null ? null : tensor(Labels, new long[] { Count }));
        }
    }
}
