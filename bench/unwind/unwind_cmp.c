/* unwind_cmp: unwind the captures of capture.c offline with elfutils libdw
 * and with libunwind (remote address space, custom accessors), compare the
 * two pc lists and time both.  Standalone bench tool, not part of strobe.
 *
 * usage: unwind_cmp FILE [-r ROOT] [-t TRUNC_BYTES] [-p|-P] [-k ROUNDS]
 *   -r ROOT  open the mapped files as ROOT/PATH (e.g. /proc/PID/root);
 *            default: the host path
 *   -t N     use only the first N bytes of each stack copy
 *   -p       print both pc lists of every capture
 *   -P       the same, one frame a line with module+offset(symbol)
 *   -k N     timed rounds over all captures (default 3) */
#include "capfile.h"

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <libunwind.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Exported by libunwind-x86_64 1.6.2 but declared in no public header; it is
 * what libunwind-ptrace's _UPT_find_proc_info calls. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
                                              unw_dyn_info_t *di, unw_proc_info_t *pi,
                                              int need_unwind_info, void *arg);

#define MAXDEPTH 512
#define MAXMAPS 4096
#define MAXMODS 512

struct mapping {
    uint64_t start, end, offset;
    int mod;
};
struct module {
    char *path;
    uint64_t low, high;
    int fd;
    unsigned char *img; /* whole file, mmap'd (libunwind reads) */
    size_t size;
    uint64_t hdr_addr, table_addr, fde_count; /* .eh_frame_hdr at runtime */
    struct { uint64_t off, size; char name[24]; } sec[64];
    int nsec;
};

/* which sections libunwind's reads outside the stack copy land in */
static struct { char name[24]; uint64_t count; } lu_secs[32];
static int nlu_secs;

static void count_section(const struct module *m, uint64_t off)
{
    const char *name = "(no section)";
    for (int i = 0; i < m->nsec; i++)
        if (off >= m->sec[i].off && off < m->sec[i].off + m->sec[i].size) {
            name = m->sec[i].name;
            break;
        }
    int k;
    for (k = 0; k < nlu_secs; k++)
        if (!strcmp(lu_secs[k].name, name))
            break;
    if (k == nlu_secs) {
        if (nlu_secs == 32)
            return;
        snprintf(lu_secs[k].name, sizeof lu_secs[k].name, "%s", name);
        nlu_secs++;
    }
    lu_secs[k].count++;
}
struct capture {
    struct cap_rec rec;
    unsigned char *stack;
};

static struct mapping maps[MAXMAPS];
static int nmaps;
static struct module mods[MAXMODS];
static int nmods;
static struct capture *caps;
static uint32_t ncaps;
static pid_t tgid, ttid;
static const char *root = "";

/* read statistics */
struct rstats {
    uint64_t stack_reads, out_reads, file_reads, failed_reads;
    uint64_t max_off; /* farthest stack byte read, relative to rsp, this capture */
    uint64_t below_rsp; /* reads under rsp (served when the copy starts lower) */
    uint64_t first_out[8], first_rsp[8];
    int nfirst_out;
};
static struct rstats dw_st, lu_st;
static const struct capture *cur;
static uint32_t trunc_len = UINT32_MAX;

/* CPU time of this thread: the machine is shared, wall time counts the
 * other tenants' work too */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t cap_len(const struct capture *c)
{
    return c->rec.len < trunc_len ? c->rec.len : trunc_len;
}

static bool symbolic;

static bool stack_read(const struct capture *c, uint64_t addr, uint64_t *out, struct rstats *st)
{
    uint64_t base = c->rec.stack_addr, len = cap_len(c);
    if (addr >= base && addr - base <= len && len - (addr - base) >= 8) {
        memcpy(out, c->stack + (addr - base), 8);
        st->stack_reads++;
        if (addr < c->rec.regs.rsp)
            st->below_rsp++;
        else if (addr - c->rec.regs.rsp + 8 > st->max_off)
            st->max_off = addr - c->rec.regs.rsp + 8;
        return true;
    }
    return false;
}

static void note_out(struct rstats *st, uint64_t addr, uint64_t rsp)
{
    st->out_reads++;
    if (st->nfirst_out < 8) {
        st->first_rsp[st->nfirst_out] = rsp;
        st->first_out[st->nfirst_out++] = addr;
    }
}

