/* sb-monitor - judge each deployment under monitoring by its metrics: keep, rollback, hold or pending */
#include "config.h"
#include "deployment.h"
#include "err.h"
#include "filter.h"
#include "opts.h"
#include "output.h"
#include "record.h"
#include "selfmetrics.h"
#include "stats.h"
#include "strbuf.h"
#include "strmap.h"
#include "timefmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_THRESHOLD = 1000, OPT_ALPHA, OPT_TEST, OPT_MIN_SAMPLES, OPT_MAX_SPREAD_RATIO, OPT_ON_DEGRADE,
	OPT_DEPLOYMENT, OPT_DRY_RUN,
};

static const struct sb_option options[] = {
	{"threshold", 0, "PCT", "a metric degrades when its mean is PCT percent worse (default 10)", OPT_THRESHOLD,
	 "SB_MONITOR_THRESHOLD", "monitor.threshold"},
	{"alpha", 0, "P", "significance level of the tests, 0 < P < 1 (default 0.05)", OPT_ALPHA,
	 "SB_MONITOR_ALPHA", "monitor.alpha"},
	{"test", 0, "TEST", "mann-whitney (default), or none: the thresholds alone decide", OPT_TEST,
	 "SB_MONITOR_TEST", "monitor.test"},
	{"min-samples", 0, "N", "values needed on each side to judge a metric (default 10)", OPT_MIN_SAMPLES,
	 "SB_MONITOR_MIN_SAMPLES", "monitor.min_samples"},
	{"max-spread-ratio", 0, "R", "a metric degrades when its IQR grows more than R times, R > 1 (default 2)",
	 OPT_MAX_SPREAD_RATIO, "SB_MONITOR_MAX_SPREAD_RATIO", "monitor.max_spread_ratio"},
	{"on-degrade", 0, "ACTION", "rollback (recommend one) or hold (for a person to decide); overrides each component's on_degrade",
	 OPT_ON_DEGRADE, NULL, NULL},
	{"deployment", 0, "ID", "judge only deployment ID (repeatable)", OPT_DEPLOYMENT, NULL, NULL},
	{"dry-run", 'n', NULL, "write nothing to the deployment journal or the audit log", OPT_DRY_RUN, NULL, NULL},
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static const char *const tests[] = {"mann-whitney", "none", NULL};
enum { TEST_MANN_WHITNEY, TEST_NONE };
static const char *const actions[] = {"rollback", "hold", NULL};
enum { ACT_ROLLBACK, ACT_HOLD };

struct settings {
	double threshold, alpha, max_spread_ratio;
	int test;
	long min_samples;
	int on_degrade; /* -1: the component's, else rollback */
	const char **only; /* --deployment ids */
	size_t nonly;
	int dry_run;
};

enum { BASE, CUR };

struct series {
	double *v;
	size_t n, cap;
};

struct deployment;

/* One metric of one deployment and the values of its two windows. */
struct watch {
	struct deployment *dep;
	char *metric, *unit;
	int higher; /* higher values are better */
	struct series s[2];
};

struct deployment {
	char *id, *component, *tenant, *change, *until_text;
	double base_from, base_to, cur_from, cur_to, until;
	int on_degrade;
	struct watch *watches;
	size_t nwatches;
};

/* The watches on one metric name, whatever their deployment. */
struct watch_list {
	struct watch **w;
	size_t n, cap;
};

struct monitor {
	struct settings *set;
	const struct sb_common *common;
	double now;
	struct deployment **deps;
	size_t ndeps, capdeps;
	sb_strmap *by_metric; /* metric name -> struct watch_list */
	struct watch_list **lists;
	size_t nlists, caplists;
	long taken;       /* values kept */
};

static int set_option(void *ctx, int id, const char *arg)
{
	struct settings *s = ctx;

	switch (id) {
	case OPT_THRESHOLD:
		return sb_opt_double("threshold", arg, 0, &s->threshold);
	case OPT_ALPHA:
		if (sb_opt_double("alpha", arg, 0, &s->alpha) < 0 || s->alpha <= 0 || s->alpha >= 1)
			return sb_error("--alpha: '%s' is not a probability between 0 and 1 (exclusive)", arg);
		return 0;
	case OPT_TEST:
		return (s->test = sb_opt_choice("test", arg, tests)) < 0 ? -1 : 0;
	case OPT_MIN_SAMPLES:
		return sb_opt_long("min-samples", arg, 2, 1000000000L, &s->min_samples);
	case OPT_MAX_SPREAD_RATIO:
		if (sb_opt_double("max-spread-ratio", arg, 1, &s->max_spread_ratio) < 0 || s->max_spread_ratio <= 1)
			return sb_error("--max-spread-ratio: '%s' is not a number greater than 1", arg);
		return 0;
	case OPT_ON_DEGRADE:
		return (s->on_degrade = sb_opt_choice("on-degrade", arg, actions)) < 0 ? -1 : 0;
	case OPT_DEPLOYMENT:
		s->only = sb_realloc(s->only, (s->nonly + 1) * sizeof *s->only);
		s->only[s->nonly++] = arg;
		return 0;
	case OPT_DRY_RUN:
		s->dry_run = 1;
		sb_selfmetrics_disable();
		return 0;
	}
	return -1;
}

/* ---- which deployments are under monitoring ---- */

static int chosen(const struct settings *s, const char *id)
{
	if (s->nonly == 0)
		return 1;
	for (size_t i = 0; i < s->nonly; i++)
		if (strcmp(s->only[i], id) == 0)
			return 1;
	return 0;
}

static int field_is(jv rec, const char *key, const char *value)
{
	char *v = sb_rec_string(rec, key);
	int yes = v && strcmp(v, value) == 0;

	free(v);
	return yes;
}

/* Deployed, done, and no final verdict yet; else why not, for --deployment's warning. */
static const char *not_monitored(jv d)
{
	if (field_is(d, "verdict", "keep") || field_is(d, "verdict", "hold"))
		return "it already has a final verdict";
	if (!field_is(d, "status", "deployed"))
		return "its status is not deployed";
	if (sb_deployment_unfinished(d))
		return "it is being changed (its journal entry is unfinished)";
	return NULL;
}

static struct watch_list *list_for(struct monitor *m, const char *metric)
{
	size_t len = strlen(metric);
	struct watch_list *l = sb_strmap_get(m->by_metric, metric, len);

	if (!l) {
		l = sb_calloc(1, sizeof *l);
		sb_strmap_put(m->by_metric, metric, len, l);
		if (m->nlists == m->caplists)
			m->lists = sb_realloc(m->lists, (m->caplists = m->caplists ? m->caplists * 2 : 16) *
								 sizeof *m->lists);
		m->lists[m->nlists++] = l;
	}
	return l;
}

/* The component's metrics as watches; a direction other than lower or higher is a configuration error. */
static void add_watches(struct monitor *m, struct deployment *d, jv metrics)
{
	int n = jv_get_kind(metrics) == JV_KIND_OBJECT ? jv_object_length(jv_copy(metrics)) : 0;
	size_t k = 0;

	if (jv_get_kind(metrics) != JV_KIND_OBJECT && jv_get_kind(metrics) != JV_KIND_NULL)
		sb_die(SB_EXIT_USAGE, "components.%s.metrics: not an object of metric names", d->component);
	d->watches = sb_calloc((size_t)(n > 0 ? n : 1), sizeof *d->watches);
	if (n == 0)
		return;
	jv_object_foreach(metrics, name, dir)
	{
		const char *dirtext = jv_get_kind(dir) == JV_KIND_STRING ? jv_string_value(dir) : "";
		int higher = strcmp(dirtext, "higher") == 0;
		if (!higher && strcmp(dirtext, "lower") != 0)
			sb_die(SB_EXIT_USAGE, "components.%s.metrics.%s: direction must be \"lower\" or \"higher\"",
			       d->component, jv_string_value(name));
		struct watch *w = &d->watches[k++];
		w->dep = d;
		w->metric = sb_strdup(jv_string_value(name));
		w->higher = higher;
		struct watch_list *l = list_for(m, w->metric);
		if (l->n == l->cap)
			l->w = sb_realloc(l->w, (l->cap = l->cap ? l->cap * 2 : 4) * sizeof *l->w);
		l->w[l->n++] = w;
		jv_free(name);
		jv_free(dir);
	}
	d->nwatches = k;
}

static int component_action(jv comp, const char *component)
{
	jv a = sb_rec_get(comp, "on_degrade");
	int act = ACT_ROLLBACK;

	if (jv_get_kind(a) == JV_KIND_STRING && strcmp(jv_string_value(a), "hold") == 0)
		act = ACT_HOLD;
	else if (jv_get_kind(a) != JV_KIND_NULL &&
		 !(jv_get_kind(a) == JV_KIND_STRING && strcmp(jv_string_value(a), "rollback") == 0))
		sb_die(SB_EXIT_USAGE, "components.%s.on_degrade: must be \"rollback\" or \"hold\"", component);
	jv_free(a);
	return act;
}

/* Add d (borrowed) when it has what judging needs; warn and skip it otherwise. */
static void add_deployment(struct monitor *m, jv d, jv components)
{
	struct deployment dep = {0};
	double started, finished, until, period;

	dep.id = sb_rec_string(d, "deployment");
	dep.component = sb_rec_string(d, "component");
	if (!dep.component || !*dep.component || !sb_rec_time(d, "started", &started) ||
	    !sb_rec_time(d, "finished", &finished) || !sb_rec_time(d, "monitor_until", &until) ||
	    (period = until - finished) <= 0) {
		sb_warn("deployment %s: the journal lacks its component, started, finished or a monitor_until "
			"after finished; not judged", dep.id);
		free(dep.id);
		free(dep.component);
		return;
	}
	dep.tenant = sb_rec_string(d, "tenant");
	dep.change = sb_rec_string(d, "change");
	dep.until_text = sb_rec_string(d, "monitor_until");
	dep.until = until;
	dep.base_from = started - period;
	dep.base_to = started;
	dep.cur_from = finished;
	dep.cur_to = fmin(m->now, until);

	jv comp = jv_get_kind(components) == JV_KIND_OBJECT ? sb_rec_get(components, dep.component) : jv_null();
	jv metrics = sb_rec_get(comp, "metrics");
	dep.on_degrade = m->set->on_degrade >= 0 ? m->set->on_degrade : component_action(comp, dep.component);
	struct deployment *dp = sb_malloc(sizeof *dp);
	*dp = dep;
	if (m->ndeps == m->capdeps)
		m->deps = sb_realloc(m->deps, (m->capdeps = m->capdeps ? m->capdeps * 2 : 8) * sizeof *m->deps);
	m->deps[m->ndeps] = dp;
	add_watches(m, dp, metrics);
	if (dp->nwatches == 0)
		sb_warn("component %s names no metrics to watch: deployment %s is judged on nothing",
			dp->component, dp->id);
	m->ndeps++;
	jv_free(metrics);
	jv_free(comp);
}

static void load_deployments(struct monitor *m)
{
	jv deps = sb_journal_load(m->common);
	jv components = sb_config_get(m->common->config, "components");
	const struct settings *s = m->set;

	for (size_t i = 0; i < s->nonly; i++) {
		jv found = sb_journal_find(deps, s->only[i]);
		int known = jv_get_kind(found) == JV_KIND_OBJECT;
		jv_free(found);
		if (!known)
			sb_die(SB_EXIT_USAGE, "--deployment: '%s' is not in the deployment journal", s->only[i]);
	}
	jv_array_foreach(deps, i, d)
	{
		char *id = sb_rec_string(d, "deployment");
		const char *why;
		if (id && chosen(s, id) && sb_tenant_matches(m->common, d)) {
			if ((why = not_monitored(d)) == NULL)
				add_deployment(m, d, components);
			else if (s->nonly)
				sb_warn("deployment %s is not under monitoring: %s", id, why);
		}
		free(id);
		jv_free(d);
	}
	jv_free(components);
	jv_free(deps);
}

/* ---- reading metric records ---- */

static void push(struct series *s, double v)
{
	if (s->n == s->cap)
		s->v = sb_realloc(s->v, (s->cap = s->cap ? s->cap * 2 : 64) * sizeof *s->v);
	s->v[s->n++] = v;
}

static int take_metric(void *ctx, jv rec, struct sb_input *in)
{
	struct monitor *m = ctx;
	char *name = sb_rec_string(rec, "metric");
	double value, ts;
	struct watch_list *l;
	int rc = 0;

	if (!name || !*name)
		rc = (sb_input_reject(in, "metric record has no \"metric\" name"), -1);
	else if (!sb_rec_number(rec, "value", &value))
		rc = (sb_input_reject(in, "metric record has no numeric \"value\""), -1);
	else if (!sb_rec_time(rec, "ts", &ts))
		rc = (sb_input_reject(in, "metric record has no \"ts\" time"), -1);
	else if ((l = sb_strmap_get(m->by_metric, name, strlen(name))) != NULL) {
		char *comp = sb_rec_string(rec, "component"), *tenant = sb_rec_tenant(rec);
		for (size_t i = 0; i < l->n; i++) {
			struct watch *w = l->w[i];
			struct deployment *d = w->dep;
			int side;
			if (comp && strcmp(comp, d->component) != 0)
				continue;
			/* Another tenant's values say nothing about a tenant's deployment. */
			if (d->tenant && tenant && strcmp(tenant, d->tenant) != 0)
				continue;
			if (ts >= d->base_from && ts < d->base_to)
				side = BASE;
			else if (ts >= d->cur_from && ts <= d->cur_to)
				side = CUR;
			else
				continue;
			push(&w->s[side], value);
			m->taken++;
			if (!w->unit)
				w->unit = sb_rec_string(rec, "unit");
		}
		free(comp);
		free(tenant);
	}
	free(name);
	jv_free(rec);
	return rc;
}

/* ---- judging ---- */

struct summary {
	size_t n;
	double mean, median, iqr;
};

struct judgement {
	struct summary side[2];
	double pct, ratio;
	struct sb_mann_whitney mw;
	struct sb_spread_test bf;
	int have_mw, have_bf, insufficient, degraded, spread_degraded;
};

static struct summary summarise(struct series *s)
{
	struct summary r = {s->n, NAN, NAN, NAN};
	double sd;

	if (s->n == 0)
		return r;
	double *scratch = sb_malloc(s->n * sizeof *scratch);
	sb_mean_sd(s->v, s->n, &r.mean, &sd);
	r.iqr = sb_iqr(s->v, s->n, scratch);
	memcpy(scratch, s->v, s->n * sizeof *scratch);
	r.median = sb_quantile_sorted_inplace(scratch, s->n, 0.5);
	free(scratch);
	return r;
}

static struct judgement judge(const struct settings *set, struct watch *w)
{
	struct judgement j = {.pct = NAN, .ratio = NAN};
	struct series *b = &w->s[BASE], *c = &w->s[CUR];
	int tested = set->test != TEST_NONE;

	j.side[BASE] = summarise(b);
	j.side[CUR] = summarise(c);
	if (b->n > 0 && c->n > 0) {
		double bm = j.side[BASE].mean, cm = j.side[CUR].mean;
		if (bm != 0)
			j.pct = (w->higher ? bm - cm : cm - bm) / fabs(bm) * 100;
		/* One-sided, toward worse: lower-is-better asks whether current values are greater. */
		j.mw = w->higher ? sb_mann_whitney_greater(c->v, c->n, b->v, b->n)
				 : sb_mann_whitney_greater(b->v, b->n, c->v, c->n);
		j.have_mw = 1;
		/* From a constant baseline any spread at all is an infinite ratio: reported as null, judged by the test. */
		if (j.side[BASE].iqr != 0)
			j.ratio = j.side[CUR].iqr / j.side[BASE].iqr;
		else if (j.side[CUR].iqr > 0)
			j.ratio = INFINITY;
	}
	if (b->n >= 2 && c->n >= 2) {
		j.bf = sb_brown_forsythe_greater(b->v, b->n, c->v, c->n);
		j.have_bf = 1;
	}
	j.insufficient = b->n < (size_t)set->min_samples || c->n < (size_t)set->min_samples;
	if (j.insufficient)
		return j;
	/* Without a relative change (a baseline mean of 0) only the test can tell. */
	j.degraded = (isfinite(j.pct) ? j.pct > set->threshold : tested) && (!tested || j.mw.p < set->alpha);
	j.spread_degraded = !isnan(j.ratio) && j.ratio > set->max_spread_ratio &&
			    (!tested || (j.have_bf && j.bf.p < set->alpha));
	return j;
}

/* Six significant digits: what the numbers support, without binary noise like 12.300000000000001. */
static jv num(double x)
{
	char buf[32];

	if (!isfinite(x))
		return jv_null();
	snprintf(buf, sizeof buf, "%.6g", x);
	return jv_number(strtod(buf, NULL));
}

static jv side_json(const struct summary *s)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("n"), jv_number((double)s->n));
	o = jv_object_set(o, jv_string("mean"), num(s->mean));
	o = jv_object_set(o, jv_string("median"), num(s->median));
	o = jv_object_set(o, jv_string("iqr"), num(s->iqr));
	return o;
}

