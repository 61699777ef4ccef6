/* fuzz_elf.c - libFuzzer target: the ELF reader (src/process/elf.h) on
 * arbitrary bytes.
 *
 * Each input is an ELF image validated in memory with elf_parse, then every
 * entry point is driven the way py/runtime.c drives it on a target's
 * binaries: the symbols and sections strobe looks for, reads of what they
 * point at, and the scan of the read-only data for a PY_VERSION literal.
 * The same image is then read from a file (a memfd, elf_open_fd), as strobe
 * reads a target's binaries: both ways must give the same answers.
 * libFuzzer hands the input over in a buffer of exactly its size, so any
 * read past the image is a heap overflow the sanitizer reports.  Errors and
 * "not found" are expected results; the findings are crashes, sanitizer
 * reports and the invariants checked below (abort).
 *
 * Built and run by tests/fuzz/run.sh; seeds in tests/fuzz/corpus/elf.
 */
#include "base/error.h"
#include "process/elf.h"

#include <ctype.h>
#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


/* Copy-out checks: a successful read must come from inside the image. */
static void read_at(struct elf_file *e, uint64_t vaddr, size_t len, uint64_t *sum)
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

/* Every entry point on e; returns a sum of everything answered. */
static uint64_t drive(struct elf_file *e, const uint8_t *data, size_t size)
{
	uint64_t sum = e->load_vaddr + e->load_offset;
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		uint64_t value, len;
		if (elf_find_symbol(e, symbols[i], &value, &len) != 0)
			continue;
		sum += value + len;
		read_at(e, value, (size_t)(len < 64 ? len : 64), &sum);
		read_at(e, value, 4, &sum);
	}
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		uint64_t addr, len;
		if (elf_find_section(e, sections[i], &addr, &len) != 0)
			continue;
		sum += addr + len;
		read_at(e, addr, (size_t)(len < 64 ? len : 64), &sum);
	}
	read_at(e, e->load_vaddr, 64, &sum);
	read_at(e, e->load_vaddr + e->load_offset, 1, &sum);
	read_at(e, UINT64_MAX - 3, 8, &sum);
	if (size >= 8) {
		/* an address of the input's choosing: its last 8 bytes */
		uint64_t v;
		memcpy(&v, data + size - 8, sizeof(v));
		read_at(e, v, 16, &sum);
		read_at(e, v, 0, &sum);
	}

	size_t avail = 0;
	const unsigned char *p = elf_scan_rodata(e, '3', match_literal, &sum, &avail);
	if (p && (*p != '3' || avail == 0))
		abort();
	if (p && e->data && (p <= data || p >= data + size || avail > (size_t)(data + size - p)))
		abort();
	if (p)
		sum += avail;
	if (elf_scan_rodata(e, 0, match_none, &sum, &avail) != NULL)
		abort();
	return sum;
}

/* The file the images are written to, made once. */
static int image_fd(void)
{
	static int fd = -2;
	if (fd == -2)
		fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	return fd;
}

static bool write_image(int fd, const uint8_t *data, size_t size)
{
	if (ftruncate(fd, 0) != 0)
		return false;
	for (size_t at = 0; at < size;) {
		ssize_t n = pwrite(fd, data + at, size - at, (off_t)at);
		if (n <= 0)
			return false;
		at += (size_t)n;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_file e;
	int rc = elf_parse(&e, data, size);
	if (rc != 0) {
		/* a refused image leaves nothing behind */
		if (e.data || e.size)
			abort();
	} else if (e.data != data || e.size != size || e.fd >= 0 || (e.type != ET_EXEC && e.type != ET_DYN)) {
		abort();
	}
	uint64_t mem_sum = rc == 0 ? drive(&e, data, size) : 0;
	if (rc == 0 && (e.npieces || e.bytes_read))
		abort(); /* an image in memory is never copied */
	elf_close(&e);

	/* the same image read from a file */
	int fd = image_fd();
	if (fd < 0 || !write_image(fd, data, size))
		return 0;
	int frc = elf_open_fd(&e, fd);
	if (frc != rc)
		abort();
	if (frc == 0) {
		uint64_t file_sum = drive(&e, data, size);
		if ((file_sum != mem_sum && !e.limited) || e.bytes_read > 2 * (uint64_t)size)
			abort();
	} else if (e.fd >= 0 || e.npieces) {
		abort();
	}
	elf_close(&e);
	return 0;
}
