/* layout_probe.c - print src/py/layouts/py3_X.h for the CPython whose headers
 * this file is compiled against.  Built and run by tools/gen_layouts.sh:
 *
 *   cc -std=gnu11 -DPy_BUILD_CORE -DPROBE_MINOR=X [build -D flags] \
 *      -isystem <inc> -isystem <inc>/internal tools/layout_probe.c -o probe
 *   ./probe '<inc as shown>' '<build -D flags>' > py3_X.h
 *
 * Every number printed comes from offsetof/sizeof or from an enum/macro of
 * the headers themselves; nothing is typed by hand.  The only thing decided
 * here is which fields exist in which version (#if PY_VERSION_HEX) and how a
 * field maps onto struct py_layout / struct py_debug_map (src/py/layout.h).
 *
 * Runs on the build host, never inside strobe: it may print and exit.
 */
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if PY_VERSION_HEX < 0x03080000
#error "strobe supports CPython 3.8 and later"
#elif PY_VERSION_HEX < 0x03090000
/* 3.8: PyInterpreterState and _PyRuntimeState are both in pycore_pystate.h */
#include <internal/pycore_pystate.h>
#elif PY_VERSION_HEX < 0x030B0000
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#elif PY_VERSION_HEX < 0x030D0000
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#include <internal/pycore_frame.h>
#elif PY_VERSION_HEX < 0x030E0000
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_ceval.h>     /* PyThreadState.eval_breaker bits */
#else
/* 3.14 split the struct definitions out of the inline-function headers. */
#include <internal/pycore_interp_structs.h>
#include <internal/pycore_runtime_structs.h>
#include <internal/pycore_interpframe_structs.h>
#include <internal/pycore_debug_offsets.h>
#include <internal/pycore_stackref.h>
#include <internal/pycore_ceval.h>
#include <internal/pycore_tstate.h>     /* _PyThreadStateImpl: the asyncio fields */
#include <internal/pycore_llist.h>      /* struct llist_node */
#include <internal/pycore_frame.h>      /* FRAME_CLEARED, FRAME_SUSPENDED_YIELD_FROM */
#endif

/* The script names the output file; refuse to write 3.13 numbers into
 * py3_12.h because an include path pointed at the wrong tree. */
#ifndef PROBE_MINOR
#error "build with -DPROBE_MINOR=<minor> (see tools/gen_layouts.sh)"
#endif
#if PY_MAJOR_VERSION != 3 || PY_MINOR_VERSION != PROBE_MINOR
#error "headers on the include path are not the requested CPython version"
#endif

/* The tables describe the default x86-64 Linux release build.  These
 * options change struct layouts, so a tree built with them cannot be used. */
#ifdef Py_GIL_DISABLED
#error "free-threaded (Py_GIL_DISABLED) headers: layouts differ, not supported"
#endif
#ifdef Py_TRACE_REFS
#error "Py_TRACE_REFS headers: PyObject has extra fields, not supported"
#endif
/* Debug builds use the release tables: tools/check_debug_layouts.sh
 * compiles this probe against their headers (PROBE_DEBUG_BUILD) to show
 * that the two differ only where strobe reads the target's own numbers. */
#if defined(Py_DEBUG) && !defined(PROBE_DEBUG_BUILD)
#error "Py_DEBUG headers: the tables are made from release builds"
#endif

/* 3.11+ frames */
#define HAVE_IFRAME (PY_VERSION_HEX >= 0x030B0000)

static void emit_u(const char *field, unsigned long v)
{
	printf("\t.%s = %lu, \\\n", field, v);
}

static __attribute__((unused)) void emit_i(const char *field, long v)
{
	printf("\t.%s = %ld, \\\n", field, v);
}

static void emit_hex(const char *field, size_t v)
{
	/* Offsets in hex, as CPython's own docs and debuggers print them. */
	printf("\t.%s = 0x%zx, \\\n", field, v);
}

static void emit_sym(const char *field, const char *sym)
{
	printf("\t.%s = %s, \\\n", field, sym);
}

#define OFF(field, type, member) emit_hex(field, offsetof(type, member))
#define SIZE(field, type) emit_hex(field, sizeof(type))
#define ABSENT(field) emit_sym(field, "PY_ABSENT")
#define OWNER_NONE(field) emit_sym(field, "PY_OWNER_NONE")

static void die(const char *what)
{
	fprintf(stderr, "layout_probe: %s\n", what);
	exit(1);
}

/* Bit position of a PyASCIIObject.state bitfield: C cannot offsetof a
 * bitfield, so set it to all ones in a zeroed object and see which bits of
 * the 32-bit word at offsetof(state) changed.  Checks that exactly `width`
 * contiguous bits changed and nothing outside that word. */
static unsigned state_shift(const PyASCIIObject *o, unsigned width, const char *name)
{
	const unsigned char *p = (const unsigned char *)o;
	size_t at = offsetof(PyASCIIObject, state);
	uint32_t word;
	unsigned shift;

	for (size_t i = 0; i < sizeof(*o); i++)
		if (p[i] && (i < at || i >= at + sizeof(word)))
			die(name);
	memcpy(&word, p + at, sizeof(word));
	if (!word)
		die(name);
	shift = (unsigned)__builtin_ctz(word);
	if (word >> shift != (1u << width) - 1)
		die(name);
	return shift;
}