static jv metric_json(const struct watch *w, const struct judgement *j)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("direction"), jv_string(w->higher ? "higher" : "lower"));
	if (w->unit)
		o = jv_object_set(o, jv_string("unit"), jv_string(w->unit));
	o = jv_object_set(o, jv_string("baseline"), side_json(&j->side[BASE]));
	o = jv_object_set(o, jv_string("current"), side_json(&j->side[CUR]));
	o = jv_object_set(o, jv_string("degradation_pct"), num(j->pct));
	/* U counts pairs, halves for ties: exact as it is. */
	o = jv_object_set(o, jv_string("u"), j->have_mw ? jv_number(j->mw.u) : jv_null());
	o = jv_object_set(o, jv_string("p_value"), j->have_mw ? num(j->mw.p) : jv_null());
	o = jv_object_set(o, jv_string("exact"), jv_bool(j->have_mw && j->mw.exact));
	o = jv_object_set(o, jv_string("spread_ratio"), num(j->ratio));
	o = jv_object_set(o, jv_string("spread_f"), j->have_bf ? num(j->bf.f) : jv_null());
	o = jv_object_set(o, jv_string("spread_p_value"), j->have_bf ? num(j->bf.p) : jv_null());
	o = jv_object_set(o, jv_string("degraded"), jv_bool(j->degraded));
	o = jv_object_set(o, jv_string("spread_degraded"), jv_bool(j->spread_degraded));
	o = jv_object_set(o, jv_string("insufficient"), jv_bool(j->insufficient));
	return o;
}

