using System.Diagnostics;
using MixFit.Applications;
using MixFit.Tests.Support;
using MixFit.Tracking.Store;

namespace MixFit.Tests.Cli;

/// <summary>End to end: the real command on tiny real data.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string name) => Path.Combine(dir, name);

    [Fact]
    public void Compare_prints_the_table_stores_the_runs_and_writes_the_report()
    {
        var (code, output, error) = CliRunner.Run("compare", "--limit", "400", "--epochs", "1", "--store", P("store"), "--out", P("out"), "--verbose", "2");
        Assert.True(code == 0, error);
        Assert.Contains("== float32 ==", output);
        Assert.Matches(@"\d+/\d+ - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4}", output);
        Assert.Contains("speed-up", output);
        Assert.Contains("small-cnn-float32", output);

        // Before training, one measured line per policy, and the decision follows the rule: train when at most 3x
        // float32's step (the default --max-slowdown), skip otherwise saying how to override.
        Assert.StartsWith("mixfit compare: small-cnn on fashion-mnist under float32, mixed_bfloat16, mixed_float16", output);   // at once, before loading
        Assert.Contains("Measuring a training step per policy (small-cnn, batch 128, 28x28, cpu):", output);
        var probed = System.Text.RegularExpressions.Regex.Matches(output, @"^  (float32|mixed_bfloat16|mixed_float16)\s+(\d+\.\d) ms/step \([^)]*\)  (run|skip)", System.Text.RegularExpressions.RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => (Ms: double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), Run: m.Groups[3].Value == "run"));
        Assert.Equal(new[] { "float32", "mixed_bfloat16", "mixed_float16" }, probed.Keys.Order());
        foreach (var (policy, (ms, run)) in probed)
        {
            Assert.Equal(ms <= 3 * probed["float32"].Ms, run);
            Assert.Equal(!run, output.Contains($"{policy} skipped: ", StringComparison.Ordinal));
        }

        var runs = RunStore.Open(P("store")).List();
        Assert.Equal(probed.Where(p => p.Value.Run).Select(p => p.Key).Order(), runs.Select(r => r.Config["policy"]!.ToString()).Order());
        Assert.All(runs, r => Assert.Equal(RunStatus.Finished, r.Status));
        Assert.All(runs, r => Assert.Equal("small-cnn", r.Config["model"]!.ToString()));
        Assert.All(runs, r => Assert.Equal("28", r.Config["image_size"]!.ToString()));
        Assert.All(runs, r => Assert.Equal(probed[r.Config["policy"]!.ToString()].Ms, r.Summary["probe_ms_per_step"], 0.051));
        Assert.Contains("probe ms/step", output);
        Assert.True(File.Exists(P("out/report.html")));
        Assert.True(File.Exists(P("out/charts/loss.png")));
        // The report holds every run that trained (which policies train depends on this machine's probe, as above).
        string report = File.ReadAllText(P("out/report.html"));
        Assert.All(probed.Where(p => p.Value.Run), p => Assert.Contains($"small-cnn-{p.Key}", report));
    }

    [Fact]
    public void Train_on_an_exported_folder_then_predict_writes_the_original_category_ids()
    {
        var export = CliRunner.Run("datasets", "export", "fashion-mnist", "--out", P("fm"), "--count", "300");
        Assert.True(export.ExitCode == 0, export.Error);
        var test = CliRunner.Run("datasets", "export", "fashion-mnist", "--split", "test", "--out", P("fmtest"), "--count", "60");
        Assert.True(test.ExitCode == 0, test.Error);

        // Category ids that differ from the class indices (class i is id (i + 1) * 10), so writing the index fails.
        static string Id(string index) => ((int.Parse(index, System.Globalization.CultureInfo.InvariantCulture) + 1) * 10).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(File.Exists(P("fmtest/test.csv")), "--split test writes test.csv");
        Assert.True(File.Exists(P("fmtest/images/test-00000.png")), "test images carry the split's name, so they never overwrite training images");
        Assert.False(File.Exists(P("fmtest/train.csv")));
        foreach (var (folder, name) in new[] { (P("fm"), "train.csv"), (P("fmtest"), "test.csv") })
        {
            string csv = Path.Combine(folder, name);
            var lines = File.ReadAllLines(csv);
            File.WriteAllLines(csv, lines.Take(1).Concat(lines.Skip(1).Select(l => l.Split(',')[0] + "," + Id(l.Split(',')[1]))));
            var map = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(folder, "label_map.json")))!;
            File.WriteAllText(Path.Combine(folder, "label_map.json"), System.Text.Json.JsonSerializer.Serialize(map.ToDictionary(kv => Id(kv.Key), kv => kv.Value)));
        }

        var train = CliRunner.Run("train", "--data", P("fm"), "--epochs", "2", "--batch-size", "32", "--policy", "mixed_bfloat16",
            "--checkpoint-dir", P("ckpt"), "--store", P("store"), "--run-name", "folder-run", "--verbose", "2",
            "--metrics", "accuracy,precision,recall,auc", "--class-weight", "balanced");
        Assert.True(train.ExitCode == 0, train.Error + train.Output);
        Assert.Contains("Epoch 2/2", train.Output);
        Assert.Matches(@"accuracy: \d\.\d{4} - precision: \d\.\d{4} - recall: \d\.\d{4} - auc: \d\.\d{4}.* - val_auc: \d\.\d{4}", train.Output);
        Assert.Equal("balanced", RunStore.Open(P("store")).List().Single().Config["class_weight"]?.GetValue<string>());
        Assert.True(File.Exists(P("ckpt/last.ckpt.safetensors")));
        Assert.True(File.Exists(P("ckpt/mixfit-model.json")));
        Assert.Equal("folder-run", RunStore.Open(P("store")).List().Single().Name);

        var predict = CliRunner.Run("predict", "--checkpoint", P("ckpt/last.ckpt.safetensors"), "--data", P("fmtest/test.csv"), "-o", P("pred.csv"));
        Assert.True(predict.ExitCode == 0, predict.Error);
        var predicted = File.ReadAllLines(P("pred.csv"));
        var truth = File.ReadAllLines(P("fmtest/test.csv"));
        Assert.Equal("image,category", predicted[0]);
        Assert.Equal(61, predicted.Length);
        var ids = Enumerable.Range(1, 10).Select(i => (i * 10).ToString(System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        Assert.All(predicted.Skip(1), line => Assert.Contains(line.Split(',')[1], ids));
        double accuracy = predicted.Skip(1).Zip(truth.Skip(1)).Count(p => p.First == p.Second) / 60.0;
        Assert.True(accuracy > 0.3, $"accuracy {accuracy} is no better than chance");

        // --probabilities: one column per category id, rows summing to 1, the category the most probable column.
        var withProbabilities = CliRunner.Run("predict", "--checkpoint", P("ckpt/last.ckpt.safetensors"), "--data", P("fmtest/test.csv"), "-o", P("prob.csv"), "--probabilities");
        Assert.True(withProbabilities.ExitCode == 0, withProbabilities.Error);
        var rows = File.ReadAllLines(P("prob.csv"));
        Assert.Equal("image,category," + string.Join(",", Enumerable.Range(1, 10).Select(i => $"p_{i * 10}")), rows[0]);
        Assert.Equal(predicted, rows.Select(r => string.Join(",", r.Split(',').Take(2))).ToArray());
        Assert.All(rows.Skip(1), row =>
        {
            var p = row.Split(',').Skip(2).Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.InRange(p.Sum(), 0.9999, 1.0001);
            Assert.Equal(row.Split(',')[1], ((Array.IndexOf(p, p.Max()) + 1) * 10).ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
    }

    [Fact]
    public void Help_lists_every_command_and_doctor_recommends_a_measured_policy()
    {
        var help = CliRunner.Run("--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("mixfit [command] [options]", help.Output);   // the tool's name, not the assembly's (MixFit.Cli)
        Assert.DoesNotContain("MixFit.Cli", help.Output);
        foreach (var command in new[] { "compare", "train", "predict", "embed", "export", "datasets", "doctor", "runs", "report" })
        {
            Assert.Contains(command, help.Output);
        }

        var trainHelp = CliRunner.Run("train", "--help");
        Assert.Contains("mixfit train [options]", trainHelp.Output);
        Assert.Contains("--freeze-base", trainHelp.Output);
        Assert.Contains("--class-weight", trainHelp.Output);
        Assert.Contains("--checkpoint-dir", trainHelp.Output);

        var doctor = CliRunner.Run("doctor");
        Assert.True(doctor.ExitCode == 0, doctor.Error);
        Assert.Contains($"libtorch      {ExpectedLibTorch.MajorMinor}", doctor.Output);
        Assert.Contains("AVX512-BF16", doctor.Output);
        Assert.Matches(@"BFloat16\s+matmul\s+\d+\.\d\s+conv2d\s+\d+\.\d\s+\(\d+\.\d\dx\)", doctor.Output);
        Assert.Matches(@"small-cnn 28x28\s+\d+\.\d\s+\d+\.\d \(\d\.\d\dx", doctor.Output);
        Assert.Contains("resnet18 64x64", doctor.Output);

        // The recommendation follows from the printed training-step speed-ups by PrecisionAdvice's rule: the mixed
        // policy measured on every workload with the best geometric-mean speed-up, when that is at least 1.05x;
        // float32 when none reaches it. (Not "1.05x on every workload": on 2 busy cores one workload can read slower.)
        var recommended = System.Text.RegularExpressions.Regex.Match(doctor.Output, @"Recommended   (float32|mixed_bfloat16|mixed_float16): (.*)").Groups;
        Assert.True(recommended[1].Success, doctor.Output);
        var header = doctor.Output.Split('\n').Single(l => l.TrimStart().StartsWith("workload", StringComparison.Ordinal));
        var columns = header.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
        var rows = doctor.Output.Split('\n').Where(l => l.StartsWith("  small-cnn 28x28", StringComparison.Ordinal) || l.StartsWith("  resnet18 64x64", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rows.Count);
        double? GeometricMean(string policy)
        {
            var ratios = rows.Select(row => System.Text.RegularExpressions.Regex.Matches(row, @"(\d+\.\d+) \((\d+\.\d\d)x|not measured")[columns.IndexOf(policy) - 1]).ToList();
            return ratios.Any(c => c.Value == "not measured")
                ? null
                : Math.Exp(ratios.Average(c => Math.Log(double.Parse(c.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture))));
        }

        var means = new[] { "mixed_bfloat16", "mixed_float16" }.Select(p => (Policy: p, Mean: GeometricMean(p))).Where(m => m.Mean is not null).ToList();
        if (recommended[1].Value == "float32")
        {
            Assert.All(means, m => Assert.True(m.Mean < MixFit.Experiments.PrecisionAdvice.MinimumGain, doctor.Output));
        }
        else
        {
            // Printed ratios are rounded to 2 decimals: allow that rounding, no more.
            double mine = GeometricMean(recommended[1].Value) ?? throw new Xunit.Sdk.XunitException($"recommended {recommended[1].Value} was not measured everywhere\n{doctor.Output}");
            Assert.True(mine >= MixFit.Experiments.PrecisionAdvice.MinimumGain - 0.01, doctor.Output);
            Assert.All(means, m => Assert.True(m.Mean <= mine * 1.06, doctor.Output));   // the best, or bfloat16 within 5% of float16
            Assert.Contains("ms/step", recommended[2].Value);
        }
    }

    [Theory]
    [InlineData("--policy", "mixed_half", "mixed_bfloat16")]
    [InlineData("--model", "vgg16", "mobilenet_v2")]
    [InlineData("--optimizer", "adagrad", "rmsprop")]
    [InlineData("--loss-scale", "sometimes", "dynamic")]
    public void Bad_choices_exit_non_zero_listing_the_valid_ones(string option, string value, string listed)
    {
        var (code, _, error) = CliRunner.Run("train", option, value, "--store", P("store"));
        Assert.Equal(2, code);
        Assert.Contains(value, error);
        Assert.Contains(listed, error);
    }

    [Fact]
    public void A_missing_data_folder_or_a_malformed_label_map_is_a_clear_error()
    {
        var missing = CliRunner.Run("train", "--data", P("nowhere"), "--store", P("store"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nowhere", missing.Error);

        CliRunner.Run("datasets", "export", "fashion-mnist", "--out", P("fm"), "--count", "20");
        File.WriteAllText(P("bad-map.json"), "{ \"0\": \"T-shirt\", ");
        var map = CliRunner.Run("train", "--data", P("fm"), "--label-map", P("bad-map.json"), "--store", P("store"));
        Assert.Equal(2, map.ExitCode);
        Assert.Contains("bad-map.json", map.Error);
        Assert.Contains("not valid JSON", map.Error);
    }

    [CpuOnlyFact]
    public void Cuda_without_a_cuda_build_explains_how_to_get_one()
    {
        var (code, _, error) = CliRunner.Run("train", "--device", "cuda", "--store", P("store"), "--limit", "64");
        Assert.Equal(2, code);
        Assert.Contains("TorchSharp-cuda-linux", error);
    }

    [Fact]
    public async Task Ctrl_c_stops_cleanly_leaving_a_killed_run_and_a_loadable_checkpoint()
    {
        using var child = CliRunner.Start("train", "--limit", "3000", "--epochs", "50", "--batch-size", "64", "--checkpoint-dir", P("ckpt"), "--store", P("store"), "--verbose", "2");
        var error = child.StandardError.ReadToEndAsync();
        string? line;
        while ((line = child.StandardOutput.ReadLine()) is not null && !line.StartsWith("Epoch 3/", StringComparison.Ordinal))
        {
        }

        Assert.NotNull(line);
        using (var kill = Process.Start("kill", new[] { "-INT", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }))
        {
            kill.WaitForExit();
        }

        string rest = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(60_000));
        Assert.Equal(130, child.ExitCode);
        Assert.Contains("Stopping after the current step", await error);

        var run = RunStore.Open(P("store")).List().Single();
        Assert.Equal(RunStatus.Killed, run.Status);
        var weights = WeightLoader.Read(P("ckpt/last.ckpt.safetensors"));
        Assert.Contains("fc2.weight", weights.Keys);

        // Stopped inside epoch 3 (or, rarely, right at its end): the checkpoint records where, and --resume continues
        // from the next step of that epoch in the same tracked run.
        var position = System.Text.RegularExpressions.Regex.Match(rest, @"Saved .* at epoch (\d+), step (\d+);");
        if (position.Success)
        {
            Assert.Contains($"Interrupted at step {position.Groups[2].Value}/", rest);
            Assert.DoesNotContain("val_loss", rest.Split("Epoch 3/", 2).Last());          // no validation for the partial epoch
            var resumed = CliRunner.Run("train", "--limit", "3000", "--epochs", position.Groups[1].Value, "--batch-size", "64", "--checkpoint-dir", P("ckpt"), "--store", P("store"), "--verbose", "2", "--resume");
            Assert.True(resumed.ExitCode == 0, resumed.Error);
            Assert.Contains($"Resuming from {P("ckpt/last.ckpt.safetensors")} at epoch {position.Groups[1].Value}, step {int.Parse(position.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) + 1}.", resumed.Output);
            Assert.Equal(run.Id, RunStore.Open(P("store")).List().Single().Id);
        }
    }

    [Fact]
    public void Resume_continues_the_same_tracked_run_and_a_failed_resume_changes_nothing()
    {
        string[] Train(params string[] extra) => new[] { "train", "--limit", "256", "--batch-size", "64", "--checkpoint-dir", P("ckpt"), "--store", P("store"), "--verbose", "0" }.Concat(extra).ToArray();
        var first = CliRunner.Run(Train("--epochs", "1"));
        Assert.True(first.ExitCode == 0, first.Error);
        var run = RunStore.Open(P("store")).List().Single();
        int stepsPerEpoch = RunStore.Open(P("store")).Metrics(run.Id, "step").Count;

        var resumed = CliRunner.Run(Train("--epochs", "2", "--resume"));
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        var store = RunStore.Open(P("store"));
        var same = store.List().Single();
        Assert.Equal(run.Id, same.Id);
        Assert.Equal(RunStatus.Finished, same.Status);
        var steps = store.Metrics(run.Id, "step");
        Assert.Equal(2 * stepsPerEpoch, steps.Count);
        Assert.Equal(Enumerable.Range(0, 2 * stepsPerEpoch).Select(i => (long)i), steps.Select(p => p.Step));
        Assert.Equal(new long[] { 0, 1 }, store.Metrics(run.Id, "epoch").Select(p => p.Step));
        Assert.Single(store.Metrics(run.Id, "resume"));
        Assert.Contains($"--- resumed run {run.Id} at epoch 2", File.ReadAllText(Path.Combine(same.Folder, "output.log")));

        // Another model, or a corrupt checkpoint: exit 2, and the folder stays exactly as it was.
        var files = Directory.GetFiles(P("ckpt")).ToDictionary(f => f, File.ReadAllBytes);
        var otherModel = CliRunner.Run(Train("--epochs", "3", "--resume", "--model", "resnet18"));
        Assert.Equal(2, otherModel.ExitCode);
        Assert.Contains("the checkpoint holds small-cnn", otherModel.Error);
        Assert.All(files, kv => Assert.Equal(kv.Value, File.ReadAllBytes(kv.Key)));

        File.WriteAllText(P("ckpt/last.ckpt.safetensors"), "not a checkpoint");
        files = Directory.GetFiles(P("ckpt")).ToDictionary(f => f, File.ReadAllBytes);
        var corrupt = CliRunner.Run(Train("--epochs", "3", "--resume"));
        Assert.Equal(2, corrupt.ExitCode);
        Assert.Contains("last.ckpt.safetensors", corrupt.Error);
        Assert.All(files, kv => Assert.Equal(kv.Value, File.ReadAllBytes(kv.Key)));
        Assert.Single(RunStore.Open(P("store")).List());
    }

    [Fact]
    public void Train_prints_the_test_value_of_every_compiled_metric()
    {
        var train = CliRunner.Run("train", "--limit", "256", "--epochs", "1", "--metrics", "auc", "--verbose", "0", "--store", P("store"));
        Assert.True(train.ExitCode == 0, train.Error + train.Output);
        Assert.Matches(@"test loss \d\.\d{4} - test auc \d\.\d{4}", train.Output);

        var mismatch = CliRunner.Run("train", "--limit", "64", "--epochs", "1", "--metrics", "binary_accuracy", "--verbose", "0", "--store", P("store"));
        Assert.Equal(2, mismatch.ExitCode);
        Assert.Contains("binary_accuracy", mismatch.Error);
        Assert.DoesNotContain("frame #", mismatch.Error);
    }

    [Fact]
    public void Embed_writes_imagenet_resnet18_features_as_csv_and_npy()
    {
        var export = CliRunner.Run("datasets", "export", "fashion-mnist", "--split", "test", "--out", P("emb"), "--count", "12");
        Assert.True(export.ExitCode == 0, export.Error);
        var csv = CliRunner.Run("embed", "--data", P("emb/test.csv"), "-o", P("features.csv"), "--batch-size", "6");
        Assert.True(csv.ExitCode == 0, csv.Error + csv.Output);
        var rows = File.ReadAllLines(P("features.csv"));
        Assert.Equal(13, rows.Length);
        Assert.StartsWith("image,f0,f1,", rows[0]);
        Assert.EndsWith(",f511", rows[0]);
        Assert.StartsWith("test-00000.png,", rows[1]);
        Assert.Equal(513, rows[1].Split(',').Length);

        // A folder of images, as .npy: NumPy's header, then 12 x 512 little-endian float32, with the names beside.
        var npy = CliRunner.Run("embed", "--data", P("emb/images"), "-o", P("features.npy"));
        Assert.True(npy.ExitCode == 0, npy.Error + npy.Output);
        var bytes = File.ReadAllBytes(P("features.npy"));
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        string header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'shape': (12, 512)", header);
        Assert.Equal(0, (10 + headerLength) % 64);
        Assert.Equal(10 + headerLength + (12 * 512 * 4), bytes.Length);
        Assert.Equal("test-00000.png", File.ReadAllLines(P("features.npy.images.txt"))[0]);
        float fromNpy = BitConverter.ToSingle(bytes, 10 + headerLength);
        float fromCsv = float.Parse(rows[1].Split(',')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(fromCsv, fromNpy);

        // Any ONNX CNN, here the small CNN MixFit exports (1 channel, taken from the graph's declared input).
        var train = CliRunner.Run("train", "--limit", "128", "--epochs", "1", "--verbose", "0", "--store", P("store"), "--checkpoint-dir", P("ck"));
        Assert.True(train.ExitCode == 0, train.Error);
        Assert.Equal(0, CliRunner.Run("export", "--checkpoint", P("ck/last.ckpt.safetensors"), "-o", P("s.onnx")).ExitCode);
        var onnx = CliRunner.Run("embed", "--data", P("emb/test.csv"), "--onnx", P("s.onnx"), "--image-size", "28", "-o", P("s.csv"));
        Assert.True(onnx.ExitCode == 0, onnx.Error + onnx.Output);
        Assert.EndsWith(",f9", File.ReadAllLines(P("s.csv"))[0]);

        var otherModel = CliRunner.Run("embed", "--data", P("emb/test.csv"), "-o", P("r50.csv"), "--model", "resnet50");
        Assert.Equal(2, otherModel.ExitCode);
        Assert.Contains("for resnet50 pass a weights file", otherModel.Error);
        var otherSize = CliRunner.Run("embed", "--data", P("emb/test.csv"), "-o", P("s100.csv"), "--image-size", "100");
        Assert.Equal(2, otherSize.ExitCode);
        Assert.Contains("use --image-size 224", otherSize.Error);

        var bad = CliRunner.Run("embed", "--data", P("emb/test.csv"), "-o", P("features.txt"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("write features to a .csv or a .npy file", bad.Error);
    }

    [Fact]
    public void Export_writes_a_checkpoint_as_onnx_that_onnx_runtime_runs_like_mixfit()
    {
        var train = CliRunner.Run("train", "--limit", "256", "--epochs", "1", "--verbose", "0", "--store", P("store"), "--checkpoint-dir", P("ckpt"));
        Assert.True(train.ExitCode == 0, train.Error + train.Output);
        var export = CliRunner.Run("export", "--checkpoint", P("ckpt/last.ckpt.safetensors"), "-o", P("model.onnx"));
        Assert.True(export.ExitCode == 0, export.Error + export.Output);
        Assert.Contains("input [N,1,28,28]", export.Output);

        var (_, model) = MixFit.Experiments.ModelSpec.LoadTrained(P("ckpt/last.ckpt.safetensors"));
        model.Module.eval();
        var (x, _) = MixFit.Data.FashionMnist.LoadEmbedded(MixFit.Data.FashionMnistSplit.Test).ToTensors(8);
        TorchSharp.torch.Tensor ours;
        using (TorchSharp.torch.no_grad())
        {
            ours = model.Module.call(x);
        }

        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(P("model.onnx"));
        using var result = session.Run(new[] { Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("input", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x.contiguous().data<float>().ToArray(), new[] { 8, 1, 28, 28 })) });
        var theirs = TorchSharp.torch.tensor(result.First().AsTensor<float>().ToArray()).reshape(8, 10);
        double difference = (ours - theirs).abs().max().item<float>() / theirs.abs().max().item<float>();
        Assert.True(difference < 1e-4, $"relative difference {difference:E2}");

        foreach (var arguments in new[] { new[] { "export", "-o", P("m.onnx") }, new[] { "predict", "--data", P("x.csv"), "-o", P("p2.csv") } })
        {
            var missing = CliRunner.Run(arguments.Concat(new[] { "--checkpoint", P("nowhere.safetensors") }).ToArray());
            Assert.Equal(2, missing.ExitCode);
            Assert.Contains("Checkpoint not found", missing.Error);
        }

        var bad = CliRunner.Run("export", "--checkpoint", P("ckpt/last.ckpt.safetensors"), "-o", P("model.bin"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("must end in .onnx", bad.Error);
    }

    [Fact]
    public void Predict_prepares_pixels_as_training_did_for_a_backbone_trained_on_fashion_mnist()
    {
        var train = CliRunner.Run("train", "--model", "resnet18", "--image-size", "32", "--limit", "512", "--epochs", "2", "--batch-size", "64", "--verbose", "0",
            "--store", P("store"), "--checkpoint-dir", P("ckpt"));
        Assert.True(train.ExitCode == 0, train.Error + train.Output);
        var (spec, model) = MixFit.Experiments.ModelSpec.LoadTrained(P("ckpt/last.ckpt.safetensors"));
        Assert.Equal(new[] { 0f, 0f, 0f }, spec.PixelMean);          // Fashion-MNIST tensors are fed in [0, 1], not ImageNet-normalised
        Assert.Equal(new[] { 1f, 1f, 1f }, spec.PixelStd);

        var export = CliRunner.Run("datasets", "export", "fashion-mnist", "--split", "test", "--out", P("fmt"), "--count", "60");
        Assert.True(export.ExitCode == 0, export.Error);
        var predict = CliRunner.Run("predict", "--checkpoint", P("ckpt/last.ckpt.safetensors"), "--data", P("fmt/test.csv"), "-o", P("p.csv"));
        Assert.True(predict.ExitCode == 0, predict.Error);

        // The same checkpoint on the same images as tensors, prepared the way training prepared them.
        model.Module.eval();
        var (x, _) = MixFit.Data.FashionMnist.LoadEmbedded(MixFit.Data.FashionMnistSplit.Test).ToTensors(60);
        var images = TorchSharp.torch.nn.functional.interpolate(x, new long[] { 32, 32 }, mode: TorchSharp.torch.InterpolationMode.Bilinear).expand(-1, 3, -1, -1);
        long[] expected;
        using (TorchSharp.torch.no_grad())
        {
            expected = model.Module.call(images).argmax(1).data<long>().ToArray();
        }

        var predicted = File.ReadAllLines(P("p.csv")).Skip(1).Select(l => long.Parse(l.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        int agree = predicted.Zip(expected).Count(p => p.First == p.Second);
        Assert.True(agree >= 54, $"predict agrees with the trained model on {agree} of 60 images (resizing differs slightly; normalisation must not)");
    }
}
