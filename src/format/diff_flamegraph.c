/* diff_flamegraph.c - the differential flamegraph (--diff-flamegraph
 * BASELINE): Tachyon's DiffFlamegraphCollector (CPython 3.15).
 *
 * The current profile is a normal flamegraph (flamegraph.c) whose nodes
 * carry how they compare with a baseline binary file:
 *
 * - Matching is by path of (file, func) pairs from the root, lines
 *   ignored; each profile's samples are summed per path (total and self)
 *   over its whole, unpruned tree.
 * - Baseline counts are scaled by baseline interval / current interval (not
 *   normalised by duration: a function that did not change stays unchanged
 *   when another one got faster).
 * - A path split over several line-specific nodes gets the baseline's self
 *   samples in proportion of the node's share of the path's self samples,
 *   and its other samples in proportion of the non-self ones (falling back
 *   to the share of totals when the path has none).
 * - baseline, baseline_total, self_time, diff = self - baseline, diff_pct
 *   (100 when only the current profile has self samples).
 * - Paths only the baseline has are "elided": stats.elided_count counts
 *   those with self samples and stats.elided_flamegraph is the baseline's
 *   flamegraph (unpruned, no source lines) cut down to them and their
 *   ancestors, values scaled, diff = -baseline self.
 *
 * The baseline must have been recorded in the same mode and with the same
 * capture features, as Tachyon requires.  Tachyon finds that out after
 * sampling, and the run is lost; run and attach check it before they start
 * (out_diff_flamegraph_check), with Tachyon's messages.
 */
#include "format/out.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/intern.h"
#include "base/json.h"
#include "model/profile.h"
#include "model/sample.h"
#include "format/binary.h"
#include "format/flamegraph.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A path of (file, func) pairs: a trie over both profiles, with the
 * strings of both interned once so that equal names match. */
struct name_pair {
	uint32_t file, func; /* ids in struct paths names */
};

struct path_sums {
	uint64_t cur_total, cur_self, base_total, base_self;
};

struct paths {
	struct strtab names;
	struct rectab pairs;      /* struct name_pair */
	struct u64map index;      /* parent path (+1) << 32 | pair -> path id */
	struct path_sums *sums;   /* by path id */
	size_t n, cap;
};

static uint32_t name_of(struct paths *ps, const struct profile *p, uint32_t id, struct u64map *memo)
{
	uint64_t *v = u64map_get(memo, id);
	if (v)
		return (uint32_t)*v;
	size_t len;
	const char *s = strtab_get(&p->strings, id, &len);
	uint32_t k = strtab_intern(&ps->names, s, len);
	u64map_put(memo, id, k);
	return k;
}

/* The (file, func) pair of a profile frame, interned in ps. */
static uint32_t pair_of_frame(struct paths *ps, const struct profile *p, uint32_t file, uint32_t func,
			      struct u64map *memo)
{
	struct name_pair np = { name_of(ps, p, file, memo), name_of(ps, p, func, memo) };
	return rectab_intern(&ps->pairs, &np, NULL);
}

/* Sum a profile's samples per path, into the current or the baseline
 * columns.  A tree node's samples are those of the trie nodes merged into
 * it, so summing over the trie gives the sums over the whole, unpruned tree
 * (Tachyon's _aggregate_path_samples) without making that tree. */
static void sum_paths(struct paths *ps, const struct profile *p, bool baseline)
{
	size_t npn = p->nodes.count;
	uint64_t *val = xcalloc(npn ? npn : 1, sizeof(*val));
	uint64_t *self = xcalloc(npn ? npn : 1, sizeof(*self));
	for (size_t e = 0; e < p->nentries; e++) {
		val[p->entries[e].node] += p->entries[e].count;
		self[p->entries[e].node] += p->entries[e].count;
	}
	for (size_t pn = npn; pn-- > 0;) {
		uint32_t par = profile_node_get(p, (uint32_t)pn)->parent;
		if (par != PROFILE_NO_NODE)
			val[par] += val[pn];
	}
	uint32_t *pid = xmalloc((npn ? npn : 1) * sizeof(*pid));
	struct u64map memo;
	u64map_init(&memo);
	for (size_t pn = 0; pn < npn; pn++) {
		const struct profile_node *nd = profile_node_get(p, (uint32_t)pn);
		const struct profile_frame *f = profile_frame_get(p, nd->frame);
		uint32_t parent = nd->parent == PROFILE_NO_NODE ? 0 : pid[nd->parent];
		uint64_t key = (uint64_t)parent << 32 | pair_of_frame(ps, p, f->file, f->func, &memo);
		uint64_t *v = u64map_get(&ps->index, key);
		uint32_t id;
		if (v) {
			id = (uint32_t)*v;
		} else {
			id = (uint32_t)ps->n++;
			VEC_RESERVE_ZERO(ps->sums, ps->cap, ps->n);
			u64map_put(&ps->index, key, id);
		}
		struct path_sums *sm = &ps->sums[id];
		if (baseline) {
			sm->base_total += val[pn];
			sm->base_self += self[pn];
		} else {
			sm->cur_total += val[pn];
			sm->cur_self += self[pn];
		}
		pid[pn] = id + 1;
	}
	u64map_release(&memo);
	free(pid);
	free(self);
	free(val);
}