static void describe_degradation(struct sb_buf *t, const struct settings *set, const struct watch *w,
				 const struct judgement *j, int *count)
{
	const char *unit = w->unit ? w->unit : "";
	const char *sp = w->unit ? " " : "";

	if (j->degraded) {
		sb_buf_addf(t, "%s%s mean %s ", (*count)++ ? "; " : "", w->metric, w->higher ? "fell" : "rose");
		if (isfinite(j->pct))
			sb_buf_addf(t, "%.3g%% ", j->pct);
		sb_buf_addf(t, "(%.4g -> %.4g%s%s", j->side[BASE].mean, j->side[CUR].mean, sp, unit);
		if (set->test != TEST_NONE)
			sb_buf_addf(t, ", Mann-Whitney p = %.2g", j->mw.p);
		sb_buf_addf(t, ")");
	}
	if (j->spread_degraded) {
		if (isinf(j->ratio))
			sb_buf_addf(t, "%s%s spread grew from none (IQR %.4g -> %.4g%s%s", (*count)++ ? "; " : "",
				    w->metric, j->side[BASE].iqr, j->side[CUR].iqr, sp, unit);
		else
			sb_buf_addf(t, "%s%s spread grew %.3g times (IQR %.4g -> %.4g%s%s", (*count)++ ? "; " : "",
				    w->metric, j->ratio, j->side[BASE].iqr, j->side[CUR].iqr, sp, unit);
		if (set->test != TEST_NONE)
			sb_buf_addf(t, ", Brown-Forsythe p = %.2g", j->bf.p);
		sb_buf_addf(t, ")");
	}
}

