# Compare gdb's pc list (gdb_pcs.py) with libdw's and libunwind's (unwind_cmp -p)
# for one stopped capture.  usage: compare_gdb.py GDB_OUT CMP_OUT
import sys


def lists(path, tags):
    out = {}
    with open(path) as f:
        for line in f:
            tag = line.split(" ", 1)[0]
            if tag in tags and " 0 " in line[:8]:
                tail = line.rstrip("\n").rsplit(":", 1)[1]
                out[tag] = tail.split()
    return out


gdb = lists(sys.argv[1], {"GDB"}).get("GDB")
with open(sys.argv[1]) as f:
    for line in f:
        if line.startswith("GDBSKIP"):
            print("  gdb frames left out (not on the stack): " + line.split(" ", 1)[1].strip())
mine = lists(sys.argv[2], {"DW", "LU"})
if gdb is None:
    print("  gdb: no backtrace")
    sys.exit(0)
for tag, name in (("DW", "libdw"), ("LU", "libunwind")):
    pcs = mine.get(tag, [])
    if pcs == gdb:
        print("  gdb vs %-9s: same %d frames" % (name, len(gdb)))
        continue
    k = 0
    while k < min(len(pcs), len(gdb)) and pcs[k] == gdb[k]:
        k += 1
    print("  gdb vs %-9s: DIFFER at frame %d (gdb %d frames, %s %d): gdb %s, %s %s"
          % (name, k, len(gdb), name, len(pcs),
             gdb[k] if k < len(gdb) else "(end)", name, pcs[k] if k < len(pcs) else "(end)"))