/* Path id (+1) of every node of t (a tree of a profile sum_paths saw). */
static uint32_t *tree_paths(struct paths *ps, const struct fg_tree *t)
{
	uint32_t *pair_of = xmalloc((t->nkeys ? t->nkeys : 1) * sizeof(*pair_of));
	struct u64map memo;
	u64map_init(&memo);
	for (size_t k = 0; k < t->nkeys; k++)
		pair_of[k] = pair_of_frame(ps, t->p, t->keys[k].file, t->keys[k].func, &memo);
	u64map_release(&memo);
	uint32_t *pid = xmalloc((t->n ? t->n : 1) * sizeof(*pid));
	pid[0] = 0;
	for (size_t n = 1; n < t->n; n++) {
		const struct fg_tnode *nd = &t->nodes[n];
		uint64_t *v = u64map_get(&ps->index, (uint64_t)pid[nd->parent] << 32 | pair_of[nd->key]);
		/* every node's path is one of its trie nodes' paths */
		assert(v);
		pid[n] = v ? (uint32_t)*v + 1 : 0;
	}
	free(pair_of);
	return pid;
}

static double weight(double value, double aggregate, double fb_value, double fb_aggregate)
{
	if (aggregate > 0)
		return value / aggregate;
	if (fb_aggregate > 0)
		return fb_value / fb_aggregate;
	return 0;
}

/* Tachyon's _add_diff_data_to_node for every rendered node. */
static void annotate_current(struct fg_conv *c, const struct paths *ps, const uint32_t *pid,
			     double scale)
{
	const struct fg_tree *t = c->t;
	c->diff = xcalloc(t->n, sizeof(*c->diff));
	for (size_t n = 1; n < t->n; n++) {
		if (!c->kept[n])
			continue;
		const struct path_sums *s = &ps->sums[pid[n] - 1];
		double self = (double)t->nodes[n].self, total = (double)t->nodes[n].value;
		double sw = weight(self, (double)s->cur_self, total, (double)s->cur_total);
		double nw = weight(total - self, (double)(s->cur_total - s->cur_self), total,
				   (double)s->cur_total);
		double bself = (double)s->base_self * scale * sw;
		double bnonself = (double)(s->base_total - s->base_self) * scale * nw;
		struct fg_diffv *d = &c->diff[n];
		d->baseline = bself;
		d->baseline_total = bself + bnonself;
		d->self_time = self;
		d->diff = self - bself;
		d->diff_pct = bself > 0 ? d->diff / bself * 100.0 : self > 0 ? 100.0 : 0.0;
	}
}

static bool elided(const struct paths *ps, uint32_t path)
{
	const struct path_sums *s = &ps->sums[path - 1];
	return s->cur_total == 0 && s->cur_self == 0 && (s->base_total || s->base_self);
}

/* Tachyon's _extract_elided_nodes and _add_elided_metadata on the
 * baseline's full flamegraph: keep elided nodes and their ancestors, sum
 * the ancestors' values from what is kept. */
