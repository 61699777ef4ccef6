/* fail.h - why a sample failed.
 *
 * The walker, the code cache and the asyncio walker name the first thing
 * they found unreadable or impossible; the sampler counts failed samples
 * per cause and the commands show the breakdown, so that what a profile
 * under-counts (imports, first calls, short-lived frames) is never hidden.
 */
#ifndef STROBE_PY_FAIL_H
#define STROBE_PY_FAIL_H

/* The first thing a failed walk found unreadable or impossible. */
enum py_fail {
	PY_FAIL_NONE = 0,
	PY_FAIL_RUNTIME,       /* runtime or interpreter state unreadable or impossible */
	PY_FAIL_TSTATE,        /* a thread state unreadable or not its interpreter's */
	PY_FAIL_DATASTACK,     /* 3.11+: a data-stack chunk unreadable or impossible */
	PY_FAIL_FRAME_READ,    /* a frame unreadable */
	PY_FAIL_FRAME_FREED,   /* 3.8-3.10: a frame object freed while it was read */
	PY_FAIL_FRAME_BAD,     /* a frame's fields impossible (owner, empty below a live frame) */
	PY_FAIL_FRAME_SWITCH,  /* chain caught in a frame switch (a yielded generator named as running) */
	PY_FAIL_CODE_READ,     /* a code object or its names unreadable */
	PY_FAIL_CODE_BAD,      /* not a code object (freed, reused, or not yet one) */
	PY_FAIL_LINETABLE,     /* a code object's line table unreadable */
	PY_FAIL_INSTR,         /* a frame's instruction outside its code object */
	PY_FAIL_LIMIT,         /* a bound was hit (frames, threads, stack size) */
	PY_FAIL_ASYNC,         /* --async-aware: task or coroutine chain unreadable */
	PY_FAIL_PAUSE,         /* --blocking: the threads could not be stopped */
	PY_FAIL_NOTREADY,      /* no interpreter or thread (after the first sample) */
	PY_FAIL_REFUSED,       /* the kernel refused a read as if the process were gone
				  (ESRCH) while it still ran: it was exiting, or a
				  transient refusal seen under load */
	PY_FAIL_NATIVE_READ,   /* --native-stacks: a thread's registers or stack unreadable */
	PY_FAIL_NATIVE,        /* --native-stacks: evaluation frames != Python segments */
	PY_FAIL_OTHER,
	PY_NFAIL
};

/* Short English description of a cause ("frame freed while read"). */
const char *py_fail_str(enum py_fail why);

#endif
