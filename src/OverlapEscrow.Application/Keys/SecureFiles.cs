using System.Runtime.InteropServices;

namespace OverlapEscrow.Application.Keys;

/// <summary>
/// The file operations key material needs: a replacement that is either wholly old or wholly new after a crash, and
/// a destruction that does not leave the bytes in the file.
/// </summary>
/// <remarks>
/// <see cref="WriteAtomic"/> writes a temporary file in the same directory, flushes it to disk, renames it over the
/// target (atomic on POSIX file systems) and flushes the directory, so that the rename itself survives a power cut.
/// <see cref="WriteNew"/> does the same for a file that must not replace one already there (two instances making the
/// same key version): it publishes the flushed temporary file with a hard link (link(2)), which fails when the name exists, so
/// another instance reading the directory sees either no file or the whole key, never a file still being written.
/// <see cref="Destroy"/> overwrites the file with zeros and flushes before deleting it. On copy-on-write or
/// journalling file systems and on SSDs (wear levelling) an overwrite does not guarantee that the old blocks are
/// gone from the device: that is why data keys are only ever stored wrapped by the master key, and why
/// docs/operations.md has the master key rotated after erasures that must also survive disk forensics.
/// </remarks>
public static class SecureFiles
{
    public static void WriteAtomic(string path, ReadOnlySpan<byte> content, bool ownerOnly = true)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var temp = Path.Combine(directory, "." + Path.GetFileName(path) + ".tmp-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                if (ownerOnly && !OperatingSystem.IsWindows())
                    File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
            SyncDirectory(directory);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Writes a file that did not exist, whole or not at all; false (and the file there untouched) when it exists.</summary>
    public static bool WriteNew(string path, ReadOnlySpan<byte> content)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var temp = Path.Combine(directory, "." + Path.GetFileName(path) + ".tmp-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }
            if (File.Exists(path)) return false;
            if (OperatingSystem.IsWindows())
            {
                try { File.Move(temp, path, overwrite: false); }
                catch (IOException) when (File.Exists(path)) { return false; }
            }
            // link(2) fails with EEXIST instead of replacing a file another instance published since the check above
            // (File.Move without overwrite checks, then renames: two racers can both "win"). The temporary name is
            // removed below.
            else if (Link(temp, path) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EEXIST || File.Exists(path)) return false;
                // A file system without hard links (SMB/CIFS shares, vfat, some FUSE mounts): a rename that does not
                // overwrite, whose check-then-rename race only matters to two instances making one version at once.
                try { File.Move(temp, path, overwrite: false); }
                catch (IOException) when (File.Exists(path)) { return false; }
            }
            SyncDirectory(directory);
            return true;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Overwrites a file with zeros, flushes it, deletes it and flushes its directory; nothing when it is absent.</summary>
    public static void Destroy(string path)
    {
        if (!File.Exists(path)) return;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None))
        {
            var zeros = new byte[Math.Max(1, stream.Length)];
            stream.Write(zeros);
            stream.Flush(flushToDisk: true);
        }
        File.Delete(path);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>fsync(2) on a directory, so that a rename or deletion in it is durable (no-op off Unix).</summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return;
        try { _ = Fsync(fd); }
        finally { _ = Close(fd); }
    }

    /// <summary>
    /// An exclusive lock between processes on <paramref name="lockFile"/> (an advisory flock on Unix, which .NET takes
    /// for FileShare.None), retried until <paramref name="timeout"/>. Dispose to release.
    /// </summary>
    public static FileStream Lock(string lockFile, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
        }
    }

    private const int EEXIST = 17; // Linux and the BSDs alike

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code in this project for four plain calls
    [DllImport("libc", EntryPoint = "open", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "link", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true, SetLastError = true)]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string existing, [MarshalAs(UnmanagedType.LPUTF8Str)] string created);

    [DllImport("libc", EntryPoint = "fsync")]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
#pragma warning restore SYSLIB1054
}
