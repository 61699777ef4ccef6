/* sample.bpf.c - strobe's in-kernel sampler (--engine bpf, docs/bpf-engine.md).
 *
 * Runs on a per-thread cpu-clock perf event, in the context of the
 * interrupted thread of the target: its Python stack cannot change while
 * it is read.  Looks the thread's id (its event's cookie) up in `threads`
 * (tid -> thread state address, kept by user space), reads the innermost frame pointer through
 * the offsets of `config`, then follows the chain copying each frame's
 * head into a per-CPU record (bpf_loop, one frame per iteration, so the
 * verifier checks the step once), STROBE_BPF_MAX_FRAMES frames per record
 * (a deep stack comes in several records of one sample, up to
 * config.max_frames), and hands the used part of each record to the ring
 * buffer without waking the reader
 * (it drains in batches: a wake-up per record costs 9-24% of a core,
 * bench/bpf/).
 *
 * Wall mode adds on_switch (sched_switch, the stack of a thread of the
 * target as it leaves its CPU, with its CPU time; see there).
 *
 * Every byte read here is the target's: only user-memory probe reads,
 * every loop bounded, every size and index clamped for the verifier. */
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "bpf/sample.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 23);
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct strobe_bpf_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct strobe_bpf_record);
} scratch SEC(".maps");

/* wall mode: each watched thread's cpu-clock event at its slot (the
 * cookie's high half), read for its CPU time so far */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(max_entries, STROBE_BPF_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} cpu_clocks SEC(".maps");

/* wall mode: a thread's id in the target's PID namespace -> its cookie
 * (the sched_switch program knows the leaving task only by that id) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STROBE_BPF_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} switch_ids SEC(".maps");

/* code objects user space has resolved (and with which globals): they
 * are not copied again when met with those globals (docs/bpf-engine.md, "Code object copies") */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STROBE_BPF_KNOWN_SLOTS);
	__type(key, __u32);   /* strobe_bpf_known_slot(code) */
	__type(value, __u64); /* strobe_bpf_known_print(code, globals) */
} known_codes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct strobe_bpf_code_record);
} code_scratch SEC(".maps");

/* The code objects the sample being taken on this CPU has copied so far
 * (the first w->copies): one met again further out (an import's importlib
 * frames repeat at every level of a nested import) is not copied twice -
 * at start-up those repeats spent the sample's budget before the module
 * bodies further out were reached. */
struct code_seen {
	__u64 code[STROBE_BPF_CODES_PER_SAMPLE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct code_seen);
} codes_seen SEC(".maps");

/* The thread state's first bytes, copied once a sample (sample.h, "Reads");
 * 8 bytes of slack: a field is loaded at an offset masked below TS_MAX. */
struct ts_copy {
	__u8 data[STROBE_BPF_TS_MAX + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ts_copy);
} ts_copies SEC(".maps");

/* A window of the data stack (sample.h, "Reads"); a head's copy out of it
 * may run HEAD_MAX bytes from any offset below WINDOW_MAX. */
struct window_copy {
	__u8 data[STROBE_BPF_WINDOW_MAX + STROBE_BPF_HEAD_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct window_copy);
} windows SEC(".maps");

/* what happened, for the statistics (read by user space) */
__u64 runs = 0, kept = 0, lost = 0, unknown = 0, switches = 0;
/* code object copies written, and refused by the full ring buffer */
__u64 code_copies = 0, code_lost = 0;
/* data stack windows read (each holding several frames) */
__u64 windows_read = 0;
/* samples numbered across CPUs */
__u64 samples = 0;

/* One sample's walk (scalars only: bpf_loop's context). */
struct walk {
	__u64 frame;     /* the next frame to copy, 0 at the chain's end */
	__u64 tstate, time_ns, sample, gc_frame, cpu_ns;
	__u32 tid, flags, total, max_total, hs, back, stride, status;
	__u32 n;         /* frames in the record being filled */
	__u32 part;      /* its number */
	__u32 copies;    /* code objects copied for this sample */
	__u64 last_code; /* the last one looked at (a recursion's frames share it) */
	/* the configuration's code copies: frame_code is ABSENT when off;
	 * a frame whose owner byte is at or above owner_cstack is not copied */
	__u32 frame_code, frame_globals, frame_owner, owner_cstack;
	__u64 code_mask;
	/* windows: frames in [lo, top) (the current data stack chunk's) are
	 * copied from [win_base, win_base + win_len) once it is read;
	 * window: its size at most, 0 when off */
	__u64 lo, top, win_base;
	__u32 win_len, window;
};

