# Run inside gdb (gdb -batch -p PID -ex 'python TID=...' -x gdb_pcs.py):
# prints the pc of every real (not inlined) frame of thread TID on one line, as unwind_cmp -p does.
import gdb

for th in gdb.selected_inferior().threads():
    if th.ptid[1] == TID:  # noqa: F821 (set by the caller)
        th.switch()
        break
pcs = []
f = gdb.newest_frame()
while f is not None and len(pcs) < 512:
    # an inlined call is a gdb frame of its own at the pc of the real frame
    # that holds it; the unwinders see only real frames
    if f.type() != gdb.INLINE_FRAME:
        pcs.append("%x" % f.pc())
    try:
        f = f.older()
    except gdb.error:
        break
print("GDB 0 n=%d: %s" % (len(pcs), " ".join(pcs)))
