/* layout.h - what strobe needs to know about one CPython version, as data.
 *
 * Every number here is an offset or size inside a CPython C struct on x86-64
 * Linux.  For 3.8-3.12 the values come from generated tables
 * (src/py/layouts/, made by tools/gen_layouts.sh from each version's own
 * headers).  For 3.13+ the same tables exist for cross-checking, and the live
 * values are read from the target's _Py_DebugOffsets (py_layout_from_debug).
 *
 * An offset of PY_ABSENT means the field does not exist in that version.
 * The walker tests the enums below at a few marked places; it never
 * compares version numbers.  docs/thread-status.md says how the thread
 * status and GC fields are used.
 */
#ifndef STROBE_PY_LAYOUT_H
#define STROBE_PY_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define PY_ABSENT UINT32_MAX

enum py_frame_model {
	PY_FRAMES_OBJECTS = 1, /* 3.8-3.10: heap PyFrameObject chain from tstate->frame */
	PY_FRAMES_INTERP = 2,  /* 3.11+: _PyInterpreterFrame chain on the data stack */
};

enum py_linetable_kind {
	PY_LT_LNOTAB = 1,      /* 3.8-3.9: co_lnotab byte pairs */
	PY_LT_LINETABLE = 2,   /* 3.10: co_linetable (PEP 626) */
	PY_LT_LOCATIONS = 3,   /* 3.11+: co_linetable location table (PEP 657) */
};

enum py_ip_kind {
	PY_IP_LASTI_BYTES = 1, /* 3.8-3.9: int f_lasti, a byte offset */
	PY_IP_LASTI_UNITS = 2, /* 3.10: int f_lasti, in 2-byte code units */
	PY_IP_PREV_INSTR = 3,  /* 3.11-3.12: _Py_CODEUNIT *prev_instr (last started) */
	PY_IP_INSTR_PTR = 4,   /* 3.13+: _Py_CODEUNIT *instr_ptr (executing now) */
};

/* What a frame copied while its thread runs says about whether it was
 * still on the thread's stack when it was copied.  The thread state (which
 * names the innermost frame) and the frames are copied some microseconds
 * apart, so the walker settles the innermost frame from the frames' own
 * copies (py/walk.c, settle_top): a callee pushed since the thread state
 * was copied is taken as the leaf, a leaf popped since is dropped. */
enum py_live_kind {
	PY_LIVE_NONE = 0,
	PY_LIVE_EXECUTING = 1,   /* 3.8-3.9: char f_executing (fo_state) is set from
				  * the frame's start to its end */
	PY_LIVE_FRAME_STATE = 2, /* 3.10: char f_state (fo_state) is fo_state_executing
				  * or fo_state_unwinding while the frame runs */
	PY_LIVE_CALL_CACHE = 3,  /* 3.11: a frame that pushed a callee points
				  * (prev_instr) into its call's inline caches
				  * until it resumes; nothing marks a popped frame */
	PY_LIVE_STACKTOP = 4,    /* 3.12-3.13: int stacktop (if_stacktop) is -1 in
				  * the running frame only: a caller saved it at
				  * the call, a popped frame at its exit */
	PY_LIVE_CLEARED = 5,     /* 3.14+: popping a frame clears f_executable */
};

/* Where HAS_GIL comes from (docs/thread-status.md).  Every version also
 * gives the GIL struct itself (gil_locked, gil_last_holder, ...): in
 * _PyRuntime at rt_gil (3.8-3.11), or behind interp->ceval.gil at
 * is_gil_ptr (3.12+). */
enum py_gil_model {
	PY_GIL_RUNTIME = 1, /* 3.8-3.11: one GIL per process in _PyRuntime; the
			     * thread state running with it is
			     * _PyRuntime.gilstate.tstate_current */
	PY_GIL_INTERP = 2,  /* 3.12: per-interpreter GIL through the pointer
			     * interp->ceval.gil; held by gil.last_holder while
			     * gil.locked */
	PY_GIL_THREAD = 3,  /* 3.13+: each thread state says whether it holds
			     * the GIL (ts_holds_gil, ts_holds_gil_bit) */
};

