/* sb-score - turn insight records into opportunities ranked by impact */
#include "config.h"
#include "err.h"
#include "filter.h"
#include "hash.h"
#include "opts.h"
#include "output.h"
#include "record.h"
#include "strmap.h"
#include "timefmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_PASS = 1000, OPT_RISK, OPT_MAX, OPT_USERS_DEFAULT };

static const struct sb_option options[] = {
	{"pass", 0, NULL, "also forward the insight records read", OPT_PASS, NULL, NULL},
	{"risk", 0, "LEVEL", "drop opportunities riskier than LEVEL (low, medium, high)", OPT_RISK,
	 "SB_SCORE_RISK", "score.risk"},
	{"max", 0, "N", "keep only the N opportunities of highest impact", OPT_MAX, "SB_SCORE_MAX", "score.max"},
	{"users-default", 0, "N", "affected users of an insight that names none (default 1)",
	 OPT_USERS_DEFAULT, "SB_SCORE_USERS_DEFAULT", "score.users_default"},
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static const char *const levels[] = {"low", "medium", "high", NULL};
static const char *const severities[] = {"low", "medium", "high", "critical", NULL};
enum { RISK_LOW, RISK_MEDIUM, RISK_HIGH };
enum { SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL };

/* Known insight kinds, the risk of changing what they point at, and a bit for the kinds list. */
static const struct {
	const char *name;
	int risk;
} kinds[] = {
	{"trend", RISK_LOW}, {"completion", RISK_LOW}, {"degradation", RISK_MEDIUM},
	{"anomaly", RISK_MEDIUM}, {"error_pattern", RISK_MEDIUM},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* performance_gain of an insight with no change_pct and no means to compute one. */
static const double severity_gain[] = {5, 10, 25, 50};

struct settings {
	int pass;
	int risk;          /* tolerance */
	long max;          /* 0: no limit */
	double users_default;
	jv components;     /* the configuration's components (object or null) */
};

/* All insights about one tenant, component and metric or pattern. */
struct group {
	char *tenant, *component, *subject;
	int subject_type;  /* 'm' metric, 'p' pattern, 'k' neither: the subject is the kind */
	long order;        /* first appearance, for stable ranks */
	char **ids;
	size_t nids, capids;
	unsigned kinds;    /* bit i: kinds[i] */
	char *other_kinds; /* kinds sb-score does not know, comma-separated */
	int severity, risk;
	double gain, users, frequency, impact;
	double last_ts;
	int has_ts;
	char *summary;     /* of the most severe insight */
	int summary_severity;
	int scope_system, risk_final;
};

struct scorer {
	struct settings *set;
	sb_strmap *groups;      /* key: tenant NUL component NUL subject */
	sb_strmap *seen_ids;    /* insight ids already counted */
	sb_strmap *tenants_of;  /* component -> first tenant, or SHARED */
	struct group **list;
	size_t n, cap;
};

static char shared_marker;
#define SHARED ((void *)&shared_marker)

static int set_option(void *ctx, int id, const char *arg)
{
	struct settings *s = ctx;
	long n;

	switch (id) {
	case OPT_PASS:
		s->pass = 1;
		return 0;
	case OPT_RISK:
		return (s->risk = sb_opt_choice("risk", arg, levels)) < 0 ? -1 : 0;
	case OPT_MAX:
		if (sb_opt_long("max", arg, 1, 1000000000L, &n) < 0)
			return -1;
		s->max = n;
		return 0;
	case OPT_USERS_DEFAULT:
		return sb_opt_double("users-default", arg, 0, &s->users_default);
	}
	return -1;
}

static double round4(double x)
{
	return round(x * 10000) / 10000;
}

static double clamp_gain(double pct)
{
	pct = fabs(pct);
	return pct > 100 ? 100 : pct;
}

/* performance_gain: |change_pct|, else the relative change of the means, else by severity. */
static double gain_of(jv evidence, int severity)
{
	double pct, base, cur;

	if (sb_rec_number(evidence, "change_pct", &pct))
		return clamp_gain(pct);
	if (sb_rec_number(evidence, "baseline_mean", &base) && sb_rec_number(evidence, "current_mean", &cur) &&
	    base != 0)
		return clamp_gain((cur - base) / base * 100);
	return severity_gain[severity];
}

static double users_of(jv insight, jv evidence, double fallback)
{
	double u;

	if (sb_rec_number(insight, "affected_users", &u) && u >= 0)
		return u;
	if (sb_rec_number(evidence, "affected_users", &u) && u >= 0)
		return u;
	return fallback;
}

/* The insight's window in seconds: window bounds, else first and last seen; -1 when unknown. */
static double window_of(jv evidence)
{
	double a, b;

	if (sb_rec_time(evidence, "window_start", &a) && sb_rec_time(evidence, "window_end", &b) && b >= a)
		return b - a;
	if (sb_rec_time(evidence, "first_seen", &a) && sb_rec_time(evidence, "last_seen", &b) && b >= a)
		return b - a;
	return -1;
}

/* frequency: the insight's own, else occurrences per hour over its window, else 1. */
static double frequency_of(jv insight, jv evidence)
{
	double f, count, window;

	if (sb_rec_number(insight, "frequency", &f) && f >= 0)
		return f;
	if (sb_rec_number(evidence, "count", &count) && count >= 0) {
		window = window_of(evidence);
		if (window < 0)
			return count; /* no window: take the count as one hour's */
		/* A burst inside one minute is a rate per minute, not an infinite one. */
		return count / (fmax(window, 60) / 3600);
	}
	return 1;
}

static int kind_index(const char *kind)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i].name, kind) == 0)
			return (int)i;
	return -1;
}