static void emit_unicode_bits(void)
{
	PyASCIIObject o;

	/* The word we read as a u32 must hold the whole bitfield. */
	_Static_assert(sizeof(o.state) >= sizeof(uint32_t), "state is a 32-bit word");

	memset(&o, 0, sizeof(o));
	o.state.kind = 7;
	emit_u("u_kind_shift", state_shift(&o, 3, "state.kind bits not found"));
	memset(&o, 0, sizeof(o));
	o.state.compact = 1;
	emit_u("u_compact_shift", state_shift(&o, 1, "state.compact bit not found"));
	memset(&o, 0, sizeof(o));
	o.state.ascii = 1;
	emit_u("u_ascii_shift", state_shift(&o, 1, "state.ascii bit not found"));
}


#if PY_VERSION_HEX >= 0x030D0000 && PY_VERSION_HEX < 0x030E0000
/* Where a one-bit bitfield lives: obj (size bytes) was zeroed and then had
 * only that field set to 1.  Gives the 4-aligned offset of the u32 that
 * holds it and the bit's position in that (little-endian) word. */
static void one_bit(const void *obj, size_t size, const char *name, size_t *word_off,
		    unsigned *bit)
{
	const unsigned char *p = (const unsigned char *)obj;
	size_t at = size;
	uint32_t word;

	for (size_t i = 0; i < size; i++)
		if (p[i]) {
			if (at != size)
				die(name);
			at = i;
		}
	if (at == size || (p[at] & (p[at] - 1)))
		die(name);
	*word_off = at & ~(size_t)3;
	memcpy(&word, p + *word_off, sizeof(word));
	*bit = (unsigned)__builtin_ctz(word);
}
#endif

