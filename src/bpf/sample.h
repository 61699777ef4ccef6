/* sample.h - what the BPF sampling program (sample.bpf.c) and strobe share:
 * the walk's configuration (one entry of an array map, filled from the
 * target's struct py_layout by user space) and the record the program
 * writes to the ring buffer for every sample.  Built both by clang's BPF
 * target (uapi headers only) and by the C compiler, so: fixed-width uapi
 * types, no padding left implicit, no pointers.
 *
 * The program knows no CPython version: it follows "read a pointer at this
 * offset, copy this many bytes, follow the pointer at that offset" as the
 * configuration says.  Decoding a frame's bytes stays with the walker
 * (py_walker_frame, py_walker_object_frame). */
#ifndef STROBE_BPF_SAMPLE_H
#define STROBE_BPF_SAMPLE_H

#include <linux/types.h>

/* Frames per record: a deeper stack comes in several records (parts) of
 * one sample, up to STROBE_BPF_MAX_PARTS of them (bpf_loop); a stack
 * deeper than the configured bound is cut there, its last record marked
 * STROBE_BPF_TRUNCATED. */
#define STROBE_BPF_MAX_FRAMES 64
#define STROBE_BPF_MAX_PARTS 128
/* Bytes copied of each frame at most (the walker's if_size / frame-object
 * read are below it for every supported version: checked at load). */
#define STROBE_BPF_HEAD_MAX 128
/* An absent offset, as PY_ABSENT. */
#define STROBE_BPF_ABSENT 0xffffffffu

/* Record flags */
#define STROBE_BPF_TRUNCATED 1u  /* the chain went on past the last frame copied */
#define STROBE_BPF_READ_FAILED 2u /* a read of the thread state or a frame failed */
#define STROBE_BPF_MORE 4u       /* another part of the same sample follows */
#define STROBE_BPF_SWITCH 8u     /* taken as the thread left its CPU (wall mode):
				  * the stack its time off CPU is credited to */
#define STROBE_BPF_TS_FAILED 16u /* (with READ_FAILED) the thread state itself could not
				  * be read: its status is not known either (0) */

/* cpu_ns of a record when its thread's CPU time could not be read */
#define STROBE_BPF_NO_CPU_TIME (~0ULL)
/* A perf event's BPF cookie: the thread's id in strobe's /proc in the low
 * 32 bits, its slot in the cpu_clocks array (its cpu-clock event, for
 * its CPU time) in the high ones. */
#define STROBE_BPF_COOKIE(tid, slot) ((__u64)(__u32)(tid) | ((__u64)(slot) << 32))
#define STROBE_BPF_MAX_SLOTS 4096

/* Record status bits: the thread's state when it was sampled, read before
 * its frames (docs/bpf-engine.md, "Thread status").  The configuration's
 * `want` says which are computed (GIL covers GIL_REQUESTED). */
#define STROBE_BPF_ST_GIL 1u           /* it holds the GIL */
#define STROBE_BPF_ST_GIL_REQUESTED 2u /* it waits for the GIL */
#define STROBE_BPF_ST_EXCEPTION 4u     /* it raises or handles an exception */
#define STROBE_BPF_ST_GC 8u            /* its interpreter's collector runs */
#define STROBE_BPF_ST_FINALIZING 16u   /* it tears its interpreter down (after the
					* atexit callbacks): its stack goes under
					* <shutdown>, as the reader's */

/* More bits of the configuration's `want`, not status bits: */
#define STROBE_BPF_WANT_GIL_IF_GC 0x100u /* the GIL bit only while the collector runs
					  * (before 3.15 <GC> goes on its holder's stack) */
#define STROBE_BPF_WANT_CPU_TIME 0x200u  /* the thread's CPU time (wall mode's off-CPU
					  * accounting) in each record */