static int severity_index(const char *s)
{
	for (int i = 0; severities[i]; i++)
		if (strcmp(severities[i], s) == 0)
			return i;
	return -1;
}

/* Shared when the configuration says so or insights name it under two tenants. */
static void note_tenant(struct scorer *sc, const char *component, const char *tenant)
{
	size_t len = strlen(component);
	void *seen = sb_strmap_get(sc->tenants_of, component, len);

	if (!tenant || seen == SHARED)
		return;
	if (!seen)
		sb_strmap_put(sc->tenants_of, component, len, sb_strdup(tenant));
	else if (strcmp(seen, tenant) != 0) {
		free(seen);
		sb_strmap_put(sc->tenants_of, component, len, SHARED);
	}
}

static int configured_shared(const struct settings *s, const char *component)
{
	if (jv_get_kind(s->components) != JV_KIND_OBJECT)
		return 0;
	jv c = sb_rec_get(s->components, component);
	jv shared = sb_rec_get(c, "shared");
	int yes = jv_get_kind(shared) == JV_KIND_TRUE;
	jv_free(shared);
	jv_free(c);
	return yes;
}

/*
 * The group key: a byte telling "no tenant" from an empty tenant name, the
 * tenant, the component, the subject type and the subject, NUL-separated.
 */
static char *group_key(const char *tenant, const char *component, int subject_type, const char *subject,
		       size_t *len)
{
	size_t tl = tenant ? strlen(tenant) : 0, cl = strlen(component), sl = strlen(subject);
	char *key;

	*len = 1 + tl + 1 + cl + 1 + 1 + sl;
	key = sb_malloc(*len + 1);
	snprintf(key, *len + 1, "%c%s%c%s%c%c%s", tenant ? 't' : '-', tenant ? tenant : "", 0, component, 0,
		 subject_type, subject);
	return key;
}

static struct group *group_for(struct scorer *sc, const char *tenant, const char *component,
			       const char *subject, int subject_type)
{
	size_t len;
	char *key = group_key(tenant, component, subject_type, subject, &len);
	struct group *g;

	if ((g = sb_strmap_get(sc->groups, key, len))) {
		free(key);
		return g;
	}
	g = sb_calloc(1, sizeof *g);
	g->tenant = tenant ? sb_strdup(tenant) : NULL;
	g->component = sb_strdup(component);
	g->subject = sb_strdup(subject);
	g->subject_type = subject_type;
	g->order = (long)sc->n;
	g->summary_severity = -1;
	sb_strmap_put(sc->groups, key, len, g);
	free(key);
	if (sc->n == sc->cap)
		sc->list = sb_realloc(sc->list, (sc->cap = sc->cap ? sc->cap * 2 : 256) * sizeof *sc->list);
	sc->list[sc->n++] = g;
	return g;
}

static void add_id(struct group *g, char *id)
{
	if (g->nids == g->capids)
		g->ids = sb_realloc(g->ids, (g->capids = g->capids ? g->capids * 2 : 4) * sizeof *g->ids);
	g->ids[g->nids++] = id;
}