/* Thread status and GC state: docs/thread-status.md says how each is used. */
static void emit_thread_status(void)
{
#if PY_VERSION_HEX >= 0x030D0000
	_Static_assert((_PY_GIL_DROP_REQUEST_BIT & (_PY_GIL_DROP_REQUEST_BIT - 1)) == 0,
	               "one eval_breaker bit");
	_Static_assert(sizeof(((PyThreadState *)0)->eval_breaker) == sizeof(uint64_t),
	               "eval_breaker is one word");
#endif
#if PY_VERSION_HEX >= 0x030E0000
	/* 3.14 made holds_gil a plain int "to avoid data races" */
	_Static_assert(sizeof(((PyThreadState *)0)->holds_gil) == sizeof(uint32_t),
	               "holds_gil is an int");
	emit_u("ts_holds_gil_bit", 0);
	emit_u("ts_gil_drop_bit", (unsigned long)__builtin_ctz(_PY_GIL_DROP_REQUEST_BIT));
#elif PY_VERSION_HEX >= 0x030D0000
	{
		/* 3.13: a bit of the _status bitfield word */
		static PyThreadState ts;
		size_t word;
		unsigned bit;

		memset(&ts, 0, sizeof(ts));
		ts._status.holds_gil = 1;
		one_bit(&ts, sizeof(ts), "_status.holds_gil bit not found", &word, &bit);
		/* _Py_DebugOffsets publishes where _status starts (see the map) */
		if (word != offsetof(PyThreadState, _status))
			die("_status.holds_gil is not in the first word of _status");
		emit_u("ts_holds_gil_bit", bit);
	}
	emit_u("ts_gil_drop_bit", (unsigned long)__builtin_ctz(_PY_GIL_DROP_REQUEST_BIT));
#else
	emit_u("ts_holds_gil_bit", 0);
	emit_u("ts_gil_drop_bit", 0);
#endif

	/* The GIL: in _PyRuntime up to 3.11, per interpreter from 3.12. */
#if PY_VERSION_HEX >= 0x030C0000
	ABSENT("rt_gil");
	ABSENT("rt_tstate_current"); /* 3.12 keeps it in a thread-local */
#else
	OFF("rt_gil", _PyRuntimeState, ceval.gil);
	OFF("rt_tstate_current", _PyRuntimeState, gilstate.tstate_current);
#endif
#if PY_VERSION_HEX < 0x03090000
	OFF("rt_gil_drop_request", _PyRuntimeState, ceval.gil_drop_request);
	OFF("rt_gc", _PyRuntimeState, gc);
#else
	ABSENT("rt_gil_drop_request");
	ABSENT("rt_gc");
#endif
#if PY_VERSION_HEX >= 0x030C0000
	_Static_assert(sizeof(((PyInterpreterState *)0)->ceval.gil) == sizeof(void *),
	               "ceval.gil is a pointer");
	OFF("is_gil_ptr", PyInterpreterState, ceval.gil);
	OFF("is_gil", PyInterpreterState, _gil);
#else
	ABSENT("is_gil_ptr");
	ABSENT("is_gil");
#endif
#if PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030D0000
	OFF("is_gil_drop_request", PyInterpreterState, ceval.gil_drop_request);
#else
	ABSENT("is_gil_drop_request");
#endif
#if PY_VERSION_HEX >= 0x03090000
	OFF("is_gc", PyInterpreterState, gc);
#else
	ABSENT("is_gc");
#endif

	OFF("gil_locked", struct _gil_runtime_state, locked);
	OFF("gil_last_holder", struct _gil_runtime_state, last_holder);
	OFF("gil_switch_number", struct _gil_runtime_state, switch_number);
	/* a thread in take_gil() blocks on cond (or briefly on mutex, which
	 * follows it); a thread in drop_gil() waits on switch_cond */
	_Static_assert(offsetof(struct _gil_runtime_state, mutex) >
	               offsetof(struct _gil_runtime_state, cond), "mutex after cond");
	_Static_assert(offsetof(struct _gil_runtime_state, switch_cond) >=
	               offsetof(struct _gil_runtime_state, mutex) + sizeof(PyMUTEX_T),
	               "switch_cond after mutex");
	OFF("gil_cond", struct _gil_runtime_state, cond);
	OFF("gil_switch_cond", struct _gil_runtime_state, switch_cond);

#if PY_VERSION_HEX >= 0x030E0000
	OFF("ts_holds_gil", PyThreadState, holds_gil);
#elif PY_VERSION_HEX >= 0x030D0000
	/* the first word of _status, where one_bit() found the bit */
	OFF("ts_holds_gil", PyThreadState, _status);
#endif
#if PY_VERSION_HEX >= 0x030D0000
	OFF("ts_eval_breaker", PyThreadState, eval_breaker);
#else
	ABSENT("ts_holds_gil");
	ABSENT("ts_eval_breaker");
#endif
#if PY_VERSION_HEX >= 0x030F0000
	OFF("ts_gil_requested", PyThreadState, gil_requested);
#else
	ABSENT("ts_gil_requested");
#endif
#if PY_VERSION_HEX >= 0x030C0000
	OFF("ts_current_exception", PyThreadState, current_exception);
#else
	/* type, value, traceback; set together, the type is never NULL
	 * while an exception is set */
	OFF("ts_current_exception", PyThreadState, curexc_type);
#endif
	OFF("ts_exc_info", PyThreadState, exc_info);
	OFF("ts_exc_state", PyThreadState, exc_state);

#if PY_VERSION_HEX >= 0x030B0000
	ABSENT("exc_type");
#else
	OFF("exc_type", _PyErr_StackItem, exc_type);
#endif
	OFF("exc_value", _PyErr_StackItem, exc_value);
	OFF("exc_previous", _PyErr_StackItem, previous_item);

	OFF("gc_collecting", struct _gc_runtime_state, collecting);
#if PY_VERSION_HEX >= 0x030F0000
	OFF("gc_frame", struct _gc_runtime_state, frame);
#else
	ABSENT("gc_frame");
#endif

	/* Interpreter shutdown: the thread state running Py_FinalizeEx, set
	 * after the atexit callbacks (NULL before).  A pointer-sized word in
	 * every version: 3.8's PyThreadState *finalizing, 3.9-3.12's
	 * _Py_atomic_address _finalizing, 3.13+'s PyThreadState *. */
#if PY_VERSION_HEX >= 0x03090000
	_Static_assert(sizeof(((_PyRuntimeState *)0)->_finalizing) == sizeof(void *),
	               "_finalizing is one word");
	OFF("rt_finalizing", _PyRuntimeState, _finalizing);
#else
	_Static_assert(sizeof(((_PyRuntimeState *)0)->finalizing) == sizeof(void *),
	               "finalizing is one word");
	OFF("rt_finalizing", _PyRuntimeState, finalizing);
#endif
#if PY_VERSION_HEX >= 0x030C0000
	/* 3.12+: the same per interpreter, also set by Py_EndInterpreter.  It
	 * lies right before gc, whose offset 3.13+ targets publish, so the
	 * cross-check of is_gc also guards this unpublished field. */
	_Static_assert(sizeof(((PyInterpreterState *)0)->_finalizing) == sizeof(void *),
	               "interp->_finalizing is one word");
	_Static_assert(offsetof(PyInterpreterState, gc) > offsetof(PyInterpreterState, _finalizing) &&
	               offsetof(PyInterpreterState, gc) - offsetof(PyInterpreterState, _finalizing) <= 16,
	               "interp->_finalizing lies right before gc");
	OFF("is_finalizing", PyInterpreterState, _finalizing);
#else
	ABSENT("is_finalizing");
#endif
}

/* What --async-aware reads besides the frames (src/py/asyncio.c): a task's
 * awaited_by set, its name (an int or a str, told apart by type flags),
 * the coroutine chain, the per-thread and per-interpreter task lists.  The
 * generic objects are emitted where their layout is the one read; the
 * asyncio-specific fields from 3.14, the first version whose _asyncio
 * publishes its tasks (.AsyncioDebug): PY_ABSENT before is what tells
 * strobe that --async-aware cannot work on a version. */