/* Read the window that holds the frame to copy (w->frame, its head of
 * w->hs bytes) if the frame is in the current chunk: it ends at the
 * frame's head, so it holds its callers that follow below.  1 when read.
 * A global function, verified once on its own: within bpf_loop's body the
 * window's bounds made the verifier walk many times the instructions. */
__noinline int window_read(struct walk *w)
{
	if (!w || !w->window)
		return 0;
	__u64 f = w->frame, end = f + w->hs;
	/* a frame outside the chunk keeps the window (its callers may be in it) */
	if (w->hs > STROBE_BPF_HEAD_MAX || f < w->lo || end > w->top || end < f)
		return 0;
	__u32 zero = 0;
	struct window_copy *b = bpf_map_lookup_elem(&windows, &zero);
	if (!b)
		return 0;
	__u64 start = end - w->lo > w->window ? end - w->window : w->lo;
	__u64 len = end - start;
	if (len > STROBE_BPF_WINDOW_MAX || len < w->hs)
		return 0;
	w->win_len = 0; /* the buffer is rewritten */
	if (bpf_probe_read_user(b->data, len, (const void *)start))
		return 0; /* not expected: the chunk is written memory */
	w->win_base = start;
	w->win_len = (__u32)len;
	__sync_fetch_and_add(&windows_read, 1);
	return 1;
}

/* Copy the head of the frame to copy into head from the window read last,
 * if it holds it.  1 when copied. */
static __always_inline int from_window(struct walk *w, __u8 *head)
{
	__u64 f = w->frame;
	if (!w->win_len || f < w->win_base || f + w->hs > w->win_base + w->win_len)
		return 0;
	__u32 zero = 0;
	const struct window_copy *b = bpf_map_lookup_elem(&windows, &zero);
	if (!b)
		return 0;
	__u64 o = f - w->win_base;
	if (o > STROBE_BPF_WINDOW_MAX - 1)
		return 0;
	const __u8 *src = b->data + (o & (STROBE_BPF_WINDOW_MAX - 1));
	/* whole words up to HEAD_MAX: what lies past hs is never output */
#pragma clang loop unroll(full)
	for (int i = 0; i < STROBE_BPF_HEAD_MAX / 8; i++)
		((__u64 *)head)[i] = ((const __u64 *)src)[i];
	return 1;
}

/* Output the record being filled (w->n frames); more: another follows. */
static __always_inline int flush(struct walk *w, struct strobe_bpf_record *r, int more)
{
	__u32 n = w->n;
	r->tid = w->tid;
	r->flags = w->flags | (more ? STROBE_BPF_MORE : 0);
	r->nframes = n;
	r->head_size = w->hs;
	r->stride = w->stride;
	r->status = w->status;
	r->tstate = w->tstate;
	r->time_ns = w->time_ns;
	r->sample = w->sample;
	r->part = w->part;
	r->pad2 = 0;
	r->gc_frame = w->gc_frame;
	r->cpu_ns = w->cpu_ns;
	if (n > STROBE_BPF_MAX_FRAMES)
		return -1;
	__u64 size = STROBE_BPF_RECORD_SIZE((__u64)n, w->stride & 0xff);
	if (size > sizeof(*r))
		return -1;
	if (bpf_ringbuf_output(&records, r, size, BPF_RB_NO_WAKEUP)) {
		__sync_fetch_and_add(&lost, 1);
		return -1;
	}
	__sync_fetch_and_add(&kept, 1);
	w->part++;
	w->n = 0;
	return 0;
}

/* Copy blob i of the code object copied in cr (the object its pointer
 * field points to): its length word, then hdr + length bytes within
 * [min, max], at *off in cr->data, 8-aligned.  A failed read leaves the
 * blob empty (user space then reads the live object). */