/* An insight's id, or one derived from its text when it has none. */
static char *insight_id(jv insight, const struct sb_input *in)
{
	char *id = sb_rec_string(insight, "id");
	char hex[SB_SHA256_HEX];

	if (id)
		return id;
	sb_sha256_hex(in->line, in->len, hex);
	hex[SB_ID_LEN] = '\0';
	return sb_strdup(hex);
}

struct fields {
	char *kind, *severity, *component, *tenant, *subject, *summary;
	int subject_type;
};

static void free_fields(struct fields *f)
{
	free(f->kind);
	free(f->severity);
	free(f->component);
	free(f->tenant);
	free(f->subject);
	free(f->summary);
}

/* Read what scoring needs; 0, or -1 after rejecting the line. */
static int read_fields(jv insight, struct sb_input *in, struct fields *f)
{
	memset(f, 0, sizeof *f);
	f->kind = sb_rec_string(insight, "kind");
	f->severity = sb_rec_string(insight, "severity");
	f->component = sb_rec_string(insight, "component");
	f->tenant = sb_rec_string(insight, "tenant");
	f->summary = sb_rec_string(insight, "summary");
	f->subject_type = 'm';
	if ((f->subject = sb_rec_string(insight, "metric")) == NULL) {
		f->subject = sb_rec_string(insight, "pattern");
		f->subject_type = 'p';
	}
	if (!f->kind)
		sb_input_reject(in, "insight has no \"kind\" string");
	else if (!f->severity || severity_index(f->severity) < 0)
		sb_input_reject(in, "insight \"severity\" must be low, medium, high or critical");
	else if (!f->component || !*f->component)
		sb_input_reject(in, "insight has no \"component\" string");
	else {
		if (!f->subject) { /* e.g. an alarm: one opportunity per component and kind */
			f->subject = sb_strdup(f->kind);
			f->subject_type = 'k';
		}
		return 0;
	}
	free_fields(f);
	return -1;
}

