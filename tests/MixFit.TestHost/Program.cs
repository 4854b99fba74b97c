using MixFit.Checkpoints;
using MixFit.TestHost;

// Usage: MixFit.TestHost <backup-dir> <weights-out.safetensors> [kill-after-epoch]
//        MixFit.TestHost folder <images-folder> <backup-dir> <weights-out.safetensors> [kill-after-epoch]
//        MixFit.TestHost dp <out> <policy> <global-batch> <steps> [inject-inf-at-step] [die-on-rank-1-at-step] [hidden-on-rank-1]
if (args.Length > 0 && args[0] == "dp")
{
    return DataParallelScenario.Run(args);
}

if (args.Length > 0 && args[0] == "folder")
{
    int? kill = args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : null;
    SafeTensors.Save(args[3], FolderScenario.Run(args[1], args[2], kill));
    return 0;
}

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: MixFit.TestHost <backup-dir> <weights-out.safetensors> [kill-after-epoch]");
    return 2;
}

var interruption = args.Length > 2 ? ResumeScenario.Interruption.Kill : ResumeScenario.Interruption.None;
int after = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0;
var result = ResumeScenario.Run(args[0], interruption, after);
SafeTensors.Save(args[1], result.Weights);
Console.WriteLine(result.Describe());
return 0;