static bool cut_to_elided(struct fg_conv *b, const struct paths *ps, const uint32_t *pid, double scale)
{
	const struct fg_tree *t = b->t;
	size_t n = t->n;
	uint8_t *keep = xcalloc(n, 1);
	b->value = xmalloc(n * sizeof(uint64_t));
	b->self = xmalloc(n * sizeof(uint64_t));
	b->no_ops = xcalloc(n, 1);
	b->diff = xcalloc(n, sizeof(*b->diff));
	for (size_t i = 0; i < n; i++) {
		b->value[i] = t->nodes[i].value;
		b->self[i] = t->nodes[i].self;
	}
	/* bottom-up over rendered nodes: children have higher ids */
	uint64_t *kept_sum = xcalloc(n, sizeof(uint64_t));
	bool *has_kept_kid = xcalloc(n, sizeof(bool));
	for (size_t i = n; i-- > 1;) {
		if (!b->kept[i])
			continue;
		bool is_elided = elided(ps, pid[i]);
		if (has_kept_kid[i] && !is_elided) {
			b->value[i] = kept_sum[i];
			b->self[i] = 0;
			b->no_ops[i] = 1;
		}
		keep[i] = is_elided || has_kept_kid[i];
		if (keep[i]) {
			uint32_t par = t->nodes[i].parent;
			kept_sum[par] += b->value[i];
			has_kept_kid[par] = true;
		}
	}
	/* the root: the promoted node was handled above; Program Root has no key */
	bool any;
	if (b->promoted) {
		any = keep[b->root];
	} else {
		any = has_kept_kid[0];
		if (any) {
			b->value[0] = kept_sum[0];
			b->self[0] = 0;
			b->root_self = true;
		}
	}
	free(kept_sum);
	free(has_kept_kid);
	if (!any) {
		free(keep);
		return false;
	}
	/* drop what is not kept from the sorted children (order stays) */
	for (size_t i = 0; i < n; i++) {
		uint32_t w = 0, off = b->kid_off[i];
		for (uint32_t k = 0; k < b->kid_n[i]; k++)
			if (keep[b->kids[off + k].node])
				b->kids[off + w++] = b->kids[off + k];
		b->kid_n[i] = w;
	}
	b->root_children = b->kid_n[b->root];
	for (size_t i = 1; i < n; i++) {
		if (!keep[i])
			continue;
		struct fg_diffv *d = &b->diff[i];
		double bself = elided(ps, pid[i]) ? (double)b->self[i] * scale : 0;
		d->baseline = bself;
		d->baseline_total = (double)b->value[i] * scale;
		d->diff = -bself;
		d->self_time = 0;
		d->diff_pct = bself > 0 ? -100.0 : 0.0;
	}
	b->scale = scale;
	b->scaled = true;
	free(keep);
	return true;
}

struct base_ctx {
	struct profile *prof;
};

static int base_add(void *arg, const struct sample *s)
{
	struct base_ctx *bc = arg;
	profile_add_sample(bc->prof, s);
	return 0;
}

static const char *const feature_names[] = {
	/* BINARY_FEATURE_* bit order */
	"all_threads", "native", "gc", "opcodes", "blocking",
};

/* Tachyon's checks: same mode, same capture features (when both known). */
static int check_baseline(const struct binary_info *info, const struct out_request *req,
			  struct errmsg *e)
{
	if (info->mode >= 0 && req->mode >= 0 && info->mode != req->mode) {
		errmsg_set(e, "Baseline profiling mode does not match current mode");
		return ERR_INVAL;
	}
	if (info->features < 0 || req->features < 0)
		return 0;
	int differ = info->features ^ req->features;
	/* sorted names, as Tachyon sorts them */
	static const int sorted[] = { 0, 4, 2, 1, 3 };
	char list[256] = "";
	for (size_t i = 0; i < sizeof(sorted) / sizeof(sorted[0]); i++) {
		if (!(differ & (1 << sorted[i])))
			continue;
		if (list[0])
			strcat(list, ", ");
		strcat(list, feature_names[sorted[i]]);
	}
	if (list[0]) {
		errmsg_set(e, "Baseline capture configuration does not match current configuration: %s",
			   list);
		return ERR_INVAL;
	}
	return 0;
}

int out_diff_flamegraph_check(const char *baseline, int mode, int features, struct errmsg *e)
{
	struct stat st;
	if (!baseline || stat(baseline, &st) != 0) {
		errmsg_set(e, "Baseline file not found: %s", baseline ? baseline : "");
		return ERR_NOTFOUND;
	}
	struct binary_reader *r;
	int rc = binary_reader_open(&r, baseline, e);
	if (rc)
		return rc;
	struct out_request req = { .mode = mode, .features = features };
	rc = check_baseline(binary_reader_info(r), &req, e);
	binary_reader_close(r);
	return rc;
}

static int load_baseline(const struct out_request *req, bool skip_idle, bool detail,
			 struct profile *base, struct errmsg *e)
{
	struct stat st;
	if (!req->baseline || stat(req->baseline, &st) != 0) {
		errmsg_set(e, "Baseline file not found: %s", req->baseline ? req->baseline : "");
		return ERR_NOTFOUND;
	}
	struct binary_reader *r;
	int rc = binary_reader_open(&r, req->baseline, e);
	if (rc)
		return rc;
	const struct binary_info *info = binary_reader_info(r);
	rc = check_baseline(info, req, e);
	if (rc) {
		binary_reader_close(r);
		return rc;
	}
	profile_init(base);
	base->skip_idle = skip_idle;
	if (detail)
		profile_keep_detail(base);
	base->stats.interval_us = info->interval_us;
	base->stats.ticks = info->sample_count;
	base->stats.mode = info->mode;
	struct base_ctx bc = { base };
	rc = binary_reader_replay(r, &base->strings, base_add, NULL, &bc, e);
	binary_reader_close(r);
	if (rc)
		profile_release(base);
	return rc;
}

