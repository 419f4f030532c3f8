using System.Runtime.InteropServices;

namespace OverlapEscrow.Cli.Commands;

/// <summary>Whether a path names something other than a regular file (a device, a pipe, a socket), which must be written in place.</summary>
internal static class SpecialFiles
{
    /// <summary>
    /// True for an existing path that is not a regular file or a directory. Linux only (statx(2), whose struct has one
    /// layout on every architecture: <c>stx_mode</c> at byte 28); elsewhere, and where the call fails, false, and the
    /// caller writes beside the target and renames as for a file.
    /// </summary>
    public static bool IsOtherThanRegularFile(string path)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(path)) return false;
        var status = new byte[256];
        try
        {
            if (Statx(AtFdCwd, path, 0, StatxType, status) != 0) return false;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        var type = BitConverter.ToUInt16(status, 28) & FileTypeMask;
        return type != RegularFile && type != Directory;
    }

    /// <summary>Options for a new file readable and writable by its owner only (on Unix; Windows files keep their directory's ACL).</summary>
    public static FileStreamOptions OwnerOnly(FileMode mode, FileShare share = FileShare.Read, int bufferSize = 4096)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = share, BufferSize = bufferSize };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        return options;
    }

    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1;
    private const int FileTypeMask = 0xF000;
    private const int RegularFile = 0x8000;
    private const int Directory = 0x4000;

    [DllImport("libc", EntryPoint = "statx")]
    private static extern int Statx(int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] status);
}