static __always_inline void copy_blob(struct strobe_bpf_code_record *cr,
				      const struct strobe_bpf_blob_config *b, int i, __u32 *off)
{
	cr->blob[i].addr = 0;
	cr->blob[i].off = 0;
	cr->blob[i].len = 0;
	__u32 field = b->field;
	if (field > STROBE_BPF_CODE_HEAD_MAX - 8 || field + 8 > cr->head_len)
		return;
	__u64 ptr = *(const __u64 *)(cr->data + (field & (STROBE_BPF_CODE_HEAD_MAX - 1)));
	if (!ptr)
		return;
	__u64 n = 0;
	if (bpf_probe_read_user(&n, sizeof(n), (const void *)(ptr + b->len_off)))
		return;
	__u64 want = n > STROBE_BPF_BLOB_MAX ? STROBE_BPF_BLOB_MAX : b->hdr + n;
	if (want < b->min)
		want = b->min;
	if (want > b->max)
		want = b->max;
	/* at most 512 + 2 * 4096 by construction; the mask is for the verifier */
	__u64 o = *off;
	asm volatile("" : "+r"(o));
	o &= STROBE_BPF_CODE_OFF_MASK;
	__u32 len = want > STROBE_BPF_BLOB_MAX ? STROBE_BPF_BLOB_MAX : (__u32)want;
	if (len == 0)
		return;
	if (bpf_probe_read_user(cr->data + o, len, (const void *)ptr)) {
		/* an object near the end of its mapping: its exact size */
		__u64 exact = b->hdr + n;
		if (exact == 0 || exact >= len)
			return;
		len = (__u32)exact;
		if (bpf_probe_read_user(cr->data + o, len, (const void *)ptr))
			return;
	}
	cr->blob[i].addr = ptr;
	cr->blob[i].off = (__u32)o;
	cr->blob[i].len = len;
	*off = (__u32)o + ((len + 7) & ~7u);
}

/* The code object of the frame whose head was just copied (its code and
 * globals pointers): unless user space knows it (known_codes) or this
 * sample copied it already, write a code record with its copy before the
 * sample's own last record.  A global function: the verifier checks it
 * once on its own, not within every path of its callers (with the thread
 * status and wall mode's program the whole did not fit its budget). */
__noinline int copy_code(struct walk *w, __u64 code, __u64 globals)
{
	if (!w || w->copies >= STROBE_BPF_CODES_PER_SAMPLE)
		return 0; /* enough for this sample */
	if (!code || code == w->last_code)
		return 0;
	w->last_code = code;
	__u32 slot = strobe_bpf_known_slot(code);
	const __u64 *known = bpf_map_lookup_elem(&known_codes, &slot);
	if (known && *known == strobe_bpf_known_print(code, globals))
		return 0;
	__u32 zero = 0;
	struct code_seen *seen = bpf_map_lookup_elem(&codes_seen, &zero);
	if (!seen)
		return 0;
	for (__u32 i = 0; i < STROBE_BPF_CODES_PER_SAMPLE; i++) {
		if (i >= w->copies)
			break;
		if (seen->code[i] == code)
			return 0; /* copied for this sample already */
	}
	seen->code[w->copies & (STROBE_BPF_CODES_PER_SAMPLE - 1)] = code;
	const struct strobe_bpf_config *c = bpf_map_lookup_elem(&config, &zero);
	if (!c)
		return 0;
	const struct strobe_bpf_code_config *cc = &c->code;
	__u32 hsz = cc->head;
	if (!hsz)
		return 0;
	struct strobe_bpf_code_record *cr = bpf_map_lookup_elem(&code_scratch, &zero);
	if (!cr)
		return 0;
	w->copies++;
	cr->zero = 0;
	cr->magic = STROBE_BPF_CODE_MAGIC;
	cr->tid = w->tid;
	cr->pad = 0;
	cr->code = code;
	cr->globals = globals;
	cr->head_len = 0;
	if (hsz > STROBE_BPF_CODE_HEAD_MAX)
		hsz = STROBE_BPF_CODE_HEAD_MAX;
	if (!bpf_probe_read_user(cr->data, hsz, (const void *)code))
		cr->head_len = hsz;
	__u32 off = (cr->head_len + 7) & ~7u;
	copy_blob(cr, &cc->blob[0], 0, &off);
	copy_blob(cr, &cc->blob[1], 1, &off);
	copy_blob(cr, &cc->blob[2], 2, &off);
	__u64 size = STROBE_BPF_CODE_RECORD_HEAD + (__u64)off;
	if (size > sizeof(*cr))
		return 0;
	cr->size = (__u32)size;
	if (bpf_ringbuf_output(&records, cr, size, BPF_RB_NO_WAKEUP))
		__sync_fetch_and_add(&code_lost, 1);
	else
		__sync_fetch_and_add(&code_copies, 1);
	return 0;
}