static void add_other_kind(struct group *g, const char *kind)
{
	size_t n = strlen(kind);
	char *old = g->other_kinds;

	for (const char *p = old; p && *p; p += strcspn(p, ","), p += *p == ',')
		if (strncmp(p, kind, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return;
	g->other_kinds = old ? sb_asprintf("%s,%s", old, kind) : sb_strdup(kind);
	free(old);
}

static void merge_into(struct group *g, const struct fields *f, jv insight, const struct settings *s)
{
	jv evidence = sb_rec_get(insight, "evidence");
	int sev = severity_index(f->severity), k = kind_index(f->kind);
	double ts;

	g->gain = fmax(g->gain, gain_of(evidence, sev));
	g->users = fmax(g->users, users_of(insight, evidence, s->users_default));
	g->frequency = fmax(g->frequency, frequency_of(insight, evidence));
	g->severity = sev > g->severity ? sev : g->severity;
	int risk = k >= 0 ? kinds[k].risk : RISK_HIGH;
	if (sev == SEV_CRITICAL && risk < RISK_HIGH)
		risk++;
	g->risk = risk > g->risk ? risk : g->risk;
	if (k >= 0)
		g->kinds |= 1u << k;
	else
		add_other_kind(g, f->kind);
	if (f->summary && sev > g->summary_severity) {
		free(g->summary);
		g->summary = sb_strdup(f->summary);
		g->summary_severity = sev;
	}
	if (sb_rec_time(insight, "ts", &ts) && (!g->has_ts || ts > g->last_ts)) {
		g->last_ts = ts;
		g->has_ts = 1;
	}
	jv_free(evidence);
}

static int score_insight(void *ctx, jv insight, struct sb_input *in)
{
	struct scorer *sc = ctx;
	struct fields f;

	if (read_fields(insight, in, &f) < 0) {
		jv_free(insight);
		return -1;
	}
	char *id = insight_id(insight, in);
	size_t idlen = strlen(id);
	/* The same insight read twice (a re-run's output, say) counts once. */
	if (sb_strmap_get(sc->seen_ids, id, idlen)) {
		free(id);
	} else {
		struct group *g = group_for(sc, f.tenant, f.component, f.subject, f.subject_type);
		note_tenant(sc, f.component, f.tenant);
		sb_strmap_put(sc->seen_ids, id, idlen, g);
		add_id(g, id);
		merge_into(g, &f, insight, sc->set);
	}
	free_fields(&f);
	jv_free(insight);
	return 0;
}

static int compare_ids(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Content-derived: the group's key and the sorted ids of its insights. */
static void opportunity_id(const struct group *g, char out[SB_ID_LEN + 1])
{
	char **sorted = sb_malloc(g->nids * sizeof *sorted);
	char hex[SB_SHA256_HEX];
	sb_sha256 *h = sb_sha256_new();
	const char type[2] = {(char)g->subject_type, 0};
	const char *head[] = {"opportunity", g->tenant ? "t" : "-", g->tenant ? g->tenant : "", g->component,
			      type, g->subject};

	memcpy(sorted, g->ids, g->nids * sizeof *sorted);
	qsort(sorted, g->nids, sizeof *sorted, compare_ids);
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
		sb_sha256_update(h, head[i], strlen(head[i]) + 1);
	for (size_t i = 0; i < g->nids; i++)
		sb_sha256_update(h, sorted[i], strlen(sorted[i]) + 1);
	sb_sha256_final_hex(h, hex);
	memcpy(out, hex, SB_ID_LEN);
	out[SB_ID_LEN] = '\0';
	free(sorted);
}

static jv kinds_array(const struct group *g)
{
	jv a = jv_array();

	for (size_t i = 0; i < NKINDS; i++)
		if (g->kinds & (1u << i))
			a = jv_array_append(a, jv_string(kinds[i].name));
	for (const char *p = g->other_kinds; p && *p; p += strcspn(p, ","), p += *p == ',')
		a = jv_array_append(a, jv_string_sized(p, (int)strcspn(p, ",")));
	return a;
}

/* Bytes of s that hold at most max bytes without splitting a UTF-8 character. */
static int utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return (int)n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return (int)max;
}

static char *title_of(const struct group *g)
{
	char kindlist[256] = "";
	size_t n = 0;

	for (size_t i = 0; i < NKINDS; i++)
		if (g->kinds & (1u << i))
			n += (size_t)snprintf(kindlist + n, sizeof kindlist - n, "%s%s", n ? " and " : "", kinds[i].name);
	for (const char *p = g->other_kinds; p && *p && n < sizeof kindlist; p += strcspn(p, ","), p += *p == ',')
		n += (size_t)snprintf(kindlist + n, sizeof kindlist - n, "%s%.*s", n ? " and " : "",
				      (int)strcspn(p, ","), p);
	for (char *p = kindlist; *p; p++)
		if (*p == '_')
			*p = ' ';
	if (g->subject_type == 'p') {
		int cut = utf8_prefix(g->subject, 60);
		return sb_asprintf("Fix %s \"%.*s%s\" in %s", kindlist, cut, g->subject,
				   g->subject[cut] ? "..." : "", g->component);
	}
	if (g->subject_type == 'k')
		return sb_asprintf("Fix %s in %s", kindlist, g->component);
	return sb_asprintf("Fix %s of %s in %s", kindlist, g->subject, g->component);
}

static jv opportunity_record(const struct group *g, long rank)
{
	char id[SB_ID_LEN + 1], ts[SB_TIME_BUFSZ];
	char *title = title_of(g);
	jv ids = jv_array();
	jv o = jv_object();

	opportunity_id(g, id);
	for (size_t i = 0; i < g->nids; i++)
		ids = jv_array_append(ids, jv_string(g->ids[i]));
	o = jv_object_set(o, jv_string("type"), jv_string("opportunity"));
	o = jv_object_set(o, jv_string("id"), jv_string(id));
	o = jv_object_set(o, jv_string("rank"), jv_number((double)rank));
	o = jv_object_set(o, jv_string("title"), jv_string(title));
	if (g->tenant)
		o = jv_object_set(o, jv_string("tenant"), jv_string(g->tenant));
	o = jv_object_set(o, jv_string("component"), jv_string(g->component));
	if (g->subject_type != 'k')
		o = jv_object_set(o, jv_string(g->subject_type == 'p' ? "pattern" : "metric"), jv_string(g->subject));
	o = jv_object_set(o, jv_string("kinds"), kinds_array(g));
	o = jv_object_set(o, jv_string("severity"), jv_string(severities[g->severity]));
	o = jv_object_set(o, jv_string("scope"), jv_string(g->scope_system ? "system" : "tenant"));
	o = jv_object_set(o, jv_string("risk"), jv_string(levels[g->risk_final]));
	o = jv_object_set(o, jv_string("requires_approval"),
			  jv_bool(g->scope_system || g->risk_final == RISK_HIGH));
	o = jv_object_set(o, jv_string("performance_gain"), jv_number(round4(g->gain)));
	o = jv_object_set(o, jv_string("affected_users"), jv_number(round4(g->users)));
	o = jv_object_set(o, jv_string("frequency"), jv_number(round4(g->frequency)));
	o = jv_object_set(o, jv_string("impact"), jv_number(g->impact));
	o = jv_object_set(o, jv_string("insights"), ids);
	if (g->summary)
		o = jv_object_set(o, jv_string("summary"), jv_string(g->summary));
	if (g->has_ts)
		o = jv_object_set(o, jv_string("ts"), jv_string(sb_time_format(g->last_ts, ts)));
	free(title);
	return o;
}

/* Highest impact first; equal impact keeps the order of first appearance. */
static int by_impact(const void *a, const void *b)
{
	const struct group *x = *(struct group *const *)a, *y = *(struct group *const *)b;

	if (x->impact != y->impact)
		return x->impact < y->impact ? 1 : -1;
	return (x->order > y->order) - (x->order < y->order);
}

static void finish_group(struct scorer *sc, struct group *g)
{
	void *seen = sb_strmap_get(sc->tenants_of, g->component, strlen(g->component));

	g->scope_system = !g->tenant || seen == SHARED || configured_shared(sc->set, g->component);
	g->risk_final = g->risk + (g->scope_system && g->risk < RISK_HIGH);
	g->gain = round4(g->gain);
	g->users = round4(g->users);
	g->frequency = round4(g->frequency);
	g->impact = round4(g->gain * g->users * g->frequency / 100);
}

static void emit_opportunities(struct scorer *sc, int verbose)
{
	long rank = 0, dropped = 0;

	for (size_t i = 0; i < sc->n; i++)
		finish_group(sc, sc->list[i]);
	if (sc->n) /* qsort must not be given the NULL of an empty list */
		qsort(sc->list, sc->n, sizeof *sc->list, by_impact);
	for (size_t i = 0; i < sc->n; i++) {
		if (sc->list[i]->risk_final > sc->set->risk || (sc->set->max && rank >= sc->set->max)) {
			dropped++;
			continue;
		}
		sb_output_record(opportunity_record(sc->list[i], ++rank));
	}
	if (verbose)
		sb_warn("%zu insights in %zu opportunities: %ld written, %ld dropped by --risk or --max",
			sb_strmap_count(sc->seen_ids), sc->n, rank, dropped);
}

static void free_tenant(struct scorer *sc, const char *component)
{
	void *t = sb_strmap_get(sc->tenants_of, component, strlen(component));

	if (t && t != SHARED) {
		free(t);
		sb_strmap_put(sc->tenants_of, component, strlen(component), SHARED);
	}
}

static void free_scorer(struct scorer *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		struct group *g = sc->list[i];
		free_tenant(sc, g->component);
		for (size_t k = 0; k < g->nids; k++)
			free(g->ids[k]);
		free(g->ids);
		free(g->tenant);
		free(g->component);
		free(g->subject);
		free(g->other_kinds);
		free(g->summary);
		free(g);
	}
	free(sc->list);
	sb_strmap_free(sc->groups);
	sb_strmap_free(sc->seen_ids);
	sb_strmap_free(sc->tenants_of);
}

int main(int argc, char **argv)
{
	static const char *const consumes[] = {"insight", NULL};
	struct settings set = {.risk = RISK_HIGH, .users_default = 1};
	const struct sb_tool_spec spec = {
		.name = "sb-score",
		.synopsis = "[OPTION]... [FILE]...",
		.purpose = "Turn insight records into improvement opportunities ranked by impact.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	struct sb_run run;
	struct scorer sc = {.set = &set};
	int status;

	sb_progname = "sb-score";
	sb_opts_parse(&spec, argc, argv, &common);
	set.components = sb_config_get(common.config, "components");
	sc.groups = sb_strmap_new();
	sc.seen_ids = sb_strmap_new();
	sc.tenants_of = sb_strmap_new();

	sb_filter_begin(&run, &common);
	sb_filter_loop(&run, &(struct sb_filter){
		.consumes = consumes, .pass = set.pass, .record = score_insight, .ctx = &sc});
	emit_opportunities(&sc, common.verbose);
	status = sb_filter_end(&run);

	free_scorer(&sc);
	jv_free(set.components);
	sb_opts_free(&common);
	return status;
}