/* What the metrics did when none degraded: each one's change, and those too thin to judge. */
static void describe_calm(struct sb_buf *t, const struct deployment *d, const struct judgement *js)
{
	int listed = 0, thin = 0;

	if (d->nwatches == 0) {
		sb_buf_addf(t, " (component %s names no metrics to watch)", d->component);
		return;
	}
	for (size_t i = 0; i < d->nwatches; i++) {
		if (js[i].insufficient)
			continue;
		sb_buf_addf(t, "%s%s ", listed++ ? ", " : " (", d->watches[i].metric);
		if (isfinite(js[i].pct))
			sb_buf_addf(t, "%.3g%% %s", fabs(js[i].pct), js[i].pct > 0 ? "worse" : "better");
		else
			sb_buf_addf(t, "mean %.4g from a baseline of 0", js[i].side[CUR].mean);
	}
	for (size_t i = 0; i < d->nwatches; i++) {
		if (!js[i].insufficient)
			continue;
		sb_buf_addf(t, "%s%s", thin++ ? ", " : listed ? "; too few samples for " : " (too few samples for ",
			    d->watches[i].metric);
		sb_buf_addf(t, " (%zu baseline, %zu current)", js[i].side[BASE].n, js[i].side[CUR].n);
	}
	if (listed || thin)
		sb_buf_addf(t, ")");
}