/* bpf_loop's body, once per frame (verified once, whatever the depth):
 * copy the next frame into the record, output the record when it is
 * full and the chain goes on, or when the chain ends (or reaches the
 * bound, or a read fails).  0 to go on, 1 when done. */
static long one_frame(__u32 index, void *arg)
{
	(void)index;
	struct walk *w = arg;
	__u32 zero = 0;
	struct strobe_bpf_record *r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return 1;
	if (!w->frame || w->total >= w->max_total) {
		if (w->frame)
			w->flags |= STROBE_BPF_TRUNCATED; /* the chain goes on past the bound */
		flush(w, r, 0);
		return 1;
	}
	__u32 hs = w->hs, back = w->back, stride = w->stride;
	__u32 off = w->n * stride;
	if (hs > STROBE_BPF_HEAD_MAX || back > STROBE_BPF_HEAD_MAX - 8 ||
	    off > STROBE_BPF_DATA_MAX - STROBE_BPF_STRIDE_MAX)
		return 1;
	*(__u64 *)(r->data + off) = w->frame;
	__u8 *head = r->data + off + 8;
	if (!from_window(w, head) && !(window_read(w) && from_window(w, head)) &&
	    bpf_probe_read_user(head, hs & (2 * STROBE_BPF_HEAD_MAX - 1), (const void *)w->frame)) {
		w->flags |= STROBE_BPF_READ_FAILED;
		flush(w, r, 0);
		return 1;
	}
	__u32 fc = w->frame_code, fg = w->frame_globals, fo = w->frame_owner;
	if (fc <= STROBE_BPF_HEAD_MAX - 8 && fg <= STROBE_BPF_HEAD_MAX - 8 && /* else: off */
	    !(fo < STROBE_BPF_HEAD_MAX && head[fo & (STROBE_BPF_HEAD_MAX - 1)] >= w->owner_cstack))
		copy_code(w, *(const __u64 *)(head + (fc & (STROBE_BPF_HEAD_MAX - 1))) & ~w->code_mask,
			  *(const __u64 *)(head + (fg & (STROBE_BPF_HEAD_MAX - 1))));
	w->n++;
	w->total++;
	w->frame = *(const __u64 *)(head + (back & (STROBE_BPF_HEAD_MAX - 1)));
	if (w->n >= STROBE_BPF_MAX_FRAMES && w->frame && w->total < w->max_total &&
	    flush(w, r, 1))
		return 1;
	return 0;
}

/* ---- the thread's status (docs/bpf-engine.md, "Thread status") ----
 * The reader's rules (src/py/walk.c: thread_status, handling_exception,
 * shared_iovs), on offsets and addresses user space took from the same
 * layout (sampler_bpf_config).  A failed read leaves its bit clear. */

static __always_inline __u64 read_u64(__u64 addr)
{
	__u64 v = 0;
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		return 0;
	return v;
}

static __always_inline __u32 read_u32(__u64 addr)
{
	__u32 v = 0;
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		return 0;
	return v;
}

/* A field of the thread state's copy: every offset the configuration
 * uses lies in its first ts_len bytes (bpf_engine_open checks it), so no
 * branch - the mask is for the verifier. */
static __always_inline __u64 ts_u64(const struct ts_copy *t, __u32 off)
{
	return *(const __u64 *)(t->data + (off & (STROBE_BPF_TS_MAX - 1)));
}

static __always_inline __u32 ts_u32(const struct ts_copy *t, __u32 off)
{
	return *(const __u32 *)(t->data + (off & (STROBE_BPF_TS_MAX - 1)));
}

/* The handled-exception stack, from its top (bpf_loop's context). */
struct exc_walk {
	__u64 item, none;
	__u32 test, previous, found;
};

/* One item a step: CPython's rule for the topmost item (what
 * sys.exception() returns), which passes over empty items (NULL or None)
 * that have a predecessor. */
static long exc_step(__u32 index, void *arg)
{
	(void)index;
	struct exc_walk *x = arg;
	if (!x->item)
		return 1;
	__u64 v = 0, prev = 0;
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)(x->item + (x->test & 0xff))) ||
	    bpf_probe_read_user(&prev, sizeof(prev), (const void *)(x->item + (x->previous & 0xff))))
		return 1;
	if ((v == 0 || v == x->none) && prev) {
		x->item = prev;
		return 0;
	}
	x->found = v != 0 && v != x->none;
	return 1;
}

/* Items of the handled-exception stack looked at, as the reader. */
#define EXC_HOPS 64

