#include "py/fail.h"

const char *py_fail_str(enum py_fail why)
{
	switch (why) {
	case PY_FAIL_NONE: return "no failure";
	case PY_FAIL_RUNTIME: return "interpreter state unreadable";
	case PY_FAIL_TSTATE: return "thread state unreadable";
	case PY_FAIL_DATASTACK: return "data stack unreadable";
	case PY_FAIL_FRAME_READ: return "frame unreadable";
	case PY_FAIL_FRAME_FREED: return "frame freed while read";
	case PY_FAIL_FRAME_BAD: return "frame chain inconsistent";
	case PY_FAIL_FRAME_SWITCH: return "frame switch in progress";
	case PY_FAIL_CODE_READ: return "code object unreadable";
	case PY_FAIL_CODE_BAD: return "not a code object";
	case PY_FAIL_LINETABLE: return "line table unreadable";
	case PY_FAIL_INSTR: return "instruction outside its code";
	case PY_FAIL_LIMIT: return "too large (a bound was hit)";
	case PY_FAIL_ASYNC: return "task chain unreadable";
	case PY_FAIL_PAUSE: return "threads could not be stopped";
	case PY_FAIL_NOTREADY: return "no interpreter or thread state";
	case PY_FAIL_REFUSED: return "read refused (process exiting)";
	case PY_FAIL_NATIVE_READ: return "native stack unreadable";
	case PY_FAIL_NATIVE: return "native and Python stacks disagree";
	case PY_FAIL_OTHER:
	case PY_NFAIL: break;
	}
	return "other";
}