static int mapping_for(uint64_t addr)
{
    for (int i = 0; i < nmaps; i++)
        if (addr >= maps[i].start && addr < maps[i].end)
            return i;
    return -1;
}

static Dwfl *sym_dwfl; /* for names in the diagnostics */

static const char *where(uint64_t addr, char *buf, size_t n);

static const char *where_rsp(uint64_t addr, uint64_t rsp, char *buf, size_t n)
{
    int64_t d = (int64_t)(addr - rsp);
    if (d > -(1 << 20) && d < (1 << 20)) {
        snprintf(buf, n, "rsp%+ld", (long)d);
        return buf;
    }
    return where(addr, buf, n);
}

static const char *where(uint64_t addr, char *buf, size_t n)
{
    int m = mapping_for(addr);
    const char *name = NULL;
    if (sym_dwfl && m >= 0) {
        Dwfl_Module *mod = dwfl_addrmodule(sym_dwfl, addr ? addr - 1 : 0);
        if (mod)
            name = dwfl_module_addrname(mod, addr ? addr - 1 : 0);
    }
    if (m < 0) {
        snprintf(buf, n, "%#lx(unmapped/anon)", (unsigned long)addr);
        return buf;
    }
    const char *p = strrchr(mods[maps[m].mod].path, '/');
    snprintf(buf, n, "%s+%#lx(%s)", p ? p + 1 : mods[maps[m].mod].path,
             (unsigned long)(addr - maps[m].start + maps[m].offset), name ? name : "?");
    return buf;
}

/* ------------------------------------------------------------------ load */

static void parse_maps(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        char line[4096];
        size_t l = (size_t)(nl - p) < sizeof line - 1 ? (size_t)(nl - p) : sizeof line - 1;
        memcpy(line, p, l);
        line[l] = 0;
        p = nl + 1;
        unsigned long s, e, off;
        char perms[8];
        int pathpos = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &s, &e, perms, &off, &pathpos) < 4 || !pathpos)
            continue;
        const char *path = line + pathpos;
        if (path[0] != '/' || strstr(path, " (deleted)"))
            continue;
        int mi;
        for (mi = 0; mi < nmods; mi++)
            if (!strcmp(mods[mi].path, path))
                break;
        if (mi == nmods) {
            if (nmods == MAXMODS)
                continue;
            mods[nmods].path = strdup(path);
            mods[nmods].low = s;
            mods[nmods].high = e;
            mods[nmods].fd = -1;
            nmods++;
        }
        if (s < mods[mi].low)
            mods[mi].low = s;
        if (e > mods[mi].high)
            mods[mi].high = e;
        if (nmaps < MAXMAPS)
            maps[nmaps++] = (struct mapping){s, e, off, mi};
    }
}

static void load(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        perror(file);
        exit(1);
    }
    struct cap_hdr h;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, CAP_MAGIC, 8)) {
        fprintf(stderr, "%s: not a capture file\n", file);
        exit(1);
    }
    tgid = h.pid;
    ttid = h.tid;
    char *mtext = malloc(h.maps_len + 1);
    if (fread(mtext, 1, h.maps_len, f) != h.maps_len)
        exit(1);
    parse_maps(mtext, h.maps_len);
    free(mtext);
    ncaps = h.ncap;
    caps = calloc(ncaps, sizeof *caps);
    for (uint32_t i = 0; i < ncaps; i++) {
        if (fread(&caps[i].rec, sizeof caps[i].rec, 1, f) != 1)
            exit(1);
        caps[i].stack = malloc(caps[i].rec.len + 1);
        if (fread(caps[i].stack, 1, caps[i].rec.len, f) != caps[i].rec.len)
            exit(1);
    }
    fclose(f);
}

static int open_module(struct module *m)
{
    if (m->fd >= 0)
        return m->fd;
    char path[4200];
    snprintf(path, sizeof path, "%s%s", root, m->path);
    m->fd = open(path, O_RDONLY | O_CLOEXEC);
    return m->fd;
}

/* --------------------------------------------------------------- libdw */