static const char *decide(struct monitor *m, struct deployment *d, const struct judgement *js, char **reason)
{
	const struct settings *set = m->set;
	struct sb_buf t = {0};
	int count = 0;
	char ts[SB_TIME_BUFSZ];
	const char *decision;

	for (size_t i = 0; i < d->nwatches; i++)
		describe_degradation(&t, set, &d->watches[i], &js[i], &count);
	if (count) {
		char *what = sb_buf_take(&t);
		memset(&t, 0, sizeof t);
		if (d->on_degrade == ACT_HOLD) {
			decision = "hold";
			sb_buf_addf(&t, "Held for a person to decide: %s.", what);
		} else {
			decision = "rollback";
			sb_buf_addf(&t, "Rollback recommended: %s.", what);
		}
		free(what);
	} else if (m->now >= d->until) {
		decision = "keep";
		sb_buf_addf(&t, "Kept: no metric degraded by more than %g%% in mean or %g times in spread",
			    set->threshold, set->max_spread_ratio);
		if (set->test != TEST_NONE)
			sb_buf_addf(&t, " at alpha %g", set->alpha);
		sb_buf_addf(&t, " by the end of monitoring at %s",
			    d->until_text ? d->until_text : sb_time_format(d->until, ts));
		describe_calm(&t, d, js);
		sb_buf_addf(&t, ".");
	} else {
		decision = "pending";
		sb_buf_addf(&t, "Pending: no metric degraded so far; monitoring continues until %s",
		       d->until_text ? d->until_text : sb_time_format(d->until, ts));
		describe_calm(&t, d, js);
		sb_buf_addf(&t, ".");
	}
	*reason = sb_buf_take(&t);
	return decision;
}

