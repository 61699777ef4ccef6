#include "py/open.h"

#include "base/error.h"
#include "py/runtime.h"
#include "process/mem.h"

int py_open(pid_t pid, struct mem_source *mem, struct py_runtime *rt, struct errmsg *e)
{
	int rc = mem_open(mem, pid, 0);
	if (rc)
		return rc;
	rc = py_runtime_find(rt, pid, mem, e);
	/* probe the actual memory access now: a clear error beats failed
	 * samples.  The source stays the one opened above, so it describes the
	 * process the runtime was found in, even if that one exits and its
	 * PID is reused before the first sample. */
	if (rc == 0)
		rc = mem_probe(mem, rt->runtime_addr);
	if (rc)
		mem_close(mem);
	return rc;
}

bool py_open_final(int rc)
{
	return rc == ERR_VERSION || rc == ERR_PERM;
}