/* Reads.  A probe read of the target's memory costs ~100 ns whatever its
 * size up to a few KiB (bench/bpf/prog_cost.sh, docs/bpf-engine.md), so
 * the program reads the thread state's first ts_len bytes once (its
 * fields then come from that copy), and on 3.11+ the frames of the
 * thread's current data stack chunk a window at a time: frames there lie
 * one after the other, callers below, in [chunk + chunk_data,
 * datastack_top), all of it written memory; a window of up to `window`
 * bytes ends at the frame's head and holds its callers as well.  A frame
 * elsewhere (a generator's, 3.12+'s entry frame on the C stack, an older
 * chunk's) is read on its own. */
#define STROBE_BPF_TS_MAX 1024
#define STROBE_BPF_WINDOW_MAX 8192

/* How the GIL's holder is found (struct strobe_bpf_config.gil_kind) */
#define STROBE_BPF_GIL_NONE 0u
#define STROBE_BPF_GIL_HOLDER 1u /* the word at gil_holder names the holder's thread state */
#define STROBE_BPF_GIL_LOCK 2u   /* the thread's interpreter's lock: held (gil_locked
				  * == 1) by the thread state at gil_last_holder */
#define STROBE_BPF_GIL_BIT 3u    /* a bit of the thread state's own u32 */

/* Code object copies.  User space resolves a frame's code object up to a
 * drain period after the sample; a short-lived one (a module body during
 * an import, exec'd code) may be freed by then.  So, for each code object
 * of a sample not in the `known_codes` map (a fingerprint of the code and
 * globals addresses it was resolved with, filled by user space once it has
 * resolved one: the same code address run with other globals is copied
 * again), the program
 * copies what resolving it reads: the code object's first code.head bytes,
 * then for each of STROBE_BPF_BLOBS pointer fields of that copy (file
 * name, name, line table) the pointed-to object: a length word at
 * len_off, then hdr + length bytes, at least min (a read that large is what
 * user space makes first) and at most max.  One record
 * (struct strobe_bpf_code_record) per copy, written before the sample's
 * last record.  code.head == 0: no copies. */
#define STROBE_BPF_BLOBS 3
#define STROBE_BPF_CODE_HEAD_MAX 512
#define STROBE_BPF_BLOB_MAX 4096
/* Room for the head and the blobs (512 + 3 * 4096 bytes at most), sized
 * so that a blob's offset masked with STROBE_BPF_CODE_OFF_MASK and its
 * length stay inside it: the verifier's bounds need the mask. */
#define STROBE_BPF_CODE_OFF_MASK 16383u
#define STROBE_BPF_CODE_DATA (STROBE_BPF_CODE_OFF_MASK + 1 + STROBE_BPF_BLOB_MAX)
/* Copies a sample makes at most (the rest resolve from live memory). */
#define STROBE_BPF_CODES_PER_SAMPLE 16
/* known_codes: an array of KNOWN_SLOTS words, a code object's slot
 * holding the fingerprint of (code, globals) once resolved (0: none).  An
 * array map's lookup is a few instructions, not a hash call: the check
 * runs for every frame of every sample.  Two code objects sharing a slot
 * take turns (the other one copied again); a fingerprint is one aligned
 * word, so the program never sees half of one. */
#define STROBE_BPF_KNOWN_SLOTS 65536u

static inline __u32 strobe_bpf_known_slot(__u64 code)
{
	return (__u32)(((code >> 4) * 0x9e3779b97f4a7c15ull) >> 48) & (STROBE_BPF_KNOWN_SLOTS - 1);
}

static inline __u64 strobe_bpf_known_print(__u64 code, __u64 globals)
{
	__u64 h = (code ^ (globals * 0xff51afd7ed558ccdull)) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h | 1; /* never 0 */
}

/* The first word of a code record (a sample record's tid is never 0) and
 * its second. */
#define STROBE_BPF_CODE_MAGIC 0x45444f43u