static jv window_json(double from, double to)
{
	char a[SB_TIME_BUFSZ], b[SB_TIME_BUFSZ];

	return jv_object_set(jv_object_set(jv_object(), jv_string("from"), jv_string(sb_time_format(from, a))),
			     jv_string("to"), jv_string(sb_time_format(to, b)));
}

static jv settings_json(const struct settings *s, const struct deployment *d)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("threshold"), num(s->threshold));
	o = jv_object_set(o, jv_string("alpha"), num(s->alpha));
	o = jv_object_set(o, jv_string("test"), jv_string(tests[s->test]));
	o = jv_object_set(o, jv_string("min_samples"), jv_number((double)s->min_samples));
	o = jv_object_set(o, jv_string("max_spread_ratio"), num(s->max_spread_ratio));
	o = jv_object_set(o, jv_string("on_degrade"), jv_string(actions[d->on_degrade]));
	return o;
}

/* Journal and audit a final decision, unless --dry-run. */
static void record_final(struct sb_runner *r, const struct deployment *d, const char *decision, const char *reason)
{
	char action[32];
	jv e;

	if (r->dry_run)
		return;
	e = jv_object_set(jv_object(), jv_string("deployment"), jv_string(d->id));
	e = jv_object_set(e, jv_string("phase"), jv_string("verdict"));
	e = jv_object_set(e, jv_string("verdict"), jv_string(decision));
	e = jv_object_set(e, jv_string("reason"), jv_string(reason));
	sb_journal_append(r, e);
	snprintf(action, sizeof action, "monitor.%s", decision);
	e = jv_object();
	e = jv_object_set(e, jv_string("action"), jv_string(action));
	e = jv_object_set(e, jv_string("deployment"), jv_string(d->id));
	e = jv_object_set(e, jv_string("component"), jv_string(d->component));
	if (d->tenant)
		e = jv_object_set(e, jv_string("tenant"), jv_string(d->tenant));
	e = jv_object_set(e, jv_string("reason"), jv_string(reason));
	e = jv_object_set(e, jv_string("tool"), jv_string(r->common->tool));
	sb_runner_audit(r, e);
}

