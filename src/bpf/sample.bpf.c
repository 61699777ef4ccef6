/* sample.bpf.c - strobe's in-kernel sampler (--engine bpf, docs/bpf-engine.md).
 *
 * Runs on a per-thread cpu-clock perf event, in the context of the
 * interrupted thread of the target: its Python stack cannot change while
 * it is read.  Looks the thread's id up in `threads` (tid -> thread state
 * address, kept by user space), reads the innermost frame pointer through
 * the offsets of `config`, then follows the chain copying each frame's
 * head, up to max_frames, into a per-CPU record, and hands the used part
 * of it to the ring buffer without waking the reader (it drains in
 * batches: a wake-up per record costs 9-24% of a core, bench/bpf/).
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

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	(void)ctx;
	__u32 zero = 0;
	__sync_fetch_and_add(&runs, 1);
	const struct strobe_bpf_config *c = bpf_map_lookup_elem(&config, &zero);
	if (!c)
		return 0;
	struct bpf_pidns_info ids;
	if (bpf_get_ns_current_pid_tgid(c->pidns_dev, c->pidns_ino, &ids, sizeof(ids)) ||
	    ids.tgid != c->tgid)
		return 0;
	__u32 tid = ids.pid;
	const __u64 *ts = bpf_map_lookup_elem(&threads, &tid);
	if (!ts) {
		__sync_fetch_and_add(&unknown, 1);
		return 0;
	}
	struct strobe_bpf_record *r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return 0;
	__u32 hs = c->head_size;
	__u32 back = c->back;
	__u32 maxf = c->max_frames;
	if (hs > STROBE_BPF_HEAD_MAX || back > STROBE_BPF_HEAD_MAX - 8 || back + 8 > hs)
		return 0;
	if (maxf > STROBE_BPF_MAX_FRAMES)
		maxf = STROBE_BPF_MAX_FRAMES;
	r->tid = tid;
	r->flags = 0;
	r->nframes = 0;
	r->head_size = hs;
	r->tstate = *ts;
	r->time_ns = bpf_ktime_get_ns();

	__u64 frame = 0;
	if (bpf_probe_read_user(&frame, sizeof(frame), (const void *)(*ts + c->ts_frame))) {
		r->flags |= STROBE_BPF_READ_FAILED;
		frame = 0;
	}
	if (frame && c->frame_deref != STROBE_BPF_ABSENT) {
		__u64 ptr = frame;
		if (bpf_probe_read_user(&frame, sizeof(frame), (const void *)(ptr + c->frame_deref))) {
			r->flags |= STROBE_BPF_READ_FAILED;
			frame = 0;
		}
	}
	__u32 n = 0;
	for (__u32 i = 0; i < STROBE_BPF_MAX_FRAMES && i < maxf && frame; i++) {
		struct strobe_bpf_frame *f = &r->frames[i];
		f->addr = frame;
		if (bpf_probe_read_user(f->head, hs & (2 * STROBE_BPF_HEAD_MAX - 1),
					(const void *)frame)) {
			r->flags |= STROBE_BPF_READ_FAILED;
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
	/* the chain goes on past the bound */
	if (frame)
		r->flags |= STROBE_BPF_TRUNCATED;
	r->nframes = n;
	if (n > STROBE_BPF_MAX_FRAMES)
		return 0;
	if (bpf_ringbuf_output(&records, r, STROBE_BPF_RECORD_SIZE(n), BPF_RB_NO_WAKEUP))
		__sync_fetch_and_add(&lost, 1);
	else
		__sync_fetch_and_add(&kept, 1);
	return 0;
}
