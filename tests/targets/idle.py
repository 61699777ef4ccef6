"""A target for interpreters strobe does not support (2.7, 3.6, 3.7): it only
says ready (pid and version) and sleeps.  Keep it valid Python 2.7."""
import json
import os
import sys
import time


def main():
    msg = json.dumps({"event": "ready", "pid": os.getpid(),
                      "version": list(sys.version_info[:3])}) + "\n"
    fd = os.environ.get("STROBE_READY_FD")
    if fd:
        os.write(int(fd), msg.encode("ascii"))
    else:
        sys.stderr.write(msg)
    end = time.time() + float(os.environ.get("STROBE_PROCESS_TIMEOUT", "60"))
    while time.time() < end:
        time.sleep(0.01)
    sys.exit(3)


if __name__ == "__main__":
    main()
