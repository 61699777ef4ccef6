"""Import storm: re-imports 20 stdlib packages in a loop for SECONDS
(argument, default 5), then exits 0.

Every round drops the packages (and their submodules) from sys.modules and
imports them again: finders stat files, the loader reads and unmarshals
bytecode, module bodies run and create brand-new code objects, functions
and frames.  Stacks change every microsecond, which is where a sampler
that reads a running process finds torn state.  Also a workload of
bench/failures.py."""
import importlib
import os
import sys

import _common as c

MODS = ["json", "csv", "decimal", "fractions", "statistics", "email.message", "http.client",
        "xml.dom.minidom", "argparse", "logging", "textwrap", "difflib", "pprint", "calendar",
        "configparser", "ipaddress", "uuid", "pathlib", "tarfile", "zipfile"]


def storm(seconds):
    end = c.now() + seconds
    while c.now() < end:
        for m in MODS:
            for k in [k for k in sys.modules if k == m or k.startswith(m + ".")]:
                del sys.modules[k]
            importlib.import_module(m)  # @import


if __name__ == "__main__":
    # bench/failures.py: a profiler that launches the script itself
    # (Tachyon) is pinned to one CPU, the script pins itself to another
    if os.environ.get("STROBE_PIN_CPU"):
        os.sched_setaffinity(0, {int(os.environ["STROBE_PIN_CPU"])})
    c.signal("ready", __file__)
    storm(float(sys.argv[1]) if len(sys.argv) > 1 else 5)  # @module