static __always_inline __u32 thread_status(const struct strobe_bpf_config *c, __u64 tstate,
					   const struct ts_copy *t, __u64 *gc_frame)
{
	__u32 st = 0, want = c->want;
	__u64 interp = 0;
	if ((want & STROBE_BPF_ST_GC) || ((want & STROBE_BPF_ST_FINALIZING) && !c->fin_addr) ||
	    (want & (STROBE_BPF_ST_GIL | STROBE_BPF_WANT_GIL_IF_GC) && c->gil_kind == STROBE_BPF_GIL_LOCK))
		interp = ts_u64(t, c->ts_interp);
	if (want & STROBE_BPF_ST_FINALIZING) {
		__u64 at = c->fin_addr;
		if (!at && interp && c->is_finalizing != STROBE_BPF_ABSENT)
			at = interp + c->is_finalizing;
		if (at && read_u64(at) == tstate)
			st |= STROBE_BPF_ST_FINALIZING;
	}
	/* the collector first: with WANT_GIL_IF_GC the GIL is looked at only
	 * while it runs */
	if (want & STROBE_BPF_ST_GC) {
		__u64 at = c->gc_addr;
		if (!at && interp && c->is_gc_collecting != STROBE_BPF_ABSENT)
			at = interp + c->is_gc_collecting;
		if (at && read_u32(at) == 1) {
			st |= STROBE_BPF_ST_GC;
			if (c->gc_frame_follows)
				*gc_frame = read_u64(at + 8);
		}
	}
	if ((want & STROBE_BPF_ST_GIL) || ((want & STROBE_BPF_WANT_GIL_IF_GC) && (st & STROBE_BPF_ST_GC))) {
		int gil = 0;
		if (c->gil_kind == STROBE_BPF_GIL_HOLDER) {
			gil = read_u64(c->gil_holder) == tstate;
		} else if (c->gil_kind == STROBE_BPF_GIL_LOCK && interp) {
			__u64 g = read_u64(interp + c->is_gil_ptr);
			/* last_holder is valid while locked */
			gil = g && read_u32(g + c->gil_locked) == 1 &&
			      read_u64(g + c->gil_last_holder) == tstate;
		} else if (c->gil_kind == STROBE_BPF_GIL_BIT) {
			gil = (ts_u32(t, c->ts_holds_gil) >> (c->holds_gil_bit & 31)) & 1;
		}
		if (gil)
			st |= STROBE_BPF_ST_GIL;
		else if (c->ts_gil_requested != STROBE_BPF_ABSENT && ts_u32(t, c->ts_gil_requested))
			st |= STROBE_BPF_ST_GIL_REQUESTED;
	}
	if (want & STROBE_BPF_ST_EXCEPTION) {
		if (c->ts_current_exception != STROBE_BPF_ABSENT &&
		    ts_u64(t, c->ts_current_exception)) {
			st |= STROBE_BPF_ST_EXCEPTION;
		} else if (c->ts_exc_info != STROBE_BPF_ABSENT) {
			struct exc_walk x = {
				.item = ts_u64(t, c->ts_exc_info),
				.none = c->none_addr,
				.test = c->exc_test,
				.previous = c->exc_previous,
			};
			bpf_loop(EXC_HOPS, exc_step, &x, 0);
			if (x.found)
				st |= STROBE_BPF_ST_EXCEPTION;
		}
	}
	return st;
}

/* The thread's CPU time so far: its cpu-clock event, at the cookie's slot
 * (read in the thread's own context: a per-task event of the current task). */
static __always_inline __u64 cpu_time(__u64 cookie)
{
	struct bpf_perf_event_value v = {};
	if (bpf_perf_event_read_value(&cpu_clocks, (__u32)(cookie >> 32) & (STROBE_BPF_MAX_SLOTS - 1),
				      &v, sizeof(v)))
		return STROBE_BPF_NO_CPU_TIME;
	return v.counter;
}