static void emit_asyncio(void)
{
	emit_u("tpflags_long_bit", (unsigned long)__builtin_ctzl(Py_TPFLAGS_LONG_SUBCLASS));
	emit_u("tpflags_unicode_bit", (unsigned long)__builtin_ctzl(Py_TPFLAGS_UNICODE_SUBCLASS));
	emit_u("long_shift", PyLong_SHIFT);
#if PY_VERSION_HEX >= 0x030C0000
	/* 3.12's int: lv_tag = ndigits << _PyLong_NON_SIZE_BITS | sign bits */
	_Static_assert(sizeof(digit) == sizeof(uint32_t), "30-bit digits in 32-bit words");
	emit_u("long_non_size_bits", _PyLong_NON_SIZE_BITS);
	emit_u("long_sign_mask", _PyLong_SIGN_MASK);
#else
	emit_u("long_non_size_bits", 0);
	emit_u("long_sign_mask", 0);
#endif
#if PY_VERSION_HEX >= 0x030E0000
	_Static_assert(sizeof(((PyGenObject *)0)->gi_frame_state) == 1, "int8_t gi_frame_state");
	emit_i("gen_state_cleared", FRAME_CLEARED);
	emit_i("gen_state_yield_from", FRAME_SUSPENDED_YIELD_FROM);
	/* The object a coroutine suspended in await/yield from waits on is a
	 * fixed number of slots below its frame's stackpointer: what
	 * _PyGen_yf (Objects/genobject.c) peeks at.  3.14's SEND leaves the
	 * receiver on top (_PyFrame_StackPeek(frame), stackpointer[-1]); 3.15
	 * keeps the value sent above it (_PyFrame_StackPeek(frame, 2), which
	 * is why 3.15's header grew the depth argument).  A semantic of the
	 * interpreter, not of a struct: the one number here not from offsetof
	 * or a header constant. */
#if PY_VERSION_HEX >= 0x030F0000
	emit_u("gen_yf_slot", 2);
#else
	emit_u("gen_yf_slot", 1);
#endif
#else
	emit_u("gen_state_cleared", 0);
	emit_u("gen_state_yield_from", 0);
	emit_u("gen_yf_slot", 0);
#endif

	OFF("set_used", PySetObject, used);
	OFF("set_mask", PySetObject, mask);
	OFF("set_table", PySetObject, table);
	SIZE("setentry_size", setentry);
	OFF("setentry_key", setentry, key);
	OFF("setentry_hash", setentry, hash); /* -1 with the dummy key of a removed entry */
	OFF("tp_flags", PyTypeObject, tp_flags);
#if PY_VERSION_HEX >= 0x030C0000
	OFF("long_lv_tag", PyLongObject, long_value.lv_tag);
	OFF("long_ob_digit", PyLongObject, long_value.ob_digit);
#else
	ABSENT("long_lv_tag");
	ABSENT("long_ob_digit");
#endif
#if PY_VERSION_HEX >= 0x030E0000
	OFF("gen_iframe", PyGenObject, gi_iframe);
	OFF("gen_frame_state", PyGenObject, gi_frame_state);
	OFF("if_stackpointer", _PyInterpreterFrame, stackpointer);
	OFF("llist_next", struct llist_node, next);
	OFF("llist_prev", struct llist_node, prev);
	SIZE("ts_impl_size", _PyThreadStateImpl);
	OFF("ts_asyncio_running_loop", _PyThreadStateImpl, asyncio_running_loop);
	OFF("ts_asyncio_running_task", _PyThreadStateImpl, asyncio_running_task);
	OFF("ts_asyncio_tasks_head", _PyThreadStateImpl, asyncio_tasks_head);
	OFF("is_asyncio_tasks_head", PyInterpreterState, asyncio_tasks_head);
#else
	ABSENT("gen_iframe");
	ABSENT("gen_frame_state");
	ABSENT("if_stackpointer");
	ABSENT("llist_next");
	ABSENT("llist_prev");
	ABSENT("ts_impl_size");
	ABSENT("ts_asyncio_running_loop");
	ABSENT("ts_asyncio_running_task");
	ABSENT("ts_asyncio_tasks_head");
	ABSENT("is_asyncio_tasks_head");
#endif
}

/* What `strobe dump --locals` reads (src/py/locals.c): a frame's fast
 * locals and cells, their names, and the few object layouts it shows the
 * value of (int, float, str, bytes, containers' lengths, a type's name). */
static void emit_locals(void)
{
#if HAVE_IFRAME
	ABSENT("fo_localsplus");
	ABSENT("co_nlocals");
	ABSENT("co_varnames");
	ABSENT("co_cellvars");
	ABSENT("co_freevars");
	OFF("co_localsplusnames", PyCodeObject, co_localsplusnames);
	OFF("co_localspluskinds", PyCodeObject, co_localspluskinds);
	emit_u("co_fast_local", CO_FAST_LOCAL);
	emit_u("co_fast_cell", CO_FAST_CELL);
	emit_u("co_fast_free", CO_FAST_FREE);
#ifdef CO_FAST_HIDDEN
	emit_u("co_fast_hidden", CO_FAST_HIDDEN);  /* 3.12+: inlined comprehensions */
#else
	emit_u("co_fast_hidden", 0);
#endif
#else
	/* f_localsplus: co_nlocals locals, then a cell per co_cellvars and
	 * per co_freevars name, then the value stack */
	OFF("fo_localsplus", PyFrameObject, f_localsplus);
	_Static_assert(sizeof(((PyCodeObject *)0)->co_nlocals) == 4, "co_nlocals is an int");
	OFF("co_nlocals", PyCodeObject, co_nlocals);
	OFF("co_varnames", PyCodeObject, co_varnames);
	OFF("co_cellvars", PyCodeObject, co_cellvars);
	OFF("co_freevars", PyCodeObject, co_freevars);
	ABSENT("co_localsplusnames");
	ABSENT("co_localspluskinds");
	emit_u("co_fast_local", 0);
	emit_u("co_fast_cell", 0);
	emit_u("co_fast_free", 0);
	emit_u("co_fast_hidden", 0);
#endif
#if PY_VERSION_HEX >= 0x030E0000
	/* 3.14+ localsplus holds _PyStackRef: NULL is PyStackRef_NULL (the
	 * pointer bits masked by executable_tag_mask are 0), a pointer carries
	 * Py_TAG_REFCNT, a tagged int is (i << shift) | Py_INT_TAG */
	{
		_PyStackRef one = PyStackRef_TagInt(1);
		emit_u("stackref_int_tag", Py_INT_TAG);
		emit_u("stackref_int_shift", (unsigned long)__builtin_ctzl(one.bits & ~(uintptr_t)Py_INT_TAG));
	}
	if ((PyStackRef_NULL.bits & ~(uintptr_t)Py_TAG_BITS) != 0)
		die("PyStackRef_NULL is not a masked-out pointer");
#else
	emit_u("stackref_int_tag", 0);
	emit_u("stackref_int_shift", 0);
#endif
	OFF("tuple_items", PyTupleObject, ob_item);
	OFF("float_fval", PyFloatObject, ob_fval);
	OFF("cell_ref", PyCellObject, ob_ref);
	OFF("tp_name", PyTypeObject, tp_name);
	OFF("dict_used", PyDictObject, ma_used);
	_Static_assert(sizeof(digit) == sizeof(uint32_t), "30-bit digits in 32-bit words");
#if PY_VERSION_HEX >= 0x030C0000
	OFF("long_digits", PyLongObject, long_value.ob_digit);
#else
	/* ob_size: the number of digits, negative for a negative int */
	OFF("long_digits", PyLongObject, ob_digit);
#endif
	emit_u("tpflags_heaptype_bit", (unsigned long)__builtin_ctzl(Py_TPFLAGS_HEAPTYPE));
}