/* Where each needed field lives; all offsets in bytes. */
struct py_layout {
	uint8_t major, minor;
	uint8_t frame_model;     /* enum py_frame_model */
	uint8_t linetable_kind;  /* enum py_linetable_kind */
	uint8_t ip_kind;         /* enum py_ip_kind */
	/* Low bits to clear from _PyInterpreterFrame.f_executable (3.14+ stores
	 * a tagged _PyStackRef there); 0 when the field is a plain pointer. */
	uint8_t executable_tag_mask;
	/* _PyInterpreterFrame.owner values (3.11+); PY_OWNER_NONE if the
	 * version has no such owner.  CSTACK (3.12-3.13) and INTERPRETER
	 * (3.14+) mark C-entry frames that carry no Python code. */
	uint8_t owner_thread, owner_generator, owner_frame_object, owner_cstack;
	uint8_t gil_model;       /* enum py_gil_model */
	uint8_t live_kind;       /* enum py_live_kind */
	/* 3.10: the f_state values of a running frame (FRAME_EXECUTING,
	 * FRAME_UNWINDING); 0 elsewhere */
	int8_t fo_state_executing, fo_state_unwinding;

	/* _PyRuntimeState */
	uint32_t rt_interpreters_head;
	uint32_t rt_main_thread;       /* unsigned long: pthread id of the main thread */

	/* PyInterpreterState */
	uint32_t is_size;
	uint32_t is_next;
	uint32_t is_id;
	uint32_t is_threads_head;
	uint32_t is_threads_main;      /* 3.13+ (3.13's _Py_DebugOffsets lacks it) */

	/* PyThreadState */
	uint32_t ts_size;
	uint32_t ts_next;
	uint32_t ts_interp;
	uint32_t ts_thread_id;         /* pthread_t */
	uint32_t ts_native_thread_id;  /* 3.11+: OS tid */
	uint32_t ts_frame;             /* 3.8-3.10: PyFrameObject *frame */
	uint32_t ts_cframe;            /* 3.11-3.12: _PyCFrame *cframe */
	uint32_t cframe_current_frame; /* 3.11-3.12: _PyCFrame.current_frame */
	uint32_t ts_current_frame;     /* 3.13+ */
	uint32_t ts_datastack_chunk;   /* 3.11+ */
	uint32_t ts_datastack_top;     /* 3.11+ */

	/* PyFrameObject (3.8-3.10) */
	uint32_t fo_back;
	uint32_t fo_code;
	uint32_t fo_lasti;             /* int */
	uint32_t fo_globals;           /* PyObject *f_globals */
	uint32_t fo_state;             /* char: 3.8-3.9 f_executing, 3.10 f_state */

	/* _PyInterpreterFrame (3.11+) */
	uint32_t if_size;              /* sizeof, without localsplus */
	uint32_t if_previous;
	uint32_t if_executable;        /* f_code (3.11-3.12) / f_executable (3.13+) */
	uint32_t if_ip;                /* prev_instr / instr_ptr, see ip_kind */
	uint32_t if_owner;             /* char */
	uint32_t if_is_entry;          /* bool, 3.11 only: entered from C */
	uint32_t if_globals;           /* PyObject *f_globals (borrowed) */
	uint32_t if_stacktop;          /* 3.11-3.13: int stacktop, see live_kind */

	/* _PyStackChunk (3.11+) */
	uint32_t chunk_previous;
	uint32_t chunk_size;
	uint32_t chunk_top;
	uint32_t chunk_data;

	/* PyCodeObject */
	uint32_t co_size;              /* sizeof(PyCodeObject), without bytecode */
	uint32_t co_filename;
	uint32_t co_name;
	uint32_t co_qualname;          /* 3.11+ */
	uint32_t co_firstlineno;       /* int */
	uint32_t co_linetable;         /* bytes: co_lnotab (3.8-3.9) or co_linetable */
	uint32_t co_code_adaptive;     /* 3.11+: inline bytecode */
	uint32_t co_code;              /* 3.8-3.10: bytes object with the bytecode */
	/* 3.11+: a frame of this code takes if_size / 8 + co_nlocalsplus +
	 * co_stacksize words of the data stack (3.12+ store the sum in
	 * co_framesize); its callee's frame is pushed right after it */
	uint32_t co_framesize;         /* 3.12+: int */
	uint32_t co_nlocalsplus;       /* 3.11+: int */
	uint32_t co_stacksize;         /* 3.11+: int */
	uint32_t co_flags;             /* 3.11+: int */
	/* 3.11+: the co_flags bits of generator-like code (CO_GENERATOR,
	 * CO_COROUTINE, CO_ITERABLE_COROUTINE, CO_ASYNC_GENERATOR; a value, not
	 * an offset): a call to such code pushes a frame only to hand it over
	 * to the new generator and pop it, not always cleared (3.14+) */
	uint32_t co_gen_flags;