static void count_verdict(const char *decision, double n)
{
	char labels[64];

	snprintf(labels, sizeof labels, "decision=\"%s\"", decision);
	sb_selfmetric_add("sb_verdicts_total", labels, n, "Verdicts sb-monitor wrote, by decision.");
}

/* Write every verdict; 1 when any of them is rollback or hold. */
static int judge_all(struct monitor *m, struct sb_runner *r)
{
	static const char *const decisions[] = {"keep", "rollback", "hold", "pending", NULL};
	int negative = 0;
	char ts[SB_TIME_BUFSZ];

	/* Every decision from zero, so each series exists from the first run. */
	for (const char *const *d = decisions; *d; d++)
		count_verdict(*d, 0);

	for (size_t i = 0; i < m->ndeps; i++) {
		struct deployment *d = m->deps[i];
		struct judgement *js = sb_calloc(d->nwatches ? d->nwatches : 1, sizeof *js);
		jv metrics = jv_object(), v = jv_object();
		char *reason;

		for (size_t k = 0; k < d->nwatches; k++) {
			js[k] = judge(m->set, &d->watches[k]);
			metrics = jv_object_set(metrics, jv_string(d->watches[k].metric),
						metric_json(&d->watches[k], &js[k]));
		}
		const char *decision = decide(m, d, js, &reason);
		v = jv_object_set(v, jv_string("type"), jv_string("verdict"));
		v = jv_object_set(v, jv_string("deployment"), jv_string(d->id));
		v = jv_object_set(v, jv_string("component"), jv_string(d->component));
		if (d->tenant)
			v = jv_object_set(v, jv_string("tenant"), jv_string(d->tenant));
		v = jv_object_set(v, jv_string("change"), d->change ? jv_string(d->change) : jv_null());
		v = jv_object_set(v, jv_string("decision"), jv_string(decision));
		v = jv_object_set(v, jv_string("reason"), jv_string(reason));
		v = jv_object_set(v, jv_string("ts"), jv_string(sb_time_format(m->now, ts)));
		v = jv_object_set(v, jv_string("monitor_until"), jv_string(sb_time_format(d->until, ts)));
		v = jv_object_set(v, jv_string("baseline"), window_json(d->base_from, d->base_to));
		v = jv_object_set(v, jv_string("current"), window_json(d->cur_from, d->cur_to));
		v = jv_object_set(v, jv_string("metrics"), metrics);
		v = jv_object_set(v, jv_string("settings"), settings_json(m->set, d));
		if (strcmp(decision, "keep") == 0 || strcmp(decision, "hold") == 0)
			record_final(r, d, decision, reason);
		if (strcmp(decision, "rollback") == 0 || strcmp(decision, "hold") == 0)
			negative = 1;
		if (m->common->verbose)
			sb_warn("deployment %s of %s: %s", d->id, d->component, decision);
		count_verdict(decision, 1);
		sb_output_record(v);
		free(reason);
		free(js);
	}
	return negative;
}