static void emit_layout(void)
{
	printf("#define PY_LAYOUT_3_%d { \\\n", PY_MINOR_VERSION);
	emit_u("major", PY_MAJOR_VERSION);
	emit_u("minor", PY_MINOR_VERSION);

	/* Feature enums: the only per-version decisions of the walker. */
#if HAVE_IFRAME
	emit_sym("frame_model", "PY_FRAMES_INTERP");
	emit_sym("linetable_kind", "PY_LT_LOCATIONS");
#else
	emit_sym("frame_model", "PY_FRAMES_OBJECTS");
#if PY_VERSION_HEX >= 0x030A0000
	emit_sym("linetable_kind", "PY_LT_LINETABLE");
#else
	emit_sym("linetable_kind", "PY_LT_LNOTAB");
#endif
#endif
#if PY_VERSION_HEX >= 0x030D0000
	emit_sym("ip_kind", "PY_IP_INSTR_PTR");
#elif HAVE_IFRAME
	emit_sym("ip_kind", "PY_IP_PREV_INSTR");
#elif PY_VERSION_HEX >= 0x030A0000
	emit_sym("ip_kind", "PY_IP_LASTI_UNITS");
#else
	emit_sym("ip_kind", "PY_IP_LASTI_BYTES");
#endif

#if PY_VERSION_HEX >= 0x030E0000
	/* 3.14: f_executable is a _PyStackRef whose low Py_TAG_BITS carry
	 * reference-kind tags (deferred / refcount) on GIL builds too. */
	_Static_assert(sizeof(((_PyInterpreterFrame *)0)->f_executable) == sizeof(void *),
	               "f_executable is one tagged word");
	emit_u("executable_tag_mask", (unsigned long)(Py_TAG_BITS));
#else
	emit_u("executable_tag_mask", 0);
#endif

#if HAVE_IFRAME
	emit_u("owner_thread", FRAME_OWNED_BY_THREAD);
	emit_u("owner_generator", FRAME_OWNED_BY_GENERATOR);
	emit_u("owner_frame_object", FRAME_OWNED_BY_FRAME_OBJECT);
#if PY_VERSION_HEX >= 0x030E0000
	/* 3.14 renamed the C-entry owner to INTERPRETER (3.14 also keeps a
	 * CSTACK = 4 after it; CPython treats owner >= INTERPRETER as "no
	 * Python code here"). */
	emit_u("owner_cstack", FRAME_OWNED_BY_INTERPRETER);
#elif PY_VERSION_HEX >= 0x030C0000
	emit_u("owner_cstack", FRAME_OWNED_BY_CSTACK);
#else
	/* 3.11 marks entry frames with _PyInterpreterFrame.is_entry instead. */
	OWNER_NONE("owner_cstack");
#endif
#else
	OWNER_NONE("owner_thread");
	OWNER_NONE("owner_generator");
	OWNER_NONE("owner_frame_object");
	OWNER_NONE("owner_cstack");
#endif
#if PY_VERSION_HEX >= 0x030D0000
	emit_sym("gil_model", "PY_GIL_THREAD");
#elif PY_VERSION_HEX >= 0x030C0000
	emit_sym("gil_model", "PY_GIL_INTERP");
#else
	emit_sym("gil_model", "PY_GIL_RUNTIME");
#endif

#if PY_VERSION_HEX >= 0x030E0000
	emit_sym("live_kind", "PY_LIVE_CLEARED");
#elif PY_VERSION_HEX >= 0x030C0000
	emit_sym("live_kind", "PY_LIVE_STACKTOP");
#elif HAVE_IFRAME
	emit_sym("live_kind", "PY_LIVE_CALL_CACHE");
#elif PY_VERSION_HEX >= 0x030A0000
	emit_sym("live_kind", "PY_LIVE_FRAME_STATE");
#else
	emit_sym("live_kind", "PY_LIVE_EXECUTING");
#endif
#if !HAVE_IFRAME && PY_VERSION_HEX >= 0x030A0000
	_Static_assert(sizeof(((PyFrameObject *)0)->f_state) == 1, "f_state is a char");
	emit_i("fo_state_executing", FRAME_EXECUTING);
	emit_i("fo_state_unwinding", FRAME_UNWINDING);
#else
	emit_i("fo_state_executing", 0);
	emit_i("fo_state_unwinding", 0);
#endif

	OFF("rt_interpreters_head", _PyRuntimeState, interpreters.head);
	OFF("rt_main_thread", _PyRuntimeState, main_thread);

	SIZE("is_size", PyInterpreterState);
	OFF("is_next", PyInterpreterState, next);
	OFF("is_id", PyInterpreterState, id);
#if HAVE_IFRAME
	OFF("is_threads_head", PyInterpreterState, threads.head);
#else
	OFF("is_threads_head", PyInterpreterState, tstate_head);
#endif
#if PY_VERSION_HEX >= 0x030D0000
	/* Exists since 3.13; 3.13's _Py_DebugOffsets does not publish it. */
	OFF("is_threads_main", PyInterpreterState, threads.main);
#else
	ABSENT("is_threads_main");
#endif

	SIZE("ts_size", PyThreadState);
	OFF("ts_next", PyThreadState, next);
	OFF("ts_interp", PyThreadState, interp);
	OFF("ts_thread_id", PyThreadState, thread_id);
#if HAVE_IFRAME
	OFF("ts_native_thread_id", PyThreadState, native_thread_id);
	ABSENT("ts_frame");
#if PY_VERSION_HEX >= 0x030D0000
	ABSENT("ts_cframe");
	ABSENT("cframe_current_frame");
	OFF("ts_current_frame", PyThreadState, current_frame);
#else
	OFF("ts_cframe", PyThreadState, cframe);
	OFF("cframe_current_frame", _PyCFrame, current_frame);
	ABSENT("ts_current_frame");
#endif
	OFF("ts_datastack_chunk", PyThreadState, datastack_chunk);
	OFF("ts_datastack_top", PyThreadState, datastack_top);
#else
	ABSENT("ts_native_thread_id");
	OFF("ts_frame", PyThreadState, frame);
	ABSENT("ts_cframe");
	ABSENT("cframe_current_frame");
	ABSENT("ts_current_frame");
	ABSENT("ts_datastack_chunk");
	ABSENT("ts_datastack_top");
#endif

#if HAVE_IFRAME
	ABSENT("fo_back");
	ABSENT("fo_code");
	ABSENT("fo_lasti");
	ABSENT("fo_globals");
	ABSENT("fo_state");
	OFF("if_globals", _PyInterpreterFrame, f_globals);
	/* localsplus is declared [1]; the frame header ends where it starts. */
	OFF("if_size", _PyInterpreterFrame, localsplus);
	OFF("if_previous", _PyInterpreterFrame, previous);
#if PY_VERSION_HEX >= 0x030D0000
	OFF("if_executable", _PyInterpreterFrame, f_executable);
	OFF("if_ip", _PyInterpreterFrame, instr_ptr);
#else
	OFF("if_executable", _PyInterpreterFrame, f_code);
	OFF("if_ip", _PyInterpreterFrame, prev_instr);
#endif
	OFF("if_owner", _PyInterpreterFrame, owner);
#if PY_VERSION_HEX < 0x030E0000
	_Static_assert(sizeof(((_PyInterpreterFrame *)0)->stacktop) == 4, "stacktop is an int");
	OFF("if_stacktop", _PyInterpreterFrame, stacktop);
#else
	ABSENT("if_stacktop");
#endif
#if PY_VERSION_HEX < 0x030C0000
	/* 3.11 marks a frame entered from C; 3.12+ push a CSTACK frame */
	OFF("if_is_entry", _PyInterpreterFrame, is_entry);
#else
	ABSENT("if_is_entry");
#endif
	OFF("chunk_previous", _PyStackChunk, previous);
	OFF("chunk_size", _PyStackChunk, size);
	OFF("chunk_top", _PyStackChunk, top);
	OFF("chunk_data", _PyStackChunk, data);
#else
	OFF("fo_back", PyFrameObject, f_back);
	OFF("fo_code", PyFrameObject, f_code);
	OFF("fo_lasti", PyFrameObject, f_lasti);
	OFF("fo_globals", PyFrameObject, f_globals);
#if PY_VERSION_HEX >= 0x030A0000
	OFF("fo_state", PyFrameObject, f_state);
#else
	_Static_assert(sizeof(((PyFrameObject *)0)->f_executing) == 1, "f_executing is a char");
	OFF("fo_state", PyFrameObject, f_executing);
#endif
	ABSENT("if_globals");
	ABSENT("if_stacktop");
	ABSENT("if_size");
	ABSENT("if_previous");
	ABSENT("if_executable");
	ABSENT("if_ip");
	ABSENT("if_owner");
	ABSENT("if_is_entry");
	ABSENT("chunk_previous");
	ABSENT("chunk_size");
	ABSENT("chunk_top");
	ABSENT("chunk_data");
#endif

#if HAVE_IFRAME
	/* The bytecode is inline from co_code_adaptive on (declared [1]). */
	OFF("co_size", PyCodeObject, co_code_adaptive);
#else
	SIZE("co_size", PyCodeObject);
#endif
	OFF("co_filename", PyCodeObject, co_filename);
	OFF("co_name", PyCodeObject, co_name);
#if HAVE_IFRAME
	OFF("co_qualname", PyCodeObject, co_qualname);
#else
	ABSENT("co_qualname");
#endif
	OFF("co_firstlineno", PyCodeObject, co_firstlineno);
#if PY_VERSION_HEX >= 0x030A0000
	OFF("co_linetable", PyCodeObject, co_linetable);
#else
	OFF("co_linetable", PyCodeObject, co_lnotab);
#endif
#if HAVE_IFRAME
	OFF("co_code_adaptive", PyCodeObject, co_code_adaptive);
	ABSENT("co_code");
	OFF("co_nlocalsplus", PyCodeObject, co_nlocalsplus);
	OFF("co_stacksize", PyCodeObject, co_stacksize);
	_Static_assert(sizeof(((PyCodeObject *)0)->co_flags) == 4, "co_flags is an int");
	OFF("co_flags", PyCodeObject, co_flags);
	emit_hex("co_gen_flags", CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE |
				 CO_ASYNC_GENERATOR);
#else
	ABSENT("co_code_adaptive");
	OFF("co_code", PyCodeObject, co_code);
	ABSENT("co_nlocalsplus");
	ABSENT("co_stacksize");
	ABSENT("co_flags");
	ABSENT("co_gen_flags");
#endif
#if PY_VERSION_HEX >= 0x030C0000
	OFF("co_framesize", PyCodeObject, co_framesize);
#else
	ABSENT("co_framesize");
#endif

	OFF("ob_type", PyObject, ob_type);
	OFF("ob_size", PyVarObject, ob_size);

	OFF("u_length", PyASCIIObject, length);
	OFF("u_state", PyASCIIObject, state);
	SIZE("u_ascii_data", PyASCIIObject);
	SIZE("u_compact_data", PyCompactUnicodeObject);
	emit_unicode_bits();

	OFF("b_sval", PyBytesObject, ob_sval);
	emit_thread_status();
	emit_asyncio();
	emit_locals();
	printf("}\n");
}