	/* PyObject / PyVarObject */
	uint32_t ob_type;
	uint32_t ob_size;

	/* PyUnicodeObject (compact forms) */
	uint32_t u_length;
	uint32_t u_state;              /* offset of the state bitfield word (u32) */
	uint32_t u_ascii_data;         /* sizeof(PyASCIIObject) */
	uint32_t u_compact_data;       /* sizeof(PyCompactUnicodeObject) */
	uint8_t u_kind_shift;          /* bit position of state.kind (3 bits) */
	uint8_t u_compact_shift;       /* bit position of state.compact */
	uint8_t u_ascii_shift;         /* bit position of state.ascii */

	/* PyBytesObject */
	uint32_t b_sval;

	/* ---- thread status and GC state (docs/thread-status.md) ---- */
	/* Bit of the u32 at ts_holds_gil that is set while the thread holds
	 * the GIL: a bitfield in 3.13 (_status.holds_gil), 0 for the plain
	 * 0/1 int of 3.14+.  0 when ts_holds_gil is absent. */
	uint8_t ts_holds_gil_bit;
	/* Bit of ts_eval_breaker asking this thread (the holder) to drop the
	 * GIL (_PY_GIL_DROP_REQUEST_BIT, 3.13+); 0 when absent. */
	uint8_t ts_gil_drop_bit;

	/* _PyRuntimeState */
	uint32_t rt_gil;               /* 3.8-3.11: struct _gil_runtime_state ceval.gil */
	uint32_t rt_tstate_current;    /* 3.8-3.11: gilstate.tstate_current (PyThreadState *) */
	uint32_t rt_gil_drop_request;  /* 3.8: int ceval.gil_drop_request */
	uint32_t rt_gc;                /* 3.8: struct _gc_runtime_state gc */

	/* PyInterpreterState */
	uint32_t is_gil_ptr;           /* 3.12+: ceval.gil, the GIL this interpreter uses */
	uint32_t is_gil;               /* 3.12+: _gil, its own GIL (used unless shared) */
	uint32_t is_gil_drop_request;  /* 3.9-3.12: int ceval.gil_drop_request */
	uint32_t is_gc;                /* 3.9+: struct _gc_runtime_state gc */

	/* struct _gil_runtime_state (same member order in every version) */
	uint32_t gil_locked;           /* int: 1 held, 0 free, -1 not created */
	uint32_t gil_last_holder;      /* PyThreadState *: the holder while locked */
	uint32_t gil_switch_number;    /* unsigned long: GIL hand-overs so far */
	uint32_t gil_cond;             /* [gil_cond, gil_switch_cond): the condvar and
					* mutex a thread waiting for the GIL blocks on */
	uint32_t gil_switch_cond;      /* condvar a dropping thread waits on */

	/* PyThreadState */
	uint32_t ts_holds_gil;         /* 3.13+: u32 holding the bit ts_holds_gil_bit */
	uint32_t ts_gil_requested;     /* 3.15+: int, set while waiting for the GIL */
	uint32_t ts_eval_breaker;      /* 3.13+: uintptr_t, see ts_gil_drop_bit */
	uint32_t ts_current_exception; /* PyObject *: the exception being raised;
					* curexc_type in 3.8-3.11 */
	uint32_t ts_exc_info;          /* _PyErr_StackItem *: top of the handled-
					* exception stack (never NULL once set up) */
	uint32_t ts_exc_state;         /* the thread's own (bottom) _PyErr_StackItem */

	/* _PyErr_StackItem */
	uint32_t exc_type;             /* 3.8-3.10: the item is in use if non-NULL, not None */
	uint32_t exc_value;            /* 3.11+: the item is in use if non-NULL, not None */
	uint32_t exc_previous;         /* previous_item: the next older entry */

	/* struct _gc_runtime_state */
	uint32_t gc_collecting;        /* int: 1 during a collection */
	uint32_t gc_frame;             /* 3.15+: _PyInterpreterFrame * current when the
					* collection started (may be NULL) */

