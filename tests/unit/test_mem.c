/* test_mem.c - reading process memory (src/process/mem.c), on this process:
 * mem_readv's count of leading ranges read, with ranges that continue each
 * other here or in the target (which it passes to the kernel as one), and
 * the same answers through /proc/PID/mem and through a snapshot of the
 * readable pages (the offline backend must fail where the process does);
 * then the snapshot backend's own rules: ranges that touch stay apart,
 * malformed additions, recording a live source, and an overlay on one
 * (served when inside a range, live otherwise; a read running past a range
 * added whole fails). */
#include "harness.h"

#include "base/error.h"
#include "process/mem.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned char *pages; /* 3 pages: two readable, the third unmapped */
static size_t psz;

static void setup(void)
{
	psz = (size_t)sysconf(_SC_PAGESIZE);
	pages = mmap(NULL, 3 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(pages != MAP_FAILED);
	for (size_t i = 0; i < 2 * psz; i++)
		pages[i] = (unsigned char)(i * 7 + 3);
	CHECK(munmap(pages + 2 * psz, psz) == 0);
}

static raddr_t at(size_t off)
{
	return (raddr_t)(uintptr_t)(pages + off);
}

static void check_sources(void (*body)(struct mem_source *))
{
	struct mem_source m;
	CHECK_EQ_INT(mem_open(&m, getpid(), at(0)), 0);
	CHECK(m.memfd < 0); /* process_vm_readv */
	body(&m);
	mem_close(&m);
	m.memfd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	CHECK(m.memfd >= 0);
	body(&m);
	mem_close(&m);
	/* the two readable pages, as a snapshot holds them */
	struct mem_snapshot snap;
	mem_snapshot_init(&snap);
	CHECK_EQ_INT(mem_snapshot_add(&snap, at(0), pages, 2 * psz), 0);
	mem_snapshot_source(&m, &snap, getpid());
	body(&m);
	mem_close(&m);
	mem_snapshot_release(&snap);
}

/* Ranges contiguous in both places, in one only, and apart: all read. */
static void all_read(struct mem_source *m)
{
	unsigned char buf[600], other[50];
	memset(buf, 0, sizeof(buf));
	struct mem_iov iov[] = {
		{ at(100), buf, 100 },          /* then one contiguous both ways */
		{ at(200), buf + 100, 100 },
		{ at(psz + 10), buf + 200, 50 }, /* contiguous here only */
		{ at(psz + 60), other, 50 },    /* contiguous there only */
		{ at(0), buf + 250, 0 },        /* empty */
		{ at(psz - 20), buf + 250, 40 }, /* across the page boundary */
	};
	CHECK_EQ_INT(mem_readv(m, iov, 6), 6);
	CHECK(memcmp(buf, pages + 100, 200) == 0);
	CHECK(memcmp(buf + 200, pages + psz + 10, 50) == 0);
	CHECK(memcmp(other, pages + psz + 60, 50) == 0);
	CHECK(memcmp(buf + 250, pages + psz - 20, 40) == 0);
}

/* A fault stops the count at the range it hits, merged or not. */
static void faults(struct mem_source *m)
{
	unsigned char buf[300];
	/* the second range continues the first into the unmapped page */
	struct mem_iov a[] = {
		{ at(2 * psz - 100), buf, 100 },
		{ at(2 * psz), buf + 100, 10 },
		{ at(0), buf + 110, 10 },
	};
	CHECK_EQ_INT(mem_readv(m, a, 3), 1);
	CHECK(memcmp(buf, pages + 2 * psz - 100, 100) == 0);
	/* one range straddling into it: none read */
	struct mem_iov b[] = {
		{ at(2 * psz - 8), buf, 16 },
		{ at(0), buf + 16, 10 },
	};
	CHECK_EQ_INT(mem_readv(m, b, 2), 0);
	/* readable ranges, then a fault, then readable again */
	struct mem_iov c[] = {
		{ at(0), buf, 10 },
		{ at(10), buf + 10, 10 },
		{ at(2 * psz + 64), buf + 20, 8 },
		{ at(30), buf + 28, 10 },
	};
	CHECK_EQ_INT(mem_readv(m, c, 4), 2);
	CHECK(memcmp(buf, pages, 20) == 0);
	CHECK_EQ_INT(mem_read(m, at(2 * psz), buf, 1), ERR_FAULT);
	CHECK_EQ_INT(mem_read(m, at(psz), buf, 8), 0);
	CHECK(memcmp(buf, pages + psz, 8) == 0);
}

/* More ranges than one system call takes (64), every other one contiguous. */
static void many(struct mem_source *m)
{
	enum { N = 150 };
	static unsigned char buf[N * 8];
	struct mem_iov iov[N];
	for (int i = 0; i < N; i++)
		iov[i] = (struct mem_iov){ at((size_t)(i / 2) * 24 + (size_t)(i % 2) * 8),
					   buf + i * 8, 8 };
	memset(buf, 0, sizeof(buf));
	CHECK_EQ_INT(mem_readv(m, iov, N), N);
	for (int i = 0; i < N; i++)
		CHECK(memcmp(buf + i * 8, pages + (i / 2) * 24 + (i % 2) * 8, 8) == 0);
	iov[100].addr = at(2 * psz);
	CHECK_EQ_INT(mem_readv(m, iov, N), 100);
}

TEST(all_read)
{
	check_sources(all_read);
}

TEST(faults)
{
	check_sources(faults);
}

TEST(many)
{
	check_sources(many);
}

/* The process a source was opened on, not its PID: alive while it runs,
 * gone once it exits (already as a zombie, before it is reaped), and the
 * same process across an exec; a second open of another PID is not. */
TEST(identity)
{
	int ready[2];
	CHECK(pipe(ready) == 0);
	pid_t child = fork();
	if (child == 0) {
		close(ready[0]);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	char c;
	CHECK(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	struct mem_source m, self;
	CHECK_EQ_INT(mem_open(&m, child, 0), 0);
	CHECK(m.start_time != 0);
	CHECK(mem_alive(&m));
	CHECK_EQ_INT(mem_open(&self, getpid(), 0), 0);
	CHECK(!mem_same_process(&m, &self));
	struct mem_source again;
	CHECK_EQ_INT(mem_open(&again, child, 0), 0);
	CHECK(mem_same_process(&m, &again));
	mem_close(&again);
	CHECK(kill(child, SIGKILL) == 0);
	/* a zombie has exited: wait until the kernel says so without reaping */
	siginfo_t si;
	CHECK(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT) == 0);
	CHECK(!mem_alive(&m));
	/* the fallback without a pidfd says the same */
	int pidfd = m.pidfd;
	m.pidfd = -1;
	CHECK(!mem_alive(&m));
	m.pidfd = pidfd;
	CHECK(waitpid(child, NULL, 0) == child);
	CHECK(!mem_alive(&m));
	CHECK_EQ_INT(mem_open(&again, child, 0), ERR_NOPROC);
	mem_close(&m);
	mem_close(&self);
}

/* A read is served only from within one range; touching ranges stay
 * apart; a readv counts its leading ranges read. */
TEST(snapshot_ranges)
{
	static const unsigned char a[17] = "0123456789abcdef", b[17] = "ghijklmnopqrstuv",
				   c[256] = { 1, 2, 3 };
	struct mem_snapshot snap;
	mem_snapshot_init(&snap);
	CHECK_EQ_INT(mem_snapshot_add(&snap, 0x1000, a, 16), 0);
	CHECK_EQ_INT(mem_snapshot_add(&snap, 0x1010, b, 16), 0); /* touches a */
	CHECK_EQ_INT(mem_snapshot_add(&snap, 0x2000, c, 256), 0);
	/* out of order, overlapping, empty, wrapping: refused */
	CHECK_EQ_INT(mem_snapshot_add(&snap, 0x1800, c, 8), ERR_INVAL);
	CHECK_EQ_INT(mem_snapshot_add(&snap, 0x20ff, c, 8), ERR_INVAL);
	CHECK_EQ_INT(mem_snapshot_add(&snap, 0x3000, c, 0), ERR_INVAL);
	CHECK_EQ_INT(mem_snapshot_add(&snap, UINT64_MAX - 4, c, 8), ERR_INVAL);
	CHECK_EQ_INT((long long)snap.n, 3);
	struct mem_source m;
	mem_snapshot_source(&m, &snap, 1234);
	unsigned char buf[64];
	CHECK_EQ_INT(mem_read(&m, 0x1004, buf, 12), 0);
	CHECK(memcmp(buf, "456789abcdef", 12) == 0);
	CHECK_EQ_INT(mem_read(&m, 0x1010, buf, 16), 0);
	CHECK(memcmp(buf, b, 16) == 0);
	CHECK_EQ_INT(mem_read(&m, 0x100c, buf, 8), ERR_FAULT);  /* straddles a and b */
	CHECK_EQ_INT(mem_read(&m, 0x0ff8, buf, 16), ERR_FAULT); /* starts before a */
	CHECK_EQ_INT(mem_read(&m, 0x20f8, buf, 9), ERR_FAULT);  /* runs past c */
	CHECK_EQ_INT(mem_read(&m, 0x20f8, buf, 8), 0);
	CHECK_EQ_INT(mem_read(&m, 0x500, buf, 1), ERR_FAULT);   /* below everything */
	CHECK_EQ_INT(mem_read(&m, 0x9000, buf, 1), ERR_FAULT);  /* above everything */
	CHECK_EQ_INT(mem_read(&m, UINT64_MAX, buf, 2), ERR_FAULT);
	struct mem_iov iov[] = {
		{ 0x2000, buf, 3 },
		{ 0x1000, buf + 3, 4 },
		{ 0x100e, buf + 7, 4 }, /* straddles */
		{ 0x1010, buf + 11, 4 },
	};
	CHECK_EQ_INT(mem_readv(&m, iov, 4), 2);
	CHECK(memcmp(buf, "\1\2\3" "0123", 7) == 0);
	CHECK_EQ_INT(mem_readv(&m, iov + 3, 1), 1);
	CHECK_EQ_INT(mem_readv(&m, iov + 2, 2), 0);
	CHECK(m.stats.faults > 0);
	mem_close(&m);
	mem_snapshot_release(&snap);
}

/* A recording keeps what a live source read and nothing that failed;
 * sealed, overlapping and touching reads become one range that answers
 * reads the live process answers. */
TEST(snapshot_record)
{
	struct mem_source m;
	CHECK_EQ_INT(mem_open(&m, getpid(), at(0)), 0);
	struct mem_snapshot snap;
	mem_snapshot_init(&snap);
	mem_snapshot_record(&m, &snap);
	unsigned char buf[64];
	CHECK_EQ_INT(mem_read(&m, at(100), buf, 20), 0);
	CHECK_EQ_INT(mem_read(&m, at(110), buf, 30), 0);   /* overlaps */
	CHECK_EQ_INT(mem_read(&m, at(2 * psz - 4), buf, 8), ERR_FAULT);
	struct mem_iov iov[] = {
		{ at(140), buf, 10 },                       /* touches */
		{ at(psz), buf + 10, 10 },
		{ at(2 * psz), buf + 20, 10 },              /* unmapped */
		{ at(300), buf + 30, 10 },
	};
	CHECK_EQ_INT(mem_readv(&m, iov, 4), 2);
	CHECK_EQ_INT((long long)snap.n, 4);
	CHECK(!snap.overflow);
	mem_snapshot_seal(&m, &snap);
	CHECK(m.snap == NULL);
	CHECK_EQ_INT((long long)snap.n, 2);
	CHECK_EQ_INT((long long)snap.total, 50 + 10);
	/* the recording source reads live again */
	CHECK_EQ_INT(mem_read(&m, at(300), buf, 10), 0);
	mem_close(&m);
	struct mem_source r;
	mem_snapshot_source(&r, &snap, getpid());
	CHECK_EQ_INT(mem_read(&r, at(100), buf, 50), 0);
	CHECK(memcmp(buf, pages + 100, 50) == 0);
	CHECK_EQ_INT(mem_read(&r, at(psz), buf, 10), 0);
	CHECK(memcmp(buf, pages + psz, 10) == 0);
	CHECK_EQ_INT(mem_read(&r, at(99), buf, 2), ERR_FAULT);
	CHECK_EQ_INT(mem_read(&r, at(300), buf, 10), ERR_FAULT);
	CHECK_EQ_INT(mem_read(&r, at(2 * psz - 4), buf, 4), ERR_FAULT);
	/* a sealed snapshot takes no borrowed ranges */
	CHECK_EQ_INT(mem_snapshot_add(&snap, at(3 * psz), buf, 4), ERR_INVAL);
	mem_close(&r);
	mem_snapshot_release(&snap);
}

/* An overlay on the live source: a read (or readv piece) entirely inside
 * a range comes from it, one partly outside or outside all from the
 * process; over an unmapped page too (the copy of memory since freed). */
TEST(snapshot_overlay)
{
	struct mem_source m;
	CHECK_EQ_INT(mem_open(&m, getpid(), at(0)), 0);
	unsigned char copy[64], copy2[16], buf[128];
	memset(copy, 0xee, sizeof(copy));
	memset(copy2, 0x77, sizeof(copy2));
	struct mem_snapshot ov;
	mem_snapshot_init(&ov);
	CHECK_EQ_INT(mem_snapshot_add(&ov, at(256), copy, sizeof(copy)), 0);
	CHECK_EQ_INT(mem_snapshot_add(&ov, at(2 * psz + 32), copy2, sizeof(copy2)), 0);
	mem_snapshot_overlay(&m, &ov);
	/* inside: the copy, not the process's bytes */
	CHECK_EQ_INT(mem_read(&m, at(260), buf, 32), 0);
	CHECK(memcmp(buf, copy, 32) == 0);
	CHECK_EQ_INT(mem_read(&m, at(2 * psz + 32), buf, 16), 0);
	CHECK(memcmp(buf, copy2, 16) == 0);
	/* partly outside: live, whole */
	CHECK_EQ_INT(mem_read(&m, at(250), buf, 20), 0);
	CHECK(memcmp(buf, pages + 250, 20) == 0);
	CHECK_EQ_INT(mem_read(&m, at(300), buf, 40), 0);
	CHECK(memcmp(buf, pages + 300, 40) == 0);
	/* outside: live, faults included */
	CHECK_EQ_INT(mem_read(&m, at(1000), buf, 8), 0);
	CHECK(memcmp(buf, pages + 1000, 8) == 0);
	CHECK_EQ_INT(mem_read(&m, at(2 * psz + 40), buf, 16), ERR_FAULT);
	CHECK_EQ_INT((long long)ov.served, 2);
	/* readv: served, live, served (unmapped), live, then a fault */
	unsigned char a[8], b[8], c[8], d[8], f[8];
	struct mem_iov iov[] = {
		{ at(256), a, 8 },
		{ at(512), b, 8 },
		{ at(2 * psz + 40), c, 8 },
		{ at(psz), d, 8 },
		{ at(2 * psz + 100), f, 8 },
	};
	CHECK_EQ_INT(mem_readv(&m, iov, 5), 4);
	CHECK(memcmp(a, copy, 8) == 0);
	CHECK(memcmp(b, pages + 512, 8) == 0);
	CHECK(memcmp(c, copy2 + 8, 8) == 0);
	CHECK(memcmp(d, pages + psz, 8) == 0);
	CHECK_EQ_INT(mem_readv(&m, iov + 1, 1), 1);
	/* back on the process alone */
	mem_snapshot_unoverlay(&m);
	CHECK(m.snap == NULL);
	CHECK_EQ_INT(mem_read(&m, at(256), buf, 8), 0);
	CHECK(memcmp(buf, pages + 256, 8) == 0);
	CHECK_EQ_INT(mem_read(&m, at(2 * psz + 32), buf, 8), ERR_FAULT);
	mem_close(&m);
	mem_snapshot_release(&ov);
}

/* A range added whole (an object copied entire) ends reads that start in
 * it: one that runs past its end fails as past a mapping's end, where the
 * process's memory is readable (what follows the object there since may
 * be anything); one inside it is served, one that starts before it or at
 * its end goes to the process, as does one past a range not added whole. */
TEST(snapshot_overlay_whole)
{
	struct mem_source m;
	CHECK_EQ_INT(mem_open(&m, getpid(), at(0)), 0);
	unsigned char obj[40], part[32], buf[300];
	memset(obj, 0x5a, sizeof(obj));
	memset(part, 0x33, sizeof(part));
	struct mem_snapshot ov;
	mem_snapshot_init(&ov);
	CHECK_EQ_INT(mem_snapshot_add_whole(&ov, at(512), obj, sizeof(obj)), 0);
	CHECK_EQ_INT(mem_snapshot_add(&ov, at(1024), part, sizeof(part)), 0);
	CHECK_EQ_INT(mem_snapshot_add_whole(&ov, at(600), obj, 8), ERR_INVAL); /* out of order */
	mem_snapshot_overlay(&m, &ov);
	/* a long first read of the object (pystr_read_str's): refused */
	CHECK_EQ_INT(mem_read(&m, at(512), buf, 256), ERR_FAULT);
	CHECK_EQ_INT(mem_read(&m, at(540), buf, 13), ERR_FAULT);
	/* inside, up to its last byte: the copy */
	CHECK_EQ_INT(mem_read(&m, at(512), buf, 40), 0);
	CHECK(memcmp(buf, obj, 40) == 0);
	CHECK_EQ_INT(mem_read(&m, at(551), buf, 1), 0);
	CHECK(buf[0] == 0x5a);
	/* from before it, or from its end on: the process */
	CHECK_EQ_INT(mem_read(&m, at(500), buf, 20), 0);
	CHECK(memcmp(buf, pages + 500, 20) == 0);
	CHECK_EQ_INT(mem_read(&m, at(552), buf, 8), 0);
	CHECK(memcmp(buf, pages + 552, 8) == 0);
	/* past a range not added whole: the process */
	CHECK_EQ_INT(mem_read(&m, at(1024), buf, 64), 0);
	CHECK(memcmp(buf, pages + 1024, 64) == 0);
	/* readv: a piece past it stops the count there */
	unsigned char a[8], b[64], c[8];
	struct mem_iov iov[] = {
		{ at(100), a, 8 },
		{ at(520), b, 64 },
		{ at(1024), c, 8 },
	};
	CHECK_EQ_INT(mem_readv(&m, iov, 3), 1);
	CHECK(memcmp(a, pages + 100, 8) == 0);
	CHECK_EQ_INT(mem_readv(&m, iov + 2, 1), 1);
	CHECK(memcmp(c, part, 8) == 0);
	iov[1].len = 32;
	CHECK_EQ_INT(mem_readv(&m, iov, 3), 3);
	CHECK(memcmp(b, obj, 32) == 0);
	mem_snapshot_unoverlay(&m);
	CHECK_EQ_INT(mem_read(&m, at(512), buf, 256), 0); /* the process alone */
	mem_close(&m);
	/* a replay knows no process: past any range fails as before */
	struct mem_source r;
	mem_snapshot_source(&r, &ov, getpid());
	CHECK_EQ_INT(mem_read(&r, at(512), buf, 40), 0);
	CHECK_EQ_INT(mem_read(&r, at(512), buf, 41), ERR_FAULT);
	mem_close(&r);
	mem_snapshot_release(&ov);
}

int main(void)
{
	setup();
	RUN(snapshot_ranges);
	RUN(snapshot_record);
	RUN(snapshot_overlay);
	RUN(snapshot_overlay_whole);
	RUN(identity);
	RUN(all_read);
	RUN(faults);
	RUN(many);
	return harness_done();
}