#if PY_VERSION_HEX >= 0x030D0000
/* Positions inside _Py_DebugOffsets of the values py_layout_from_debug reads.
 * if_size and co_size point at the localsplus / co_code_adaptive entries,
 * not at the .size entries (which are full sizeofs including the [1]
 * trailing arrays), so that the values read equal py_layout's. */
#define DBG(field, member) OFF(field, _Py_DebugOffsets, member)
static void emit_debug_map(void)
{
	printf("#define PY_DEBUG_MAP_3_%d { \\\n", PY_MINOR_VERSION);
	SIZE("struct_size", _Py_DebugOffsets);
	DBG("version", version);
	DBG("free_threaded", free_threaded);
	DBG("rt_interpreters_head", runtime_state.interpreters_head);
	DBG("is_size", interpreter_state.size);
	DBG("is_id", interpreter_state.id);
	DBG("is_next", interpreter_state.next);
	DBG("is_threads_head", interpreter_state.threads_head);
#if PY_VERSION_HEX >= 0x030E0000
	DBG("is_threads_main", interpreter_state.threads_main);
#else
	ABSENT("is_threads_main");
#endif
	DBG("ts_size", thread_state.size);
	DBG("ts_next", thread_state.next);
	DBG("ts_interp", thread_state.interp);
	DBG("ts_current_frame", thread_state.current_frame);
	DBG("ts_thread_id", thread_state.thread_id);
	DBG("ts_native_thread_id", thread_state.native_thread_id);
	DBG("ts_datastack_chunk", thread_state.datastack_chunk);
	DBG("if_size", interpreter_frame.localsplus);
	DBG("if_previous", interpreter_frame.previous);
	DBG("if_executable", interpreter_frame.executable);
	DBG("if_ip", interpreter_frame.instr_ptr);
	DBG("if_owner", interpreter_frame.owner);
	DBG("co_size", code_object.co_code_adaptive);
	DBG("co_filename", code_object.filename);
	DBG("co_name", code_object.name);
	DBG("co_qualname", code_object.qualname);
	DBG("co_linetable", code_object.linetable);
	DBG("co_firstlineno", code_object.firstlineno);
	DBG("co_code_adaptive", code_object.co_code_adaptive);
	DBG("ob_type", pyobject.ob_type);
	DBG("b_ob_size", bytes_object.ob_size);
	DBG("b_sval", bytes_object.ob_sval);
	DBG("u_length", unicode_object.length);
	DBG("u_ascii_data", unicode_object.asciiobject_size);
	DBG("is_gil_ptr", interpreter_state.ceval_gil);
	DBG("is_gil", interpreter_state.gil_runtime_state);
	DBG("is_gc", interpreter_state.gc);
	/* published as offsets into PyInterpreterState (interp->_gil.locked) */
	DBG("gil_locked", interpreter_state.gil_runtime_state_locked);
	DBG("gil_last_holder", interpreter_state.gil_runtime_state_holder);
#if PY_VERSION_HEX >= 0x030F0000
	DBG("ts_holds_gil", thread_state.holds_gil);
	DBG("ts_gil_requested", thread_state.gil_requested);
	DBG("ts_current_exception", thread_state.current_exception);
	DBG("ts_exc_state", thread_state.exc_state);
	DBG("exc_value", err_stackitem.exc_value);
#else
#if PY_VERSION_HEX < 0x030E0000
	/* 3.13: holds_gil is a bit of _status, whose start is published */
	DBG("ts_holds_gil", thread_state.status);
#else
	ABSENT("ts_holds_gil"); /* 3.14: an int of its own, not published */
#endif
	ABSENT("ts_gil_requested");
	ABSENT("ts_current_exception");
	ABSENT("ts_exc_state");
	ABSENT("exc_value");
#endif
	DBG("gc_collecting", gc.collecting);
#if PY_VERSION_HEX >= 0x030F0000
	DBG("gc_frame", gc.frame);
#else
	ABSENT("gc_frame");
#endif
	DBG("rt_finalizing", runtime_state.finalizing);
	/* what --async-aware reads (emit_asyncio) */
	DBG("tp_flags", type_object.tp_flags);
	DBG("long_lv_tag", long_object.lv_tag);
	DBG("long_ob_digit", long_object.ob_digit);
#if PY_VERSION_HEX >= 0x030E0000
	DBG("set_used", set_object.used);
	DBG("set_mask", set_object.mask);
	DBG("set_table", set_object.table);
	DBG("gen_iframe", gen_object.gi_iframe);
	DBG("gen_frame_state", gen_object.gi_frame_state);
	DBG("if_stackpointer", interpreter_frame.stackpointer);
	DBG("llist_next", llist_node.next);
	DBG("llist_prev", llist_node.prev);
#else
	ABSENT("set_used");
	ABSENT("set_mask");
	ABSENT("set_table");
	ABSENT("gen_iframe");
	ABSENT("gen_frame_state");
	ABSENT("if_stackpointer");
	ABSENT("llist_next");
	ABSENT("llist_prev");
#endif
	printf("}\n");
}
#endif

