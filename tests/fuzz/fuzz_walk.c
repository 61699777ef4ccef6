/* fuzz_walk.c - libFuzzer target: the walker (src/py/walk.c with code.c,
 * pystr.c, linetable.c and, for 3.13+, runtime.c's _Py_DebugOffsets
 * check) run on a mutated memory snapshot (src/py/snapshot.h).
 *
 * Input: a snapshot file.  The parser must refuse what is malformed; what
 * it accepts is replayed through the real walker (its runtime built from
 * the file's facts, its walks over the snapshot backend of process/mem.h)
 * exactly as tests/unit/test_walk.c replays the fixtures.  Checked
 * besides crashes, sanitizer reports, leaks and time: every walk of the
 * replay is described (one "walk K:" line per walk taken).
 *
 * Seeds: the recorded fixtures, tests/fixtures/memory/3.X-*.snap (run.sh
 * points libFuzzer at that directory).  Built and run by tests/fuzz/run.sh.
 */
#include "base/buf.h"
#include "base/error.h"
#include "py/snapshot.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct py_snapshot s;
	if (py_snapshot_parse(&s, data, size) != 0)
		return 0;
	/* a snapshot the parser took is whole: its walks count and text lie
	 * inside the input */
	if (s.walks == 0 || s.walks > PY_SNAPSHOT_MAX_WALKS || s.expected_len > size ||
	    (s.expected_len && (const uint8_t *)s.expected + s.expected_len != data + size))
		abort();
	struct buf out = BUF_INIT;
	struct errmsg e = { "" };
	if (py_snapshot_replay(&s, &out, &e) == 0) {
		unsigned walks = 0;
		for (size_t i = 0; i < out.len; i++)
			walks += (i == 0 || out.data[i - 1] == '\n') && out.len - i > 5 &&
				 memcmp(out.data + i, "walk ", 5) == 0;
		if (walks != s.walks)
			abort();
	}
	buf_release(&out);
	py_snapshot_release(&s);
	return 0;
}
