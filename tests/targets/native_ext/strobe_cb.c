/* strobe_cb: the C half of tests/targets/native_ext.py, compiled by the
 * functional test (cases_native_stacks.py) against the headers of the
 * interpreter under test.  call_back(fn, n) calls fn() n times from C through
 * two C functions of its own:
 *
 *     call_back -> strobe_cb_outer -> strobe_cb_inner -> fn()
 *
 * so a sample taken while fn runs holds Python -> C -> Python.  Both helpers
 * are never inlined, never tail-called (each does something after its call;
 * the test also builds with -fno-optimize-sibling-calls) and exported with
 * default visibility, so even a stripped build names them in .dynsym.  The
 * "@name" comments mark the lines the test expects DWARF to give for the
 * frames (the line of the call a frame is in).  C89-C11 and every CPython
 * 3.8-3.15 (PyObject_CallObject: PyObject_CallNoArgs is 3.9+). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define STROBE_CB_EXPORT __attribute__((noinline, visibility("default")))

STROBE_CB_EXPORT int strobe_cb_inner(PyObject *fn);
STROBE_CB_EXPORT int strobe_cb_outer(PyObject *fn, long n);

/* one call of fn(); -1 with the exception set when it raised */
STROBE_CB_EXPORT int strobe_cb_inner(PyObject *fn)
{
	PyObject *r = PyObject_CallObject(fn, NULL); /* @inner_call */

	if (r == NULL)
		return -1;
	Py_DECREF(r);
	return 0;
}

/* n calls of fn() through strobe_cb_inner */
STROBE_CB_EXPORT int strobe_cb_outer(PyObject *fn, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		if (strobe_cb_inner(fn) < 0) /* @outer_call */
			return -1;
	}
	return 0;
}

static PyObject *strobe_cb_call_back(PyObject *self, PyObject *args)
{
	PyObject *fn;
	long n;

	(void)self;
	if (!PyArg_ParseTuple(args, "Ol:call_back", &fn, &n))
		return NULL;
	if (!PyCallable_Check(fn)) {
		PyErr_SetString(PyExc_TypeError, "call_back: fn is not callable");
		return NULL;
	}
	if (strobe_cb_outer(fn, n) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyMethodDef strobe_cb_methods[] = {
	{"call_back", strobe_cb_call_back, METH_VARARGS,
	 "call_back(fn, n): call fn() n times from C"},
	{NULL, NULL, 0, NULL}
};

static struct PyModuleDef strobe_cb_module = {
	PyModuleDef_HEAD_INIT, "strobe_cb", NULL, -1, strobe_cb_methods,
	NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC PyInit_strobe_cb(void)
{
	return PyModule_Create(&strobe_cb_module);
}
