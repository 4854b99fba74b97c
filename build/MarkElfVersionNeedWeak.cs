// Compiled by MSBuild's RoslynCodeTaskFactory (see MixFit.Native.targets) and, as linked source,
// by the test project. It must stay a single file that needs nothing beyond the BCL and MSBuild.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MixFit.Build;

/// <summary>
/// MSBuild task: marks the listed symbol version needs of native libraries weak, so the dynamic loader accepts the
/// library on systems whose C++ runtime predates those versions. TorchSharp 0.107's <c>libLibTorchSharp.so</c> needs
/// <c>GLIBCXX_3.4.32</c> (GCC 13) for a single symbol it never calls; Debian 12 and Ubuntu 22.04 ship 3.4.30.
/// </summary>
/// <remarks>
/// The task weakens a listed need <em>always</em>, whatever the build machine's libstdc++ defines: an application
/// built on Ubuntu 24.04 (which has 3.4.32) and deployed to Debian 12 must carry the weak need too. A weak need is
/// harmless where the version exists (the loader binds it as usual). Safe only for versions whose symbols are never
/// called. The task edits the copies in the output folder, never the NuGet cache, and is idempotent. A need for any
/// other version the build machine's <see cref="Provider"/> lacks is reported as a warning, never weakened.
/// </remarks>
public sealed class MarkElfVersionNeedWeak : Microsoft.Build.Utilities.Task
{
    /// <summary>The native libraries to inspect (copies in an output or publish folder).</summary>
    [Required]
    public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Semicolon-separated versions to weaken, e.g. <c>GLIBCXX_3.4.32</c>.</summary>
    [Required]
    public string Versions { get; set; } = "";

    /// <summary>The shared object that defines the versions, default <c>libstdc++.so.6</c>.</summary>
    public string Provider { get; set; } = "libstdc++.so.6";

    /// <summary>Optional path of the provider whose definitions unlisted needs are checked against (the warnings); found in the loader's usual folders when empty.</summary>
    public string ProviderPath { get; set; } = "";

    /// <inheritdoc />
    public override bool Execute()
    {
        string? provider = string.IsNullOrEmpty(ProviderPath) ? ElfVersions.FindSystemLibrary(Provider) : ProviderPath;
        var defined = provider is null ? null : ElfVersions.ReadDefinitions(provider);
        var weakenable = new HashSet<string>(Versions.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries).Select(v => v.Trim()));
        foreach (var item in Libraries)
        {
            string path = item.ItemSpec;
            if (!File.Exists(path))
            {
                continue;
            }

            foreach (var need in ElfVersions.ReadNeeds(path).Where(n => n.File == Provider && !n.Weak))
            {
                if (weakenable.Contains(need.Version))
                {
                    ElfVersions.MarkWeak(path, Provider, need.Version);
                    Log.LogMessage(MessageImportance.Normal,
                        $"MixFit: marked the {need.Version} need of {path} weak (it then loads where {Provider} predates that version).");
                }
                else if (defined is not null && !defined.Contains(need.Version))
                {
                    Log.LogWarning($"MixFit: {path} needs {need.Version} from {Provider}, which {provider} does not define; it will not load on this machine.");
                }
            }
        }

        return !Log.HasLoggedErrors;
    }
}

/// <summary>One entry of an ELF <c>.gnu.version_r</c> section: a version needed from a shared object.</summary>
/// <remarks>A class, not a record: MSBuild compiles this file against netstandard, which lacks init accessors.</remarks>
public sealed class ElfVersionNeed
{
    /// <summary>Creates an entry.</summary>
    public ElfVersionNeed(string file, string version, bool weak)
    {
        File = file;
        Version = version;
        Weak = weak;
    }

    /// <summary>The shared object's soname, e.g. <c>libstdc++.so.6</c>.</summary>
    public string File { get; }

    /// <summary>The version name, e.g. <c>GLIBCXX_3.4.32</c>.</summary>
    public string Version { get; }

    /// <summary>Whether the entry carries <c>VER_FLG_WEAK</c> (the loader then tolerates its absence).</summary>
    public bool Weak { get; }

    /// <inheritdoc />
    public override string ToString() => $"{File} {Version}{(Weak ? " (weak)" : "")}";
}

/// <summary>Reads and edits the symbol-versioning sections of 64-bit little-endian ELF files.</summary>
public static class ElfVersions
{
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>Folders the dynamic loader searches by default on common 64-bit Linux layouts.</summary>
    public static readonly string[] SystemLibraryDirectories =
    {
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64", "/lib64", "/usr/lib", "/lib",
    };

    /// <summary>Finds <paramref name="soname"/> in LD_LIBRARY_PATH, then in the default loader folders.</summary>
    public static string? FindSystemLibrary(string soname)
    {
        var dirs = (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "")
            .Split(new[] { ':' }, StringSplitOptions.RemoveEmptyEntries)
            .Concat(SystemLibraryDirectories);
        return dirs.Select(d => Path.Combine(d, soname)).FirstOrDefault(File.Exists);
    }

