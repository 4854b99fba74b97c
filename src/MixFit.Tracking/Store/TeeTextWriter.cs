using System.Text;

namespace MixFit.Tracking.Store;

/// <summary>
/// Writes to the console and to a log file. In the file, a carriage return discards the line drawn so far, so a
/// progress bar redrawn in place leaves only its final state (no control characters in logs). A failing log file (disk
/// full) is given up, never the console: training output goes on.
/// </summary>
public sealed class TeeTextWriter : TextWriter
{
    private readonly TextWriter console;
    private readonly StreamWriter file;
    private readonly StringBuilder line = new();
    private bool fileFailed;

    /// <summary>Creates the writer, appending to <paramref name="path"/>.</summary>
    public TeeTextWriter(TextWriter console, string path)
    {
        this.console = console ?? throw new ArgumentNullException(nameof(console));
        file = new StreamWriter(path, append: true, new UTF8Encoding(false));
    }

    /// <inheritdoc />
    public override Encoding Encoding => console.Encoding;

    /// <inheritdoc />
    public override void Write(char value)
    {
        console.Write(value);
        lock (line)
        {
            switch (value)
            {
                case '\r':
                    line.Clear();
                    break;
                case '\n':
                    ToFile(() =>
                    {
                        file.Write(line.ToString().TrimEnd());
                        file.Write('\n');
                        file.Flush();
                    });
                    line.Clear();
                    break;
                case '\b':
                    if (line.Length > 0)
                    {
                        line.Length--;
                    }

                    break;
                default:
                    line.Append(value);
                    break;
            }
        }
    }

    /// <inheritdoc />
    public override void Write(string? value)
    {
        foreach (char c in value ?? "")
        {
            Write(c);
        }
    }

    /// <inheritdoc />
    public override void Flush()
    {
        console.Flush();
        lock (line)
        {
            ToFile(file.Flush);
        }
    }

    /// <summary>Whether the log file failed and was given up.</summary>
    public bool FileFailed => fileFailed;

    private void ToFile(Action write)
    {
        if (fileFailed)
        {
            return;
        }

        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            fileFailed = true;
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (line)
            {
                if (line.Length > 0)
                {
                    ToFile(() =>
                    {
                        file.Write(line.ToString().TrimEnd());
                        file.Write('\n');
                    });
                }

                ToFile(file.Dispose);
            }
        }

        base.Dispose(disposing);
    }
}
