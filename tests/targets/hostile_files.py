"""A target that chooses the names of its code and the files under its root,
as a hostile one would (tests/functional/cases_security_read.py).

  --code NAME       one thread runs spin() compiled with file name NAME (the
                    target never opens NAME: only the profiler may)
  --user UID:GID    then drops to that user, without supplementary groups
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


def main():
    args = sys.argv[1:]
    names, user, jail = [], None, None
    while args:
        opt, val, args = args[0], args[1], args[2:]
        if opt == "--code":
            names.append(val)
        elif opt == "--user":
            user = [int(x) for x in val.split(":")]
        elif opt == "--chroot":
            jail = val
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
        os.setgroups([])
        os.setgid(user[1])
        os.setuid(user[0])
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
    stop.set()
    c.timed_out()


if __name__ == "__main__":
    main()