#if PY_VERSION_HEX >= 0x030E0000
/* The _asyncio module's own debug offsets, in its ELF section
 * .AsyncioDebug.  CPython declares this struct in Modules/_asynciomodule.c,
 * not in an installed header, so its declaration is repeated here, member
 * for member (the same in 3.14 and 3.15); every number printed still
 * comes from offsetof/sizeof.  Its values are offsets into TaskObj (private
 * to that module: they can only be bounds-checked), _PyThreadStateImpl and
 * PyInterpreterState (cross-checked against emit_asyncio's). */
struct probe_asyncio_debug {
	struct {
		uint64_t size, task_name, task_awaited_by, task_is_task, task_awaited_by_is_set;
		uint64_t task_coro, task_node;
	} asyncio_task_object;
	struct {
		uint64_t size, asyncio_tasks_head;
	} asyncio_interpreter_state;
	struct {
		uint64_t size, asyncio_running_loop, asyncio_running_task, asyncio_tasks_head;
	} asyncio_thread_state;
};

#define ADBG(field, member) OFF(field, struct probe_asyncio_debug, member)
static void emit_asyncio_map(void)
{
	printf("#define PY_ASYNCIO_MAP_3_%d { \\\n", PY_MINOR_VERSION);
	SIZE("struct_size", struct probe_asyncio_debug);
	ADBG("task_size", asyncio_task_object.size);
	ADBG("task_name", asyncio_task_object.task_name);
	ADBG("task_awaited_by", asyncio_task_object.task_awaited_by);
	ADBG("task_is_task", asyncio_task_object.task_is_task);
	ADBG("task_awaited_by_is_set", asyncio_task_object.task_awaited_by_is_set);
	ADBG("task_coro", asyncio_task_object.task_coro);
	ADBG("task_node", asyncio_task_object.task_node);
	ADBG("is_size", asyncio_interpreter_state.size);
	ADBG("is_asyncio_tasks_head", asyncio_interpreter_state.asyncio_tasks_head);
	ADBG("ts_impl_size", asyncio_thread_state.size);
	ADBG("ts_asyncio_running_loop", asyncio_thread_state.asyncio_running_loop);
	ADBG("ts_asyncio_running_task", asyncio_thread_state.asyncio_running_task);
	ADBG("ts_asyncio_tasks_head", asyncio_thread_state.asyncio_tasks_head);
	printf("}\n");
}
#endif