	/* Interpreter shutdown (docs/thread-status.md, "Interpreter shutdown") */
	uint32_t rt_finalizing;        /* _PyRuntimeState: PyThreadState * running
					* Py_FinalizeEx, NULL until the atexit
					* callbacks have run */
	uint32_t is_finalizing;        /* 3.12+: the same per interpreter, also set
					* by Py_EndInterpreter */

	/* ---- asyncio introspection (--async-aware, src/py/asyncio.c) ----
	 * The asyncio-specific fields exist from 3.14, whose _asyncio module
	 * publishes its tasks (.AsyncioDebug, struct py_asyncio_map); they are
	 * PY_ABSENT (the values 0) before, which is how strobe knows
	 * --async-aware cannot work on a version. */
	uint8_t tpflags_long_bit;      /* Py_TPFLAGS_LONG_SUBCLASS == 1 << this */
	uint8_t tpflags_unicode_bit;   /* Py_TPFLAGS_UNICODE_SUBCLASS */
	uint8_t long_shift;            /* PyLong_SHIFT: bits per int digit */
	uint8_t long_non_size_bits;    /* 3.12+: lv_tag >> this = number of digits */
	uint8_t long_sign_mask;        /* 3.12+: lv_tag & this: 0 positive, 1 zero, 2 negative */
	int8_t gen_state_cleared;      /* 3.14+: gi_frame_state FRAME_CLEARED */
	int8_t gen_state_yield_from;   /* 3.14+: FRAME_SUSPENDED_YIELD_FROM */
	uint8_t gen_yf_slot;           /* 3.14+: a coroutine in FRAME_SUSPENDED_YIELD_FROM
					* awaits the object at stackpointer[-this] */

	uint32_t set_used;             /* PySetObject: Py_ssize_t used */
	uint32_t set_mask;             /* Py_ssize_t mask: slots - 1 */
	uint32_t set_table;            /* setentry *table */
	uint32_t setentry_size;        /* sizeof(setentry) */
	uint32_t setentry_key;         /* PyObject *key (NULL: empty slot) */
	uint32_t setentry_hash;        /* Py_hash_t hash (-1: a removed entry's dummy key) */
	uint32_t tp_flags;             /* PyTypeObject: unsigned long tp_flags */
	uint32_t long_lv_tag;          /* 3.12+: PyLongObject long_value.lv_tag */
	uint32_t long_ob_digit;        /* 3.12+: long_value.ob_digit[] (u32 digits) */
	uint32_t gen_iframe;           /* 3.14+: PyGenObject: the embedded frame */
	uint32_t gen_frame_state;      /* 3.14+: int8_t gi_frame_state */
	uint32_t if_stackpointer;      /* 3.14+: _PyInterpreterFrame stackpointer */
	uint32_t llist_next, llist_prev; /* 3.14+: struct llist_node */
	uint32_t ts_impl_size;         /* 3.14+: sizeof(_PyThreadStateImpl) */
	uint32_t ts_asyncio_running_loop; /* 3.14+: _PyThreadStateImpl fields */
	uint32_t ts_asyncio_running_task;
	uint32_t ts_asyncio_tasks_head;   /* struct llist_node: this thread's tasks */
	uint32_t is_asyncio_tasks_head;   /* 3.14+: tasks of threads that have exited */

	/* ---- strobe dump --locals (src/py/locals.c) ---- */
	uint32_t fo_localsplus;        /* 3.8-3.10: PyFrameObject f_localsplus[] */
	uint32_t co_nlocals;           /* 3.8-3.10: int, locals first in f_localsplus */
	uint32_t co_varnames;          /* 3.8-3.10: tuple of the locals' names */
	uint32_t co_cellvars;          /* 3.8-3.10: tuple: cells after the locals */
	uint32_t co_freevars;          /* 3.8-3.10: tuple: free cells after those */
	uint32_t co_localsplusnames;   /* 3.11+: tuple, a name per localsplus slot */
	uint32_t co_localspluskinds;   /* 3.11+: bytes, a kind per slot */
	uint8_t co_fast_local, co_fast_cell, co_fast_free; /* 3.11+ kind bits */
	uint8_t co_fast_hidden;        /* 3.12+ (0 before): slots not shown */
	uint8_t stackref_int_tag;      /* 3.14+: low bits of a tagged int stack ref (0 before) */
	uint8_t stackref_int_shift;    /* 3.14+: its value is bits >> this */
	uint8_t tpflags_heaptype_bit;  /* Py_TPFLAGS_HEAPTYPE == 1 << this */
	uint32_t tuple_items;          /* PyTupleObject ob_item[] */
	uint32_t float_fval;           /* PyFloatObject double ob_fval */
	uint32_t cell_ref;             /* PyCellObject ob_ref */
	uint32_t tp_name;              /* PyTypeObject const char *tp_name */
	uint32_t dict_used;            /* PyDictObject Py_ssize_t ma_used */
	uint32_t long_digits;          /* PyLongObject digits (u32, long_shift bits
					* each); their number and sign in ob_size
					* (3.8-3.11) or long_lv_tag (3.12+) */
};