struct strobe_bpf_blob_config {
	__u32 field;   /* the pointer's offset in the code object, < head */
	__u32 len_off; /* the length word's offset in the object, <= max - 8 */
	__u32 hdr;     /* bytes before the data */
	__u32 min, max; /* bytes copied at least / at most, max <= STROBE_BPF_BLOB_MAX */
	__u32 pad;
};

struct strobe_bpf_code_config {
	__u32 frame_code;    /* frame head -> code object pointer, < head_size - 7 */
	__u32 frame_globals; /* frame head -> globals pointer, < head_size - 7 */
	__u64 code_mask;     /* bits of that pointer that are tags, not address */
	__u32 head;          /* bytes of the code object copied, <= STROBE_BPF_CODE_HEAD_MAX; 0: off */
	__u16 frame_owner;   /* frame head -> its owner byte, < head_size (0xffff: none) ... */
	__u16 owner_cstack;  /* ... at or above which the frame is a C entry's (3.12+'s
			      * trampoline, its globals word the C stack's): not copied */
	struct strobe_bpf_blob_config blob[STROBE_BPF_BLOBS];
};


/* One code object's copy.  data: head_len bytes of the code object, then
 * each blob's len bytes at its off (8-aligned); a blob or head that could
 * not be read has length 0. */
struct strobe_bpf_code_record {
	__u32 zero;        /* 0: tells it from a struct strobe_bpf_record */
	__u32 magic;       /* STROBE_BPF_CODE_MAGIC */
	__u32 tid;         /* the sample's thread (as struct strobe_bpf_record's) */
	__u32 head_len;
	__u64 code, globals;
	__u32 size;        /* bytes of the record written */
	__u32 pad;
	struct {
		__u64 addr;
		__u32 off, len;
	} blob[STROBE_BPF_BLOBS];
	__u8 data[STROBE_BPF_CODE_DATA];
};
#define STROBE_BPF_CODE_RECORD_HEAD (sizeof(struct strobe_bpf_code_record) - STROBE_BPF_CODE_DATA)

struct strobe_bpf_config {
	__u32 ts_frame;    /* thread state -> first pointer (frame, cframe or current_frame) */
	__u32 frame_deref; /* offset of the frame pointer in what ts_frame points to
			    * (3.11-3.12: cframe->current_frame), STROBE_BPF_ABSENT if
			    * ts_frame gives the frame itself */
	__u32 back;        /* frame -> its caller (f_back / previous), < head_size - 7 */
	__u32 head_size;   /* bytes to copy of each frame, <= STROBE_BPF_HEAD_MAX */
	__u32 max_frames;  /* frames per sample, <= STROBE_BPF_MAX_FRAMES * STROBE_BPF_MAX_PARTS */