/* argv[1]: the include directory, as the comment should name it;
 * argv[2]: the build's extra -D flags the script added ("" if none). */
int main(int argc, char **argv)
{
	if (argc != 3)
		die("usage: layout_probe HEADER-PATH BUILD-DEFINES");

	printf("/* generated by tools/gen_layouts.sh from %s (Python %s); do not edit */\n",
	       argv[1], PY_VERSION);
	printf("#ifndef STROBE_PY_LAYOUTS_PY3_%d_H\n", PY_MINOR_VERSION);
	printf("#define STROBE_PY_LAYOUTS_PY3_%d_H\n\n", PY_MINOR_VERSION);
	printf("/* PY_VERSION_HEX 0x%08lx, GIL build%s%s; initialisers for src/py/layout.h */\n\n",
	       (unsigned long)PY_VERSION_HEX, argv[2][0] ? ", built with " : "", argv[2]);
	emit_layout();
#if PY_VERSION_HEX >= 0x030D0000
	printf("\n");
	emit_debug_map();
#endif
#if PY_VERSION_HEX >= 0x030E0000
	printf("\n");
	emit_asyncio_map();
#endif
	printf("\n#endif\n");
	if (fflush(stdout) != 0 || ferror(stdout))
		die("write error");
	return 0;
}