int out_diff_flamegraph_write(const struct profile *p, const struct out_request *req, bool *written)
{
	*written = false;
	struct errmsg scratch = { "" };
	struct errmsg *e = req->err ? req->err : &scratch;
	struct profile base;
	int rc = load_baseline(req, p->skip_idle, p->detail, &base, e);
	if (rc)
		return rc;

	/* paths are summed over the profiles; the current tree only needs what
	 * is shown, the baseline's whole tree may be (the elided view keeps
	 * every node) */
	struct paths ps = { 0 };
	strtab_init(&ps.names);
	rectab_init(&ps.pairs, sizeof(struct name_pair));
	u64map_init(&ps.index);
	sum_paths(&ps, p, false);
	sum_paths(&ps, &base, true);

	struct fg_tree cur_t, base_t;
	fg_tree_build(&cur_t, p, fg_prune_floor(p));
	fg_tree_build(&base_t, &base, 0);
	struct fg_conv c = { .t = &cur_t, .req = req, .with_source = true };
	fg_conv_run(&c);
	uint32_t *cur_pid = tree_paths(&ps, &cur_t);
	uint32_t *base_pid = tree_paths(&ps, &base_t);
	double scale = base_t.total > 0 && p->stats.interval_us
			       ? (double)base.stats.interval_us / (double)p->stats.interval_us
			       : 1.0;

	struct buf extra = BUF_INIT;
	buf_puts(&extra, ",\"baseline_samples\":");
	json_u64(&extra, base_t.total);
	buf_puts(&extra, ",\"current_samples\":");
	json_u64(&extra, cur_t.total);
	buf_puts(&extra, ",\"baseline_scale\":");
	json_double(&extra, scale);
	buf_puts(&extra, ",\"is_differential\":true");

	if (c.state == FG_TREE)
		annotate_current(&c, &ps, cur_pid, scale);

	/* elided: baseline paths the current profile does not have */
	uint64_t elided_count = 0;
	bool any_elided = false;
	for (size_t i = 0; i < ps.n; i++) {
		if (elided(&ps, (uint32_t)i + 1)) {
			any_elided = true;
			elided_count += ps.sums[i].base_self > 0;
		}
	}
	buf_puts(&extra, ",\"elided_count\":");
	json_u64(&extra, elided_count);

	struct fg_conv bc = { .t = &base_t, .req = req, .with_source = false, .min_samples = 1 };
	struct buf bstats = BUF_INIT;
	if (any_elided) {
		fg_conv_run(&bc);
		if (bc.state == FG_TREE && cut_to_elided(&bc, &ps, base_pid, scale)) {
			buf_puts(&bstats, ",\"is_differential\":true,\"baseline_samples\":");
			json_u64(&bstats, base_t.total);
			buf_puts(&bstats, ",\"current_samples\":");
			json_u64(&bstats, cur_t.total);
			bc.stats_extra = bstats.data;
			bc.stats_baseline = true;
			bc.stats_run = p;
			buf_puts(&extra, ",\"elided_flamegraph\":");
			fg_emit(&extra, &bc);
		}
	}
	c.stats_extra = extra.data;

	FILE *fp = req->stdout_fp ? req->stdout_fp : stdout;
	fg_print_summary(fp, &c);
	if (c.state == FG_TREE) {
		struct buf json = BUF_INIT;
		fg_emit(&json, &c);
		fflush(fp);
		rc = fg_write_page(req, &json, true, written);
		buf_release(&json);
	}

	buf_release(&bstats);
	buf_release(&extra);
	free(c.diff);
	free(bc.value);
	free(bc.self);
	free(bc.no_ops);
	free(bc.diff);
	fg_conv_release(&bc);
	fg_conv_release(&c);
	free(cur_pid);
	free(base_pid);
	free(ps.sums);
	u64map_release(&ps.index);
	rectab_release(&ps.pairs);
	strtab_release(&ps.names);
	fg_tree_release(&base_t);
	fg_tree_release(&cur_t);
	profile_release(&base);
	return rc;
}
