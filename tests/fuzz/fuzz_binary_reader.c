/* fuzz_binary_reader.c - libFuzzer target: the binary-format reader on
 * arbitrary bytes.  Each input is written to a memfd and opened by path
 * (/proc/self/fd/N), so the reader runs exactly as on a file: open, then a
 * replay that touches every sample.  Crashes, sanitizer reports, leaks,
 * time and RSS limits are the findings; errors are expected results.
 *
 * An input starting with 'Z' is a raw file whose record region the target
 * compresses with zstd first (fixing offsets and the compression field):
 * random mutations of a zstd stream rarely decompress, so this is how the
 * mutated records reach the zstd path of the reader.
 *
 * Built and run by tests/fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined),
 * with a small reader window so that small inputs cross its edges.
 */
#include "base/error.h"
#include "base/intern.h"
#include "model/sample.h"
#include "format/binary.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touch what a real consumer would read, so the sanitizers see it. */
static int consume(void *ctx, const struct sample *s)
{
	uint64_t *sum = ctx;
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct thread_sample *t = &s->threads[i];
		*sum += t->tid + t->interp_id + t->status + t->depth;
		for (uint32_t k = 0; k < t->depth; k++) {
			/* a keys-only replay carries keys, no frames */
			const struct frame *f = s->frames ? &s->frames[t->first + k]
							  : &s->key_frames[s->frame_keys[t->first + k]];
			*sum += f->file + f->func + (uint32_t)f->line + (uint32_t)f->opcode;
		}
	}
	*sum += s->time_ns;
	return 0;
}

static void progress(void *ctx, uint64_t done, uint64_t total)
{
	uint64_t *sum = ctx;
	*sum += done ^ total;
}

/* 'Z' + raw file -> the same file with its records in a zstd frame.
 * Returns a malloc'd buffer, or NULL to use the input as it is. */
static uint8_t *wrap_zstd(const uint8_t *data, size_t size, size_t *out_size)
{
	if (size < 1 + 96 || data[0] != 'Z')
		return NULL;
	const uint8_t *f = data + 1;
	size_t n = size - 1;
	uint64_t so, fo;
	memcpy(&so, f + 40, 8);
	memcpy(&fo, f + 48, 8);
	if (so < 64 || so > n || fo < so || fo > n)
		return NULL;
	size_t bound = ZSTD_compressBound(so - 64);
	uint8_t *out = malloc(n + bound);
	if (!out)
		abort();
	size_t z = ZSTD_compress(out + 64, bound, f + 64, so - 64, 1);
	if (ZSTD_isError(z))
		abort();
	memcpy(out, f, 64);
	memcpy(out + 64 + z, f + so, n - so);
	size_t total = 64 + z + (n - so);
	uint64_t so2 = 64 + z, fo2 = fo - so + so2, fs = total;
	uint32_t one = 1;
	memcpy(out + 40, &so2, 8);
	memcpy(out + 48, &fo2, 8);
	memcpy(out + 56, &one, 4);
	if (total >= 96 + 64)
		memcpy(out + total - 24, &fs, 8);
	*out_size = total;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* one memfd for the whole run: the target is single-threaded */
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("fuzz-binary", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	size_t wsize = 0;
	uint8_t *wrapped = wrap_zstd(data, size, &wsize);
	if (wrapped) {
		data = wrapped;
		size = wsize;
	}
	if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	free(wrapped);

	/* twice: resolved frames, then keys only */
	for (int keys_only = 0; keys_only < 2; keys_only++) {
		struct errmsg e;
		struct binary_reader *r;
		if (binary_reader_open(&r, path, &e) != 0)
			return 0;
		const struct binary_info *in = binary_reader_info(r);
		uint64_t sum = in->sample_count + in->thread_count;
		struct strtab st;
		strtab_init(&st);
		if (keys_only)
			binary_reader_keys_only(r);
		(void)binary_reader_replay(r, &st, consume, progress, &sum, &e);
		for (size_t i = 0; i < st.count; i++)
			sum += (unsigned char)strtab_get(&st, (uint32_t)i, NULL)[0];
		strtab_release(&st);
		binary_reader_close(r);
		__asm__ volatile("" : : "r"(sum)); /* keep the reads */
	}
	return 0;
}