static int dw_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
                       Dwarf_Addr base, char **file_name, Elf **elfp)
{
    (void)mod, (void)userdata, (void)base;
    for (int i = 0; i < nmods; i++) {
        if (strcmp(mods[i].path, modname))
            continue;
        if (open_module(&mods[i]) < 0)
            return -1;
        int fd = dup(mods[i].fd); /* libdw closes what it is handed */
        *elfp = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!*elfp) {
            close(fd);
            return -1;
        }
        *file_name = strdup(mods[i].path);
        return fd;
    }
    return -1;
}

static int dw_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                             Dwarf_Addr base, const char *file_name,
                             const char *debuglink_file, GElf_Word debuglink_crc,
                             char **debuginfo_file_name)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
    return -1; /* .eh_frame only: no separate debug files */
}

static char *dw_debuginfo_path;
static const Dwfl_Callbacks dw_callbacks = {
    .find_elf = dw_find_elf,
    .find_debuginfo = dw_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &dw_debuginfo_path,
};

static pid_t dw_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
    (void)dwfl, (void)arg;
    if (*thread_argp)
        return 0;
    *thread_argp = (void *)cur;
    return ttid;
}

static bool dw_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
    (void)dwfl, (void)arg;
    if (tid != ttid)
        return false;
    *thread_argp = (void *)cur;
    return true;
}

static bool dw_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
    (void)dwfl, (void)arg;
    uint64_t v;
    if (stack_read(cur, addr, &v, &dw_st)) {
        *result = v;
        return true;
    }
    note_out(&dw_st, addr, cur->rec.regs.rsp);
    dw_st.failed_reads++;
    if (symbolic)
        printf("  (libdw read outside the copy of #%ld: %#lx, rsp %#lx, copy %u bytes)\n", (long)(cur - caps),
               (unsigned long)addr, (unsigned long)cur->rec.stack_addr, cap_len(cur));
    return false;
}

static bool dw_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
    (void)arg;
    const struct user_regs_struct *r = &cur->rec.regs;
    Dwarf_Word regs[17] = {r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi,
                           r->rbp, r->rsp, r->r8,  r->r9,  r->r10, r->r11,
                           r->r12, r->r13, r->r14, r->r15, r->rip};
    if (!dwfl_thread_state_registers(thread, 0, 17, regs))
        return false;
    dwfl_thread_state_register_pc(thread, r->rip);
    return true;
}

static const Dwfl_Thread_Callbacks dw_thread_callbacks = {
    .next_thread = dw_next_thread,
    .get_thread = dw_get_thread,
    .memory_read = dw_memory_read,
    .set_initial_registers = dw_set_initial_registers,
};

struct trace {
    uint64_t pc[MAXDEPTH];
    int n;
    int rc;          /* 0: clean end of stack; <0: error; 1: depth cap */
    char err[96];
};

static int dw_frame_cb(Dwfl_Frame *state, void *arg)
{
    struct trace *t = arg;
    Dwarf_Addr pc;
    bool act;
    if (!dwfl_frame_pc(state, &pc, &act))
        return DWARF_CB_ABORT;
    t->pc[t->n++] = pc;
    return t->n == MAXDEPTH ? DWARF_CB_ABORT : DWARF_CB_OK;
}

static Dwfl *dw_new(void)
{
    Dwfl *d = dwfl_begin(&dw_callbacks);
    dwfl_report_begin(d);
    for (int i = 0; i < nmods; i++)
        if (!dwfl_report_module(d, mods[i].path, mods[i].low, mods[i].high))
            fprintf(stderr, "report %s: %s\n", mods[i].path, dwfl_errmsg(-1));
    dwfl_report_end(d, NULL, NULL);
    if (!dwfl_attach_state(d, NULL, tgid, &dw_thread_callbacks, NULL)) {
        fprintf(stderr, "dwfl_attach_state: %s\n", dwfl_errmsg(-1));
        exit(1);
    }
    return d;
}

static void dw_unwind(Dwfl *d, const struct capture *c, struct trace *t)
{
    cur = c;
    t->n = 0;
    t->err[0] = 0;
    int r = dwfl_getthread_frames(d, ttid, dw_frame_cb, t);
    if (r == 0)
        t->rc = 0;
    else if (t->n == MAXDEPTH)
        t->rc = 1;
    else {
        t->rc = -1;
        snprintf(t->err, sizeof t->err, "%s", dwfl_errmsg(-1));
    }
}

/* ----------------------------------------------------------- libunwind */