	/* Thread status, from the walker's layout (sampler_bpf_config); an
	 * offset not used is STROBE_BPF_ABSENT.  Every read is of the target's
	 * memory; a read that fails leaves its bit clear. */
	__u32 want;             /* STROBE_BPF_ST_GIL | _EXCEPTION | _GC: what to compute,
				 * | STROBE_BPF_WANT_* */
	__u32 gil_kind;         /* STROBE_BPF_GIL_* */
	__u32 window;           /* frames copied from windows of this many bytes
				 * (<= STROBE_BPF_WINDOW_MAX, 0: each frame on its own) */
	__u64 gil_holder;       /* HOLDER: address of the holder's PyThreadState * */
	__u32 ts_interp;        /* thread state -> its interpreter (LOCK, GC per interpreter) */
	__u32 is_gil_ptr;       /* LOCK: interpreter -> its GIL */
	__u32 gil_locked;       /* LOCK: int in the GIL, 1 while held */
	__u32 gil_last_holder;  /* LOCK: PyThreadState * in the GIL */
	__u32 ts_holds_gil;     /* BIT: u32 of the thread state ... */
	__u32 holds_gil_bit;    /* ... and its bit (< 32) */
	__u32 ts_gil_requested; /* int, set while the thread waits for the GIL */
	__u32 ts_current_exception; /* PyObject *: the exception being raised */
	__u32 ts_exc_info;      /* _PyErr_StackItem *: top of the handled-exception stack */
	__u32 exc_test;         /* item -> the value that says it is in use (< 256) */
	__u32 exc_previous;     /* item -> the next older item (< 256) */
	__u32 gc_frame_follows; /* 1: the collection's start frame (PyInterpreterFrame *)
				 * follows the collecting int, 8 bytes on (3.15+) */
	__u64 none_addr;        /* None: an item holding it is empty */
	__u64 gc_addr;          /* the collecting int (a process-wide collector), or 0 ... */
	__u32 is_gc_collecting; /* ... interpreter -> its collecting int */
	/* wall mode: the target's PID namespace (st_dev and st_ino of
	 * /proc/PID/ns/pid) and its id there, to know its threads in the
	 * sched_switch program (a tracepoint's BPF program runs for every
	 * task, whatever perf event it was attached through); ns_ino 0: none */
	__u32 ns_tgid;
	__u64 ns_dev;
	__u64 ns_ino;
	__u32 ts_len;     /* bytes of the thread state copied first (<= STROBE_BPF_TS_MAX;
			   * 0: each field read on its own) */
	/* windows (with `window`): thread state -> its current data stack
	 * chunk and its top; chunk -> its first frame's bytes */
	__u32 ts_chunk, ts_top, chunk_data;
	/* FINALIZING: the word naming the thread state that shuts down - at
	 * fin_addr (the runtime's), else at interpreter + is_finalizing */
	__u64 fin_addr;
	__u32 is_finalizing;
	__u32 pad3;
	struct strobe_bpf_code_config code; /* code object copies (below) */
};

/* Each frame in a record: its address (8 bytes), then its first head_size
 * bytes, padded to 8: STROBE_BPF_STRIDE(head_size) bytes a frame, so a
 * record carries no more than the version needs (3.11+: 80-88 bytes a
 * frame, not the 136 of the largest). */
#define STROBE_BPF_STRIDE(hs) (8u + (((hs) + 7u) & ~7u))
#define STROBE_BPF_STRIDE_MAX STROBE_BPF_STRIDE(STROBE_BPF_HEAD_MAX)
#define STROBE_BPF_DATA_MAX (STROBE_BPF_MAX_FRAMES * STROBE_BPF_STRIDE_MAX)

struct strobe_bpf_record {
	__u32 tid;         /* the thread's id in strobe's /proc (its perf event's cookie) */
	__u32 flags;       /* STROBE_BPF_* */
	__u32 nframes;     /* frames[0..nframes), innermost first */
	__u32 head_size;   /* as configured when the record was made */
	__u32 stride;      /* STROBE_BPF_STRIDE(head_size) */
	__u32 status;      /* STROBE_BPF_ST_*, the same in each part of a sample */
	__u64 tstate;      /* the thread state the map gave for tid */
	__u64 time_ns;     /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 sample;      /* the sample's number, the same in each of its parts */
	__u32 part;        /* this record's place among them, from 0 */
	__u32 pad2;
	__u64 gc_frame;    /* with STROBE_BPF_ST_GC and gc_frame_follows: the frame the
			    * collection started in (0: none) */
	__u64 cpu_ns;      /* the thread's CPU time (its cpu-clock event's count),
			    * or STROBE_BPF_NO_CPU_TIME */
	__u8 data[STROBE_BPF_DATA_MAX]; /* nframes frames of stride bytes */
};

/* Bytes of a record of n frames of stride bytes in the ring buffer. */
#define STROBE_BPF_RECORD_HEAD (sizeof(struct strobe_bpf_record) - STROBE_BPF_DATA_MAX)
#define STROBE_BPF_RECORD_SIZE(n, stride) (STROBE_BPF_RECORD_HEAD + (n) * (stride))

#endif
