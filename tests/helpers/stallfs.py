"""A real FUSE filesystem that mirrors a folder: stop its process (SIGSTOP) and every call
under the mount blocks in the kernel, as on a hung NFS or sshfs mount.

    python stallfs.py SOURCE MOUNTPOINT      (foreground; prints "ready" once mounted)
"""

import errno
import os
import sys
import threading
import time

from fuse import FUSE, FuseOSError, Operations


class Mirror(Operations):  # type: ignore[misc]  # fusepy is untyped
    def __init__(self, root: str) -> None:
        self.root = root

    def _full(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def getattr(self, path, fh=None):
        try:
            st = os.lstat(self._full(path))
        except OSError as exc:
            raise FuseOSError(exc.errno or errno.EIO) from None
        return {k: getattr(st, k) for k in ("st_atime", "st_ctime", "st_gid", "st_mode",
                                            "st_mtime", "st_nlink", "st_size", "st_uid")}

    def readdir(self, path, fh):
        return [".", "..", *os.listdir(self._full(path))]

    def open(self, path, flags):
        return os.open(self._full(path), flags)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def release(self, path, fh):
        os.close(fh)


def announce_when_mounted(mountpoint: str) -> None:
    while not os.path.ismount(mountpoint):
        time.sleep(0.05)
    print("ready", flush=True)


if __name__ == "__main__":
    source, mountpoint = sys.argv[1:3]
    threading.Thread(target=announce_when_mounted, args=(mountpoint,), daemon=True).start()
    FUSE(Mirror(source), mountpoint, foreground=True, nothreads=True, ro=True)