static int lu_prepare_module(struct module *m)
{
    if (m->img)
        return 0;
    if (open_module(m) < 0)
        return -1;
    struct stat sb;
    if (fstat(m->fd, &sb) != 0 || sb.st_size < 64)
        return -1;
    m->size = (size_t)sb.st_size;
    m->img = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, m->fd, 0);
    if (m->img == MAP_FAILED) {
        m->img = NULL;
        return -1;
    }
    Elf *e = elf_memory((char *)m->img, m->size);
    size_t nph = 0;
    if (!e || elf_getphdrnum(e, &nph) != 0)
        goto out;
    uint64_t first_load = UINT64_MAX, hdr_vaddr = 0, hdr_off = 0, hdr_sz = 0;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph))
            continue;
        if (ph.p_type == PT_LOAD && first_load == UINT64_MAX)
            first_load = ph.p_vaddr & ~(ph.p_align ? ph.p_align - 1 : 0);
        if (ph.p_type == PT_GNU_EH_FRAME) {
            hdr_vaddr = ph.p_vaddr;
            hdr_off = ph.p_offset;
            hdr_sz = ph.p_filesz;
        }
    }
    size_t shstrndx;
    if (elf_getshdrstrndx(e, &shstrndx) == 0) {
        for (Elf_Scn *scn = elf_nextscn(e, NULL); scn && m->nsec < 64; scn = elf_nextscn(e, scn)) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !(sh.sh_flags & SHF_ALLOC))
                continue;
            const char *nm = elf_strptr(e, shstrndx, sh.sh_name);
            m->sec[m->nsec].off = sh.sh_offset;
            m->sec[m->nsec].size = sh.sh_size;
            snprintf(m->sec[m->nsec].name, sizeof m->sec[m->nsec].name, "%s", nm ? nm : "?");
            m->nsec++;
        }
    }
    if (first_load == UINT64_MAX || !hdr_sz || hdr_off + hdr_sz > m->size || hdr_sz < 12)
        goto out;
    const unsigned char *h = m->img + hdr_off;
    /* version 1; eh_frame_ptr pcrel|sdata4; fde_count udata4; table datarel|sdata4 */
    if (h[0] != 1 || h[1] != 0x1b || h[2] != 0x03 || h[3] != 0x3b) {
        fprintf(stderr, "%s: unsupported .eh_frame_hdr encoding %02x %02x %02x\n",
                m->path, h[1], h[2], h[3]);
        goto out;
    }
    uint32_t cnt;
    memcpy(&cnt, h + 8, 4);
    uint64_t bias = m->low - first_load;
    m->hdr_addr = hdr_vaddr + bias;
    m->table_addr = m->hdr_addr + 12;
    m->fde_count = cnt;
out:
    if (e)
        elf_end(e);
    return 0;
}

static int lu_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val,
                         int write, void *arg)
{
    (void)as;
    const struct capture *c = arg;
    if (write)
        return -UNW_EREADONLYREG;
    uint64_t v;
    if (stack_read(c, addr, &v, &lu_st)) {
        *val = v;
        return 0;
    }
    int mi = mapping_for(addr);
    if (mi >= 0) {
        struct module *m = &mods[maps[mi].mod];
        uint64_t off = addr - maps[mi].start + maps[mi].offset;
        if (m->img && off + 8 <= m->size && addr + 8 <= maps[mi].end) {
            memcpy(val, m->img + off, 8);
            lu_st.out_reads++;
            lu_st.file_reads++;
            count_section(m, off);
            return 0;
        }
    }
    note_out(&lu_st, addr, c->rec.regs.rsp); /* only the failed ones are listed */
    lu_st.failed_reads++;
    return -UNW_EINVAL;
}

