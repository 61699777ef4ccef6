"""A target that chooses the names of its code and the files under its root,
as a hostile one would (tests/functional/cases_security_read.py).

  --code NAME       one thread runs spin() compiled with file name NAME (the
                    target never opens NAME: only the profiler may)
  --user UID:GID    then drops to that user, without supplementary groups
  --drop-caps       then drops every capability (a root without any, as in
                    a locked-down container), staying uid 0
  --drop-later UID:GID
                    drops to that user (as --user) only once SIGUSR1
                    comes, then says "dropped" (a server that starts as
                    root and drops its privileges once running)
  --chroot DIR      then copies /bin/true to DIR + the path of every file
                    of its interpreter it has mapped (the executable,
                    libpython) and chroots into DIR: its mapped files keep
                    their paths in /proc/PID/maps, where its root now holds
                    other files

Says "ready" (pid, "names": the code names) once every thread is in spin(), then
waits until the target timeout.  spin() sleeps on its line 4.
"""
import os
import shutil
import signal
import sys
import threading
import time

import _common as c

SPIN = "def spin(stop, started):\n    started()\n    while not stop():\n        sleep(0.005)\n"


def mapped_python_files():
    exe = os.readlink("/proc/self/exe")
    out = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6:
                path = parts[5].rstrip("\n")
                if path.startswith("/") and ("python" in os.path.basename(path) or path == exe):
                    out.add(path)
    return sorted(out)


def drop_user(uid, gid):
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def drop_caps():
    """capset(2) with every set empty, for this thread; Python starts no
    thread before main(), so it is the whole process."""
    import ctypes  # here: not every interpreter tested has it

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    hdr = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (Data * 2)()
    if libc.syscall(126, ctypes.byref(hdr), data) != 0:  # SYS_capset on x86-64
        raise SystemExit("hostile_files.py: capset: %s" % os.strerror(ctypes.get_errno()))


def main():
    args = sys.argv[1:]
    names, user, jail, caps, later = [], None, None, True, None
    while args:
        opt, args = args[0], args[1:]
        if opt == "--drop-caps":
            caps = False
            continue
        val, args = args[0], args[1:]
        if opt == "--code":
            names.append(val)
        elif opt == "--user":
            user = [int(x) for x in val.split(":")]
        elif opt == "--chroot":
            jail = val
        elif opt == "--drop-later":
            later = [int(x) for x in val.split(":")]
        else:
            raise SystemExit("hostile_files.py: unknown option %s" % opt)
    if jail:
        for path in mapped_python_files():
            decoy = jail + path
            os.makedirs(os.path.dirname(decoy), exist_ok=True)
            shutil.copy("/bin/true", decoy)
        os.chroot(jail)
        os.chdir("/")
    if user:
        drop_user(user[0], user[1])
    if not caps:
        drop_caps()
    asked = []
    if later:
        signal.signal(signal.SIGUSR1, lambda *a: asked.append(True))
    stop = threading.Event()
    started = []
    for name in names:
        ns = {"sleep": time.sleep}
        exec(compile(SPIN, name, "exec"), ns)
        started.append(threading.Event())
        threading.Thread(target=ns["spin"], args=(stop.is_set, started[-1].set),
                         daemon=True).start()
    for e in started:
        e.wait(c.END - c.now())
    c.signal("ready", names=names, uid=os.getuid())
    while c.now() < c.END:
        time.sleep(0.05)
        if asked and later:
            drop_user(later[0], later[1])
            later = None
            c.signal("dropped", uid=os.getuid())
    stop.set()
    c.timed_out()


if __name__ == "__main__":
    main()
