/* fuzz_elf.c - libFuzzer target: the ELF reader (src/target/elf.h) on
 * arbitrary bytes.
 *
 * Each input is an ELF image validated in memory with elf_parse, then every
 * entry point is driven the way py/runtime.c drives it on a target's
 * binaries: the symbols and sections strobe looks for, reads of what they
 * point at, and the scan of the read-only data for a PY_VERSION literal.
 * libFuzzer hands the input over in a buffer of exactly its size, so any
 * read past the image is a heap overflow the sanitizer reports.  Errors and
 * "not found" are expected results; the findings are crashes, sanitizer
 * reports and the invariants checked below (abort).
 *
 * Built and run by tests/fuzz/run.sh; seeds in tests/fuzz/corpus/elf.
 */
#include "base/error.h"
#include "target/elf.h"

#include <ctype.h>
#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copy-out checks: a successful read must come from inside the image. */
static void read_at(const struct elf_file *e, uint64_t vaddr, size_t len, uint64_t *sum)
{
	unsigned char buf[64];
	if (len > sizeof(buf))
		len = sizeof(buf);
	memset(buf, 0xa5, sizeof(buf));
	if (elf_read_vaddr(e, vaddr, buf, len) != 0)
		return;
	for (size_t i = 0; i < len; i++)
		*sum += buf[i];
}

/* The candidates runtime.c's match_version_literal looks at: it reads the
 * byte before the candidate (a C string starts there) and up to avail. */
static bool match_literal(const unsigned char *p, size_t avail, void *arg)
{
	uint64_t *sum = arg;
	if (avail == 0)
		abort(); /* a candidate is at least its first byte */
	*sum += p[-1] + p[avail - 1];
	return avail >= 6 && p[-1] == '\0' && p[1] == '.' && isdigit(p[2]);
}

/* A matcher that never matches: the whole read-only data is walked. */
static bool match_none(const unsigned char *p, size_t avail, void *arg)
{
	uint64_t *sum = arg;
	*sum += p[0] + p[avail - 1];
	return false;
}

static const char *const symbols[] = {
	"_PyRuntime", "PyCode_Type", "_Py_NoneStruct", "Py_Version", "main", "puts", "",
};
static const char *const sections[] = {
	".PyRuntime", ".AsyncioDebug", ".text", ".rodata", ".dynsym", ".symtab", "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_file e;
	if (elf_parse(&e, data, size) != 0) {
		/* a refused image leaves nothing behind */
		if (e.data || e.size)
			abort();
		return 0;
	}
	if (e.data != data || e.size != size || e.mapped || (e.type != ET_EXEC && e.type != ET_DYN))
		abort();
	uint64_t sum = e.load_vaddr + e.load_offset;

	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		uint64_t value, len;
		if (elf_find_symbol(&e, symbols[i], &value, &len) != 0)
			continue;
		sum += value + len;
		read_at(&e, value, (size_t)(len < 64 ? len : 64), &sum);
		read_at(&e, value, 4, &sum);
	}
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		uint64_t addr, len;
		if (elf_find_section(&e, sections[i], &addr, &len) != 0)
			continue;
		sum += addr + len;
		read_at(&e, addr, (size_t)(len < 64 ? len : 64), &sum);
	}
	read_at(&e, e.load_vaddr, 64, &sum);
	read_at(&e, e.load_vaddr + e.load_offset, 1, &sum);
	read_at(&e, UINT64_MAX - 3, 8, &sum);
	if (size >= 8) {
		/* an address of the input's choosing: its last 8 bytes */
		uint64_t v;
		memcpy(&v, data + size - 8, sizeof(v));
		read_at(&e, v, 16, &sum);
		read_at(&e, v, 0, &sum);
	}

	size_t avail = 0;
	const unsigned char *p = elf_scan_rodata(&e, '3', match_literal, &sum, &avail);
	if (p && (p < data || p >= data + size || avail > (size_t)(data + size - p) || *p != '3'))
		abort();
	if (elf_scan_rodata(&e, 0, match_none, &sum, &avail) != NULL)
		abort();

	elf_close(&e);
	__asm__ volatile("" : : "r"(sum)); /* keep the reads */
	return 0;
}