static int lu_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val,
                         int write, void *arg)
{
    (void)as;
    const struct capture *c = arg;
    const struct user_regs_struct *r = &c->rec.regs;
    if (write)
        return -UNW_EREADONLYREG;
    switch (reg) {
    case UNW_X86_64_RAX: *val = r->rax; break;
    case UNW_X86_64_RDX: *val = r->rdx; break;
    case UNW_X86_64_RCX: *val = r->rcx; break;
    case UNW_X86_64_RBX: *val = r->rbx; break;
    case UNW_X86_64_RSI: *val = r->rsi; break;
    case UNW_X86_64_RDI: *val = r->rdi; break;
    case UNW_X86_64_RBP: *val = r->rbp; break;
    case UNW_X86_64_RSP: *val = r->rsp; break;
    case UNW_X86_64_R8: *val = r->r8; break;
    case UNW_X86_64_R9: *val = r->r9; break;
    case UNW_X86_64_R10: *val = r->r10; break;
    case UNW_X86_64_R11: *val = r->r11; break;
    case UNW_X86_64_R12: *val = r->r12; break;
    case UNW_X86_64_R13: *val = r->r13; break;
    case UNW_X86_64_R14: *val = r->r14; break;
    case UNW_X86_64_R15: *val = r->r15; break;
    case UNW_X86_64_RIP: *val = r->rip; break;
    default: return -UNW_EBADREG;
    }
    return 0;
}

static int lu_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val,
                           int write, void *arg)
{
    (void)as, (void)reg, (void)val, (void)write, (void)arg;
    return -UNW_EBADREG;
}

static int lu_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
                             int need_unwind_info, void *arg)
{
    int mi = mapping_for(ip);
    if (mi < 0)
        return -UNW_ENOINFO;
    struct module *m = &mods[maps[mi].mod];
    if (lu_prepare_module(m) != 0 || !m->fde_count)
        return -UNW_ENOINFO;
    unw_dyn_info_t di;
    memset(&di, 0, sizeof di);
    di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
    di.start_ip = m->low;
    di.end_ip = m->high;
    di.u.rti.segbase = m->hdr_addr;
    di.u.rti.table_data = m->table_addr;
    di.u.rti.table_len = m->fde_count * 8 / sizeof(unw_word_t);
    return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

static void lu_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
    (void)as, (void)pi, (void)arg; /* table-format info is freed by libunwind */
}

static int lu_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
    (void)as, (void)addr, (void)arg;
    return -UNW_ENOINFO;
}

static int lu_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
    (void)as, (void)c, (void)arg;
    return -UNW_EINVAL;
}

