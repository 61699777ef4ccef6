/* floor.bpf.c - the least a BPF sampling engine does per sample: run on a
 * perf event in the sampled thread's context, check the thread is the
 * target's, copy its stack pointer and one word of its stack into a ring
 * buffer.  bench/bpf/run.sh measures how many of these the kernel delivers
 * per second and what draining them costs (docs/bpf-engine.md). */
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} records SEC(".maps");

const volatile __u32 target_tgid = 0;
const volatile __u64 submit_flags = 0;  /* 0: wake the reader per record */

__u64 runs = 0, kept = 0, lost = 0;

struct record {
	__u32 tid;
	__u32 pad;
	__u64 sp;
	__u64 top;
};

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__sync_fetch_and_add(&runs, 1);
	__u64 id = bpf_get_current_pid_tgid();
	if ((__u32)(id >> 32) != target_tgid)
		return 0;
	struct record *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&lost, 1);
		return 0;
	}
	r->tid = (__u32)id;
	r->pad = 0;
	r->sp = ctx->regs.rsp;  /* x86-64 uapi pt_regs */
	r->top = 0;
	bpf_probe_read_user(&r->top, sizeof(r->top), (const void *)r->sp);
	bpf_ringbuf_submit(r, submit_flags);
	__sync_fetch_and_add(&kept, 1);
	return 0;
}