/* One sample of the current thread, known to strobe by cookie. */
static __always_inline int take(__u64 cookie, __u32 flags)
{
	__u32 zero = 0;
	const struct strobe_bpf_config *c = bpf_map_lookup_elem(&config, &zero);
	if (!c)
		return 0;
	__u32 tid = (__u32)cookie;
	const __u64 *ts = bpf_map_lookup_elem(&threads, &tid);
	if (!ts) {
		__sync_fetch_and_add(&unknown, 1);
		return 0;
	}
	struct walk w = {
		.tstate = *ts,
		.time_ns = bpf_ktime_get_ns(),
		.sample = __sync_fetch_and_add(&samples, 1),
		.cpu_ns = c->want & STROBE_BPF_WANT_CPU_TIME ? cpu_time(cookie) : STROBE_BPF_NO_CPU_TIME,
		.tid = tid,
		.flags = flags,
		.max_total = c->max_frames,
		.hs = c->head_size,
		.back = c->back,
		.stride = STROBE_BPF_STRIDE(c->head_size),
		.frame_code = c->code.head ? c->code.frame_code : STROBE_BPF_ABSENT,
		.frame_globals = c->code.frame_globals,
		.frame_owner = c->code.frame_owner,
		.owner_cstack = c->code.owner_cstack,
		.code_mask = c->code.code_mask,
	};
	if (w.max_total > STROBE_BPF_MAX_FRAMES * STROBE_BPF_MAX_PARTS)
		w.max_total = STROBE_BPF_MAX_FRAMES * STROBE_BPF_MAX_PARTS;
	/* the thread state's first bytes at once (sample.h, "Reads") */
	struct ts_copy *tc = bpf_map_lookup_elem(&ts_copies, &zero);
	__u32 ts_len = c->ts_len;
	if (!tc || ts_len > STROBE_BPF_TS_MAX)
		return 0;
	__u64 frame = 0;
	if (bpf_probe_read_user(tc->data, ts_len, (const void *)w.tstate))
		w.flags |= STROBE_BPF_READ_FAILED | STROBE_BPF_TS_FAILED;
	else
		frame = ts_u64(tc, c->ts_frame);
	if (frame && c->frame_deref != STROBE_BPF_ABSENT) {
		__u64 ptr = frame;
		if (bpf_probe_read_user(&frame, sizeof(frame), (const void *)(ptr + c->frame_deref))) {
			w.flags |= STROBE_BPF_READ_FAILED;
			frame = 0;
		}
	}
	w.frame = frame;
	/* 3.11+: the current data stack chunk's frames, windows at a time */
	if (c->window && frame) {
		__u64 chunk = ts_u64(tc, c->ts_chunk), top = ts_u64(tc, c->ts_top);
		w.lo = chunk + c->chunk_data;
		w.top = top;
		if (chunk && top > w.lo && w.lo > chunk)
			w.window = c->window;
	}
	w.status = w.flags & STROBE_BPF_TS_FAILED ? 0 : thread_status(c, w.tstate, tc, &w.gc_frame);
	/* a frame per iteration, and one more to output the last record */
	bpf_loop(w.max_total + 1, one_frame, &w, 0);
	return 0;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__sync_fetch_and_add(&runs, 1);
	/* the thread's id as strobe knows it (its /proc's, whatever PID
	 * namespace the target or strobe is in): the cookie its perf event
	 * was attached with; the event is that thread's alone */
	return take(bpf_get_attach_cookie(ctx), 0);
}

/* Wall mode: a thread of the target leaves its CPU.  A tracepoint's BPF
 * program runs at every sched_switch of the machine, whatever task its
 * perf event was opened for (checked on 6.18: attached through one
 * thread's event it ran for all), so the leaving task (current) is
 * recognised here by its id in the target's PID namespace, and its
 * cookie looked up.  Its stack is copied as on_sample's, stamped with
 * the time and its CPU time: the time off CPU until it comes back is
 * credited to it by user space.  A thread's last switch, as it ends, is
 * not seen: it has left its PID namespace by then (user space looks for
 * it before crediting time to it). */
SEC("tracepoint")
int on_switch(void *ctx)
{
	(void)ctx;
	__u32 zero = 0;
	const struct strobe_bpf_config *c = bpf_map_lookup_elem(&config, &zero);
	if (!c || !c->ns_ino)
		return 0;
	struct bpf_pidns_info ns = {};
	if (bpf_get_ns_current_pid_tgid(c->ns_dev, c->ns_ino, &ns, sizeof(ns)) ||
	    ns.tgid != c->ns_tgid)
		return 0;
	__u32 nstid = ns.pid;
	const __u64 *cookie = bpf_map_lookup_elem(&switch_ids, &nstid);
	if (!cookie)
		return 0;
	__sync_fetch_and_add(&switches, 1);
	return take(*cookie, STROBE_BPF_SWITCH);
}
