# Run inside gdb (gdb -batch -p PID -ex 'python TID=...' -x gdb_pcs.py):
# prints the pc of every real frame of thread TID on one line, as unwind_cmp -p
# does.  gdb also shows frames that are not on the stack: an inlined call is a
# frame of its own at the pc of the real frame that holds it, and with DWARF
# call-site info gdb rebuilds the callers that tail-called away; the unwinders
# see neither, so both are left out and counted.
import gdb

for th in gdb.selected_inferior().threads():
    if th.ptid[1] == TID:  # noqa: F821 (set by the caller)
        th.switch()
        break
pcs = []
skipped = {"inline": 0, "tailcall": 0}
f = gdb.newest_frame()
while f is not None and len(pcs) < 512:
    if f.type() == gdb.INLINE_FRAME:
        skipped["inline"] += 1
    elif f.type() == gdb.TAILCALL_FRAME:
        skipped["tailcall"] += 1
    else:
        pcs.append("%x" % f.pc())
    try:
        f = f.older()
    except gdb.error:
        break
print("GDBSKIP inline=%d tailcall=%d" % (skipped["inline"], skipped["tailcall"]))
print("GDB 0 n=%d: %s" % (len(pcs), " ".join(pcs)))
