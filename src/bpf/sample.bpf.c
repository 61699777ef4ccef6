/* sample.bpf.c - strobe's in-kernel sampler (--engine bpf, docs/bpf-engine.md).
 *
 * Runs on a per-thread cpu-clock perf event, in the context of the
 * interrupted thread of the target: its Python stack cannot change while
 * it is read.  Looks the thread's id (its event's cookie) up in `threads`
 * (tid -> thread state address, kept by user space), reads the innermost frame pointer through
 * the offsets of `config`, then follows the chain copying each frame's
 * head into a per-CPU record, STROBE_BPF_MAX_FRAMES frames per record
 * (bpf_loop runs one record's walk per iteration, so a deep stack comes in
 * several records of one sample, up to config.max_frames), and hands the
 * used part of each record to the ring buffer without waking the reader
 * (it drains in batches: a wake-up per record costs 9-24% of a core,
 * bench/bpf/).
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

/* what happened, for the statistics (read by user space) */
__u64 runs = 0, kept = 0, lost = 0, unknown = 0;
/* samples numbered across CPUs */
__u64 samples = 0;

/* One sample's walk between records (scalars only). */
struct walk {
	__u64 frame;     /* the next frame to copy, 0 at the chain's end */
	__u64 tstate, time_ns, sample;
	__u32 tid, flags, total, max_total, hs, back;
};

/* bpf_loop's body: copy up to STROBE_BPF_MAX_FRAMES frames into one record
 * and output it; 0 to go on with another record, 1 when done. */
static long one_record(__u32 part, void *arg)
{
	struct walk *w = arg;
	__u32 zero = 0;
	struct strobe_bpf_record *r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return 1;
	__u32 hs = w->hs, back = w->back;
	if (hs > STROBE_BPF_HEAD_MAX || back > STROBE_BPF_HEAD_MAX - 8)
		return 1;
	r->tid = w->tid;
	r->head_size = hs;
	r->tstate = w->tstate;
	r->time_ns = w->time_ns;
	r->sample = w->sample;
	r->part = part;
	r->pad = 0;
	__u64 frame = w->frame;
	__u32 n = 0;
	for (__u32 i = 0; i < STROBE_BPF_MAX_FRAMES && frame && w->total + i < w->max_total; i++) {
		struct strobe_bpf_frame *f = &r->frames[i];
		f->addr = frame;
		if (bpf_probe_read_user(f->head, hs & (2 * STROBE_BPF_HEAD_MAX - 1),
					(const void *)frame)) {
			w->flags |= STROBE_BPF_READ_FAILED;
			frame = 0;
			break;
		}
		n = i + 1;
		__u32 b = back & (STROBE_BPF_HEAD_MAX - 1);
		if (b > STROBE_BPF_HEAD_MAX - 8) {
			frame = 0;
			break;
		}
		frame = *(const __u64 *)(f->head + b);
	}
	w->total += n;
	w->frame = frame;
	int more = frame && w->total < w->max_total && part + 1 < STROBE_BPF_MAX_PARTS;
	/* the chain goes on past the bound */
	if (frame && !more)
		w->flags |= STROBE_BPF_TRUNCATED;
	r->flags = w->flags | (more ? STROBE_BPF_MORE : 0);
	r->nframes = n;
	if (n > STROBE_BPF_MAX_FRAMES)
		return 1;
	if (bpf_ringbuf_output(&records, r, STROBE_BPF_RECORD_SIZE(n), BPF_RB_NO_WAKEUP)) {
		__sync_fetch_and_add(&lost, 1);
		return 1;
	}
	__sync_fetch_and_add(&kept, 1);
	return more ? 0 : 1;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u32 zero = 0;
	__sync_fetch_and_add(&runs, 1);
	const struct strobe_bpf_config *c = bpf_map_lookup_elem(&config, &zero);
	if (!c)
		return 0;
	/* the thread's id as strobe knows it (its /proc's, whatever PID
	 * namespace the target or strobe is in): the cookie its perf event
	 * was attached with; the event is that thread's alone */
	__u32 tid = (__u32)bpf_get_attach_cookie(ctx);
	const __u64 *ts = bpf_map_lookup_elem(&threads, &tid);
	if (!ts) {
		__sync_fetch_and_add(&unknown, 1);
		return 0;
	}
	struct walk w = {
		.tstate = *ts,
		.time_ns = bpf_ktime_get_ns(),
		.sample = __sync_fetch_and_add(&samples, 1),
		.tid = tid,
		.max_total = c->max_frames,
		.hs = c->head_size,
		.back = c->back,
	};
	__u64 frame = 0;
	if (bpf_probe_read_user(&frame, sizeof(frame), (const void *)(w.tstate + c->ts_frame))) {
		w.flags |= STROBE_BPF_READ_FAILED;
		frame = 0;
	}
	if (frame && c->frame_deref != STROBE_BPF_ABSENT) {
		__u64 ptr = frame;
		if (bpf_probe_read_user(&frame, sizeof(frame), (const void *)(ptr + c->frame_deref))) {
			w.flags |= STROBE_BPF_READ_FAILED;
			frame = 0;
		}
	}
	w.frame = frame;
	bpf_loop(STROBE_BPF_MAX_PARTS, one_record, &w, 0);
	return 0;
}