#define PY_OWNER_NONE 0xff

/* Where the 3.13+ _Py_DebugOffsets struct keeps the values we read: byte
 * positions of u64 fields inside that struct, per version.  Generated.
 * Each position holds the value of the py_layout field of the same name;
 * so if_size and co_size point at interpreter_frame.localsplus and
 * code_object.co_code_adaptive (the .size entries there are full sizeofs,
 * trailing [1] arrays included). */
struct py_debug_map {
	uint32_t struct_size;          /* sizeof(_Py_DebugOffsets) */
	uint32_t version;              /* offset of .version */
	uint32_t free_threaded;
	uint32_t rt_interpreters_head;
	uint32_t is_size, is_id, is_next, is_threads_head, is_threads_main;
	uint32_t ts_size, ts_next, ts_interp, ts_current_frame, ts_thread_id;
	uint32_t ts_native_thread_id, ts_datastack_chunk;
	uint32_t if_size, if_previous, if_executable, if_ip, if_owner;
	uint32_t co_size, co_filename, co_name, co_qualname, co_linetable;
	uint32_t co_firstlineno, co_code_adaptive;
	uint32_t ob_type;
	uint32_t b_ob_size, b_sval;
	uint32_t u_length, u_ascii_data;
	/* thread status and GC state; the GIL offsets are published relative
	 * to PyInterpreterState (interp->_gil.locked), so gil_locked and
	 * gil_last_holder hold positions of those and the cross-check
	 * subtracts the value at is_gil */
	uint32_t is_gil_ptr, is_gil, is_gc;
	uint32_t gil_locked, gil_last_holder;
	uint32_t ts_holds_gil;         /* 3.13: _status (holds_gil is one of its bits) */
	uint32_t ts_gil_requested, ts_current_exception, ts_exc_state; /* 3.15+ */
	uint32_t exc_value;            /* 3.15+ */
	uint32_t gc_collecting;
	uint32_t gc_frame;             /* 3.15+ */
	uint32_t rt_finalizing;
	/* what --async-aware reads */
	uint32_t tp_flags, long_lv_tag, long_ob_digit;
	uint32_t set_used, set_mask, set_table;          /* 3.14+ */
	uint32_t gen_iframe, gen_frame_state;           /* 3.14+ */
	uint32_t if_stackpointer, llist_next, llist_prev; /* 3.14+ */
};

/* Where the _asyncio module's _Py_AsyncioModuleDebugOffsets (ELF section
 * .AsyncioDebug, 3.14+) keeps its u64 values: byte positions, per version.
 * Generated.  The task_* values are offsets into TaskObj, private to
 * _asyncio (they only come from the target); the others are the py_layout
 * fields of the same name and are cross-checked against them. */
struct py_asyncio_map {
	uint32_t struct_size;          /* sizeof(_Py_AsyncioModuleDebugOffsets) */
	uint32_t task_size, task_name, task_awaited_by, task_is_task;
	uint32_t task_awaited_by_is_set, task_coro, task_node;
	uint32_t is_size, is_asyncio_tasks_head;
	uint32_t ts_impl_size, ts_asyncio_running_loop, ts_asyncio_running_task;
	uint32_t ts_asyncio_tasks_head;
};

/* The generated layout of major.minor, or NULL if strobe does not know it. */
const struct py_layout *py_layout_find(int major, int minor);
/* The generated _Py_DebugOffsets map of major.minor (3.13+), or NULL. */
const struct py_debug_map *py_debug_map_find(int major, int minor);
/* The generated .AsyncioDebug map of major.minor (3.14+), or NULL. */
const struct py_asyncio_map *py_asyncio_map_find(int major, int minor);
/* Oldest and newest supported versions, for messages ("3.8" .. "3.15"). */
void py_layout_range(int *min_minor, int *max_minor);

#endif
