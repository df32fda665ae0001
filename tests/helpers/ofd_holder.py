"""A real process holding an open-file-description lock (F_OFD_SETLK), as a program that
locks with OFD locks would: `ofd_holder.py FILE BYTE [fork]`. With `fork`, a child shares
the description (and so the lock). Prints {"pids": [...]} once locked; exits when stdin
closes."""

import fcntl
import json
import os
import struct
import sys

F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)
path, byte = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDWR)
fcntl.fcntl(fd, F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, byte, 1, 0))
pids = [os.getpid()]
child = 0
if len(sys.argv) > 3 and sys.argv[3] == "fork":
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(write_end)
        os.read(read_end, 1)  # until the parent goes
        os._exit(0)
    os.close(read_end)
    pids.append(child)
print(json.dumps({"pids": pids}), flush=True)
sys.stdin.read()