static int lu_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
                            unw_word_t *off, void *arg)
{
    (void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
    return -UNW_ENOINFO;
}

static unw_accessors_t lu_accessors = {
    .find_proc_info = lu_find_proc_info,
    .put_unwind_info = lu_put_unwind_info,
    .get_dyn_info_list_addr = lu_get_dyn_info_list_addr,
    .access_mem = lu_access_mem,
    .access_reg = lu_access_reg,
    .access_fpreg = lu_access_fpreg,
    .resume = lu_resume,
    .get_proc_name = lu_get_proc_name,
};

static void lu_unwind(unw_addr_space_t as, const struct capture *c, struct trace *t)
{
    unw_cursor_t cu;
    t->n = 0;
    t->err[0] = 0;
    int r = unw_init_remote(&cu, as, (void *)c);
    if (r < 0) {
        t->rc = -1;
        snprintf(t->err, sizeof t->err, "unw_init_remote: %s", unw_strerror(r));
        return;
    }
    for (;;) {
        unw_word_t ip;
        unw_get_reg(&cu, UNW_REG_IP, &ip);
        t->pc[t->n++] = ip;
        if (t->n == MAXDEPTH) {
            t->rc = 1;
            return;
        }
        r = unw_step(&cu);
        if (r == 0) {
            t->rc = 0;
            return;
        }
        if (r < 0) {
            t->rc = -1;
            snprintf(t->err, sizeof t->err, "unw_step: %s", unw_strerror(r));
            return;
        }
    }
}

/* ---------------------------------------------------------------- main */

static void pr_trace(const char *tag, uint32_t i, const struct trace *t)
{
    if (symbolic) {
        char b[512];
        printf("%s %u rc=%d n=%d%s%s\n", tag, i, t->rc, t->n, t->err[0] ? " err=" : "", t->err);
        for (int k = 0; k < t->n; k++)
            printf("    #%d %lx %s\n", k, (unsigned long)t->pc[k], where(t->pc[k], b, sizeof b));
        return;
    }
    printf("%s %u rc=%d n=%d%s%s:", tag, i, t->rc, t->n, t->err[0] ? " err=" : "", t->err);
    for (int k = 0; k < t->n; k++)
        printf(" %lx", (unsigned long)t->pc[k]);
    printf("\n");
}

static void pr_times(const char *what, uint64_t *ns, uint32_t n)
{
    qsort(ns, n, sizeof *ns, cmp_u64);
    printf("  %-34s median %8.1f us  p99 %8.1f us\n", what, ns[n / 2] / 1e3,
           ns[(n * 99) / 100] / 1e3);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: unwind_cmp FILE [-r ROOT] [-t N] [-p|-P] [-k ROUNDS]\n");
        return 2;
    }
    bool print = false;
    int rounds = 3;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc)
            root = argv[++i];
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            trunc_len = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "-p"))
            print = true;
        else if (!strcmp(argv[i], "-P"))
            print = symbolic = true;
        else if (!strcmp(argv[i], "-k") && i + 1 < argc)
            rounds = atoi(argv[++i]);
    }
    elf_version(EV_CURRENT);
    load(argv[1]);
    if (!ncaps) {
        fprintf(stderr, "no captures\n");
        return 1;
    }
    printf("%s: %u captures, %d modules, pid %d tid %d%s\n", argv[1], ncaps, nmods,
           tgid, ttid, trunc_len != UINT32_MAX ? " (copies truncated)" : "");
    if (trunc_len != UINT32_MAX)
        printf("  truncated to %u bytes\n", trunc_len);

    struct trace *dw = calloc(ncaps, sizeof *dw), *lu = calloc(ncaps, sizeof *lu);
    uint64_t *dw_ns = calloc((size_t)ncaps * rounds, 8), *lu_ns = calloc((size_t)ncaps * rounds, 8);
    uint64_t *fresh_ns = calloc(ncaps, 8), *max_off = calloc(ncaps, 8);

    /* libdw: one Dwfl, attach_state once, reused for every capture */
    uint64_t t0 = now_ns();
    Dwfl *d = dw_new();
    uint64_t dw_setup = now_ns() - t0;
    sym_dwfl = d;
    t0 = now_ns();
    dw_st.max_off = 0;
    dw_unwind(d, &caps[0], &dw[0]);
    uint64_t dw_first = now_ns() - t0;
    struct rstats dw_keep;
    /* libunwind: one address space, global cache */
    t0 = now_ns();
    unw_addr_space_t as = unw_create_addr_space(&lu_accessors, 0);
    unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
    for (int i = 0; i < nmods; i++)
        lu_prepare_module(&mods[i]);
    uint64_t lu_setup = now_ns() - t0;
    t0 = now_ns();
    lu_unwind(as, &caps[0], &lu[0]);
    uint64_t lu_first = now_ns() - t0;
    /* timed rounds: a pass over all captures with libdw, then one with
     * libunwind, alternating round by round so that both see the same load
     * on a shared machine (one unwinder per pass: each keeps its caches
     * warm, as it would in strobe) */
    for (int r = 0; r < rounds; r++) {
        for (uint32_t i = 0; i < ncaps; i++) {
            dw_st.max_off = 0;
            t0 = now_ns();
            dw_unwind(d, &caps[i], &dw[i]);
            dw_ns[(size_t)r * ncaps + i] = now_ns() - t0;
            max_off[i] = dw_st.max_off;
        }
        for (uint32_t i = 0; i < ncaps; i++) {
            t0 = now_ns();
            lu_unwind(as, &caps[i], &lu[i]);
            lu_ns[(size_t)r * ncaps + i] = now_ns() - t0;
        }
    }
    dw_keep = dw_st;
    /* libdw, fresh Dwfl per capture (no reuse), on the first 50 */
    uint32_t nfresh = ncaps < 50 ? ncaps : 50, fresh_same = 0;
    for (uint32_t i = 0; i < nfresh; i++) {
        static struct trace tmp;
        t0 = now_ns();
        Dwfl *d2 = dw_new();
        dw_unwind(d2, &caps[i], &tmp);
        dwfl_end(d2);
        fresh_ns[i] = now_ns() - t0;
        fresh_same += tmp.n == dw[i].n && !memcmp(tmp.pc, dw[i].pc, sizeof tmp.pc[0] * (size_t)tmp.n);
    }

    /* compare */
    uint32_t agree = 0, prefix = 0, dw_err = 0, lu_err = 0, shown = 0;
    uint64_t dw_depth = 0, lu_depth = 0;
    for (uint32_t i = 0; i < ncaps; i++) {
        dw_depth += (uint64_t)dw[i].n;
        lu_depth += (uint64_t)lu[i].n;
        dw_err += dw[i].rc < 0;
        lu_err += lu[i].rc < 0;
        int m = dw[i].n < lu[i].n ? dw[i].n : lu[i].n, k = 0;
        while (k < m && dw[i].pc[k] == lu[i].pc[k])
            k++;
        if (k == m && dw[i].n == lu[i].n) {
            agree++;
        } else {
            if (k == m)
                prefix++;
            if (shown < 6) {
                shown++;
                char b1[512], b2[512];
                printf("  differ #%u at frame %d of dw %d/lu %d: dw %s | lu %s  [dw rc %d %s | lu rc %d %s]\n",
                       i, k, dw[i].n, lu[i].n,
                       k < dw[i].n ? where(dw[i].pc[k], b1, sizeof b1) : "(end)",
                       k < lu[i].n ? where(lu[i].pc[k], b2, sizeof b2) : "(end)",
                       dw[i].rc, dw[i].err, lu[i].rc, lu[i].err);
            }
        }
        if (print) {
            pr_trace("DW", i, &dw[i]);
            pr_trace("LU", i, &lu[i]);
        }
    }
    qsort(max_off, ncaps, 8, cmp_u64);
    printf("  agree %u/%u (%.1f%%), one a prefix of the other %u\n", agree, ncaps,
           100.0 * agree / ncaps, prefix);
    printf("  libdw     mean depth %.1f  errors %u  setup %.3f ms  first unwind %.1f us\n",
           (double)dw_depth / ncaps, dw_err, dw_setup / 1e6, dw_first / 1e3);
    printf("  libunwind mean depth %.1f  errors %u  setup %.3f ms  first unwind %.1f us\n",
           (double)lu_depth / ncaps, lu_err, lu_setup / 1e6, lu_first / 1e3);
    printf("  (times are thread CPU time)\n");
    pr_times("libdw (one Dwfl reused)", dw_ns, ncaps * (uint32_t)rounds);
    pr_times("libdw (fresh Dwfl per unwind)", fresh_ns, nfresh);
    printf("  libdw fresh Dwfl gives the same pcs as the reused one: %u/%u\n", fresh_same, nfresh);
    pr_times("libunwind (UNW_CACHE_GLOBAL)", lu_ns, ncaps * (uint32_t)rounds);
    printf("  libdw stack bytes read (from rsp): median %lu max %lu\n",
           (unsigned long)max_off[ncaps / 2], (unsigned long)max_off[ncaps - 1]);
    char b[512];
    printf("  libdw reads: stack %lu (under rsp %lu), outside the copy %lu (all failed)",
           (unsigned long)dw_keep.stack_reads, (unsigned long)dw_keep.below_rsp,
           (unsigned long)dw_keep.out_reads);
    for (int k = 0; k < dw_keep.nfirst_out; k++)
        printf("%s%s", k ? ", " : ": ", where_rsp(dw_keep.first_out[k], dw_keep.first_rsp[k], b, sizeof b));
    printf("\n  libunwind reads: stack %lu (under rsp %lu), outside the copy %lu (from files %lu, failed %lu)",
           (unsigned long)lu_st.stack_reads, (unsigned long)lu_st.below_rsp,
           (unsigned long)lu_st.out_reads,
           (unsigned long)lu_st.file_reads, (unsigned long)lu_st.failed_reads);
    for (int k = 0; k < lu_st.nfirst_out; k++)
        printf("%s%s", k ? ", " : "; failed: ", where_rsp(lu_st.first_out[k], lu_st.first_rsp[k], b, sizeof b));
    printf("\n  libunwind reads from files by section:");
    for (int k = 0; k < nlu_secs; k++)
        printf(" %s %lu", lu_secs[k].name, (unsigned long)lu_secs[k].count);
    printf("\n");
    if (dw_err)
        for (uint32_t i = 0; i < ncaps; i++)
            if (dw[i].rc < 0) {
                printf("  libdw error example: %s (depth %d)\n", dw[i].err, dw[i].n);
                break;
            }
    if (lu_err)
        for (uint32_t i = 0; i < ncaps; i++)
            if (lu[i].rc < 0) {
                printf("  libunwind error example: %s (depth %d)\n", lu[i].err, lu[i].n);
                break;
            }
    unw_destroy_addr_space(as);
    dwfl_end(d);
    return 0;
}