    /// <summary>The version names an ELF file defines (its <c>.gnu.version_d</c> section).</summary>
    public static ISet<string> ReadDefinitions(string path)
    {
        var image = File.ReadAllBytes(path);
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (offset, count, strtab) in Sections(image, path, ShtGnuVerdef))
        {
            int entry = offset;
            for (int i = 0; i < count; i++)
            {
                ushort auxCount = U16(image, entry + 6);
                int aux = entry + (int)U32(image, entry + 12);
                for (int j = 0; j < auxCount; j++)
                {
                    result.Add(CString(image, strtab + (int)U32(image, aux)));
                    aux += (int)U32(image, aux + 4);
                }

                entry += (int)U32(image, entry + 16);
            }
        }

        return result;
    }

    /// <summary>The versions an ELF file needs from other shared objects (its <c>.gnu.version_r</c> section).</summary>
    public static IReadOnlyList<ElfVersionNeed> ReadNeeds(string path)
    {
        var image = File.ReadAllBytes(path);
        return Needs(image, path).Select(n => n.Need).ToList();
    }

    /// <summary>Sets (or, with <paramref name="weak"/> false, clears) <c>VER_FLG_WEAK</c> on the need for <paramref name="version"/> from <paramref name="file"/>, in place.</summary>
    /// <returns>True when the file changed; false when the entry already had that flag state.</returns>
    /// <exception cref="InvalidDataException">The file has no such version need, or is not a 64-bit little-endian ELF file.</exception>
    public static bool MarkWeak(string path, string file, string version, bool weak = true)
    {
        var image = File.ReadAllBytes(path);
        foreach (var (need, flagsOffset) in Needs(image, path))
        {
            if (need.File == file && need.Version == version)
            {
                if (need.Weak == weak)
                {
                    return false;
                }

                ushort old = U16(image, flagsOffset);
                ushort flags = (ushort)(weak ? old | VerFlgWeak : old & ~VerFlgWeak);
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
                stream.Position = flagsOffset;
                stream.Write(new[] { (byte)(flags & 0xff), (byte)(flags >> 8) }, 0, 2);
                return true;
            }
        }

        throw new InvalidDataException($"{path}: no need for version {version} of {file} in .gnu.version_r.");
    }

    private static IEnumerable<(ElfVersionNeed Need, int FlagsOffset)> Needs(byte[] image, string path)
    {
        foreach (var (offset, count, strtab) in Sections(image, path, ShtGnuVerneed))
        {
            int entry = offset;
            for (int i = 0; i < count; i++)
            {
                ushort auxCount = U16(image, entry + 2);
                string file = CString(image, strtab + (int)U32(image, entry + 4));
                int aux = entry + (int)U32(image, entry + 8);
                for (int j = 0; j < auxCount; j++)
                {
                    ushort flags = U16(image, aux + 4);
                    string name = CString(image, strtab + (int)U32(image, aux + 8));
                    yield return (new ElfVersionNeed(file, name, (flags & VerFlgWeak) != 0), aux + 4);
                    aux += (int)U32(image, aux + 12);
                }

                entry += (int)U32(image, entry + 12);
            }
        }
    }

    /// <summary>Yields (file offset, entry count from sh_info, file offset of the linked string table) per section of a type.</summary>
    private static IEnumerable<(int Offset, int Count, int StringTable)> Sections(byte[] image, string path, uint type)
    {
        if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
        {
            throw new InvalidDataException($"{path}: not an ELF file (expected the magic bytes 7f 45 4c 46).");
        }

        if (image[4] != 2 || image[5] != 1)
        {
            throw new InvalidDataException($"{path}: expected a 64-bit little-endian ELF file (class {image[4]}, data {image[5]}).");
        }

        long shoff = (long)U64(image, 0x28);
        int shentsize = U16(image, 0x3a);
        int shnum = U16(image, 0x3c);
        var found = new List<(int, int, int)>();
        for (int i = 0; i < shnum; i++)
        {
            int header = checked((int)(shoff + (long)i * shentsize));
            if (U32(image, header + 4) != type)
            {
                continue;
            }

            int offset = checked((int)U64(image, header + 24));
            int link = (int)U32(image, header + 40);
            int count = (int)U32(image, header + 44);
            int linkHeader = checked((int)(shoff + (long)link * shentsize));
            found.Add((offset, count, checked((int)U64(image, linkHeader + 24))));
        }

        return found;
    }

    private static ushort U16(byte[] b, int at) => (ushort)(b[at] | (b[at + 1] << 8));

    private static uint U32(byte[] b, int at) => (uint)(b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24));

    private static ulong U64(byte[] b, int at) => U32(b, at) | ((ulong)U32(b, at + 4) << 32);

    private static string CString(byte[] b, int at)
    {
        int end = Array.IndexOf(b, (byte)0, at);
        return Encoding.ASCII.GetString(b, at, end - at);
    }
}
