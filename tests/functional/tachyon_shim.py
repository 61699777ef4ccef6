#!/usr/bin/python3
"""Check the suite itself against the reference: a stand-in for the strobe
binary that runs Tachyon (python3.15 -m profiling.sampling) inside the sid root.

  tests/functional/run.py --strobe tests/functional/tachyon_shim.py -k '3\\.15'

Only the 3.15 interpreter can pass (Tachyon profiles its own version only);
known differences from strobe's spec: SIGTERM exits 143 (sigterm), and
no_permission cannot work (the shim needs root for its mount namespace).
Everything else passing there means the tests' expectations (stacks, qualnames,
lines, thread ids, formats) match the reference implementation.

How: strobe-only arguments are translated (--python dropped; "-- chroot ROOT
python3.15 script" becomes "script"; host paths inside ROOT are made relative
to it), then Tachyon runs in a private mount namespace (unshare -m) with /proc
mounted inside the root, and a tmpfs over ROOT/var/cache holding the symlink
/var/cache/strobe/sid -> / so that the host paths in /proc/PID/maps of attached
targets resolve.  Nothing outlives the namespace.  Tachyon's coordinator closes
inherited fds, so the readiness fd is relayed through a FIFO
(STROBE_READY_PATH, see tests/targets/_common.py).
"""
import os
import signal
import subprocess
import sys
import threading

ROOT = os.path.abspath(os.environ.get("STROBE_SID_ROOT", "/var/cache/strobe/sid"))


def strip(a):
    return a[len(ROOT):] if a.startswith(ROOT + "/") else a


def translate(argv):
    out = [argv[0]] if argv else []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--python":
            i += 2
            continue
        if a == "--":
            rest = argv[i + 1:]
            if rest and rest[0] == "/usr/bin/env":
                rest = rest[1:]
            if rest and rest[0] == "chroot":
                rest = rest[3:]  # chroot ROOT pythonX.Y
            out += [strip(x) for x in rest]
            break
        out.append(strip(a))
        i += 1
    return out


def main():
    args = translate(sys.argv[1:])
    cwd = os.getcwd()
    cwd = strip(cwd) if cwd.startswith(ROOT + "/") else "/tmp"
    env = dict(os.environ)
    fifo = None
    if "STROBE_READY_FD" in env:
        fd = int(env.pop("STROBE_READY_FD"))
        fifo = "%s/tmp/strobe-shim-%d.fifo" % (ROOT, os.getpid())
        os.mkfifo(fifo)
        env["STROBE_READY_PATH"] = strip(fifo)

        def relay():
            with open(fifo, "rb", buffering=0) as f:
                while True:
                    b = f.read(4096)
                    if not b:
                        break
                    os.write(fd, b)
        threading.Thread(target=relay, daemon=True).start()
    inner = ('mount -t proc proc "$0/proc" && mount -t tmpfs none "$0/var/cache" && '
             'mkdir -p "$0/var/cache/strobe" && ln -s / "$0$0" && '
             'exec chroot "$0" sh -c \'cd "$0" && exec python3.15 -m profiling.sampling "$@"\' "$@"')
    p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", inner,
                          ROOT, cwd] + args, env=env)
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda sig, frame: p.send_signal(sig))
    rc = p.wait()
    if fifo:
        os.unlink(fifo)
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    sys.exit(main())