static void free_monitor(struct monitor *m)
{
	for (size_t i = 0; i < m->ndeps; i++) {
		struct deployment *d = m->deps[i];
		for (size_t k = 0; k < d->nwatches; k++) {
			free(d->watches[k].metric);
			free(d->watches[k].unit);
			free(d->watches[k].s[BASE].v);
			free(d->watches[k].s[CUR].v);
		}
		free(d->watches);
		free(d->id);
		free(d->component);
		free(d->tenant);
		free(d->change);
		free(d->until_text);
		free(d);
	}
	free(m->deps);
	for (size_t i = 0; i < m->nlists; i++) {
		free(m->lists[i]->w);
		free(m->lists[i]);
	}
	free(m->lists);
	sb_strmap_free(m->by_metric);
}

int main(int argc, char **argv)
{
	static const char *const consumes[] = {"metric", NULL};
	struct settings set = {.threshold = 10, .alpha = 0.05, .test = TEST_MANN_WHITNEY, .min_samples = 10,
			       .max_spread_ratio = 2, .on_degrade = -1};
	const struct sb_tool_spec spec = {
		.name = "sb-monitor",
		.synopsis = "[OPTION]... [FILE]...",
		.purpose = "Compare each deployment's metrics before and after it: keep, rollback, hold or pending.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	struct sb_run run;
	struct sb_runner runner;
	struct monitor m = {.set = &set, .common = &common};
	int status, negative;

	sb_progname = "sb-monitor";
	sb_opts_parse(&spec, argc, argv, &common);
	m.now = sb_clock();
	m.by_metric = sb_strmap_new();
	sb_runner_init(&runner);
	runner.dry_run = set.dry_run;
	sb_runner_start(&runner, &common);
	load_deployments(&m);

	sb_filter_begin(&run, &common);
	sb_filter_loop(&run, &(struct sb_filter){.consumes = consumes, .record = take_metric, .ctx = &m});
	negative = judge_all(&m, &runner);
	if (common.verbose)
		sb_warn("%zu deployment(s) judged on %ld value(s)", m.ndeps, m.taken);
	status = sb_filter_end(&run);

	free_monitor(&m);
	sb_runner_free(&runner);
	free(set.only);
	sb_opts_free(&common);
	return status ? status : negative;
}
