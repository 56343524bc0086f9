/* sb-status - what the state directory says: components, monitoring, queue, cycles, breakers, totals */
#include "config.h"
#include "deployment.h"
#include "err.h"
#include "filter.h"
#include "fsutil.h"
#include "opts.h"
#include "output.h"
#include "record.h"
#include "strbuf.h"
#include "strmap.h"
#include "timefmt.h"
#include "where.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { OPT_FORMAT = 1000, OPT_COMPONENT, OPT_CYCLES };

static const struct sb_option options[] = {
	{"format", 0, "FORMAT", "json (NDJSON records) or table (default: table on a terminal, else json)",
	 OPT_FORMAT, "SB_STATUS_FORMAT", "status.format"},
	{"component", 0, "NAME", "only the component NAME (may be given more than once)", OPT_COMPONENT, NULL,
	 NULL},
	{"cycles", 0, "N", "show the last N cycles (default 10)", OPT_CYCLES, "SB_STATUS_CYCLES", "status.cycles"},
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static const char *const formats[] = {"json", "table", NULL};
enum { FORMAT_AUTO = -1, FORMAT_JSON, FORMAT_TABLE };

/* The sparkline's span, today included. */
#define DAYS 14

/* What became of a deployment; the first three are kinds of deployed. */
enum { C_MONITORING, C_KEPT, C_HELD, C_ROLLED_BACK, C_FAILED, C_UNFINISHED, NCOUNTS, C_UNKNOWN = -1 };
static const char *const count_names[NCOUNTS] = {"monitoring", "kept", "held", "rolled_back", "failed",
						  "unfinished"};

struct counts {
	long total, by[NCOUNTS];
};

struct settings {
	int format;
	const char **only; /* --component */
	size_t nonly;
	long cycles;
};

struct comp {
	char *name;
	jv conf;        /* its entry in the configuration, or null */
	jv last;        /* its newest deployment, or null */
	jv monitoring, held, queued;
	struct counts counts;
};

struct status {
	const struct sb_common *common;
	const struct settings *set;
	char *path;      /* the state directory */
	const char *dir; /* the same, or NULL when there is none to read */
	double now;
	long today;      /* local day number of now */
	int exit;        /* SB_EXIT_IO once a state file could not be read */
	sb_strmap *by_name;
	struct comp **comps;
	size_t ncomps, capcomps;
	struct counts deployments;
	long kept_on[DAYS], rolled_back_on[DAYS]; /* oldest day first */
	jv cycle_counts, queue_counts;
	long audit_entries;
	jv records;      /* everything to write, in order */
};

static int set_option(void *ctx, int id, const char *arg)
{
	struct settings *s = ctx;

	switch (id) {
	case OPT_FORMAT:
		return (s->format = sb_opt_choice("format", arg, formats)) < 0 ? -1 : 0;
	case OPT_COMPONENT:
		s->only = sb_realloc(s->only, (s->nonly + 1) * sizeof *s->only);
		s->only[s->nonly++] = arg;
		return 0;
	case OPT_CYCLES:
		return sb_opt_long("cycles", arg, 0, 1000000L, &s->cycles);
	}
	return -1;
}

/* ---- small helpers over jv ---- */

static jv put(jv o, const char *key, jv value)
{
	return jv_object_set(o, jv_string(key), value);
}

/* A string or number field as it is, anything else as null. */
static jv scalar(jv rec, const char *key)
{
	jv v = sb_rec_get(rec, key);
	jv_kind k = jv_get_kind(v);

	if (k == JV_KIND_STRING || k == JV_KIND_NUMBER)
		return v;
	jv_free(v);
	return jv_null();
}

/* A string field, else fallback. */
static jv string_or(jv rec, const char *key, const char *fallback)
{
	jv v = sb_rec_get(rec, key);

	if (jv_get_kind(v) == JV_KIND_STRING)
		return v;
	jv_free(v);
	return jv_string(fallback);
}

static int field_is(jv rec, const char *key, const char *value)
{
	char *v = sb_rec_string(rec, key);
	int yes = v && strcmp(v, value) == 0;

	free(v);
	return yes;
}

static jv count_up(jv counts, const char *key)
{
	jv old = jv_object_get(jv_copy(counts), jv_string(key));
	double n = jv_get_kind(old) == JV_KIND_NUMBER ? jv_number_value(old) : 0;

	jv_free(old);
	return put(counts, key, jv_number(n + 1));
}

/* One more in counts: under key and in its "total". */
static jv tally(jv counts, const char *key)
{
	return count_up(count_up(counts, "total"), key);
}

static jv base_record(const struct status *st, const char *kind)
{
	char ts[SB_TIME_BUFSZ];
	jv r = put(jv_object(), "type", jv_string("status"));

	r = put(r, "kind", jv_string(kind));
	return put(r, "ts", jv_string(sb_time_format(st->now, ts)));
}

/* The local calendar day of t, as a day number (days since 1970-01-01 of that date). */
static long local_day(double t)
{
	time_t s = (time_t)floor(t);
	struct tm tm;

	if (!localtime_r(&s, &tm))
		return LONG_MIN;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return (long)(timegm(&tm) / 86400);
}

static jv day_string(long day)
{
	time_t s = (time_t)day * 86400;
	struct tm tm;
	char buf[32];

	if (!gmtime_r(&s, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%d", &tm))
		return jv_null();
	return jv_string(buf);
}

/* ---- reading the state directory, and nothing else: no lock, no write ---- */

/*
 * Where sb_state_dir() would look, without creating it as sb_state_dir()
 * does: a status query must leave no trace, even a directory.
 */
static char *state_dir_path(const struct sb_common *c)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (c->state_dir && *c->state_dir)
		return sb_strdup(c->state_dir);
	if (xdg && *xdg)
		return sb_asprintf("%s/sb", xdg);
	if (home && *home)
		return sb_asprintf("%s/.local/state/sb", home);
	sb_die(SB_EXIT_USAGE, "no state directory: set --state-dir, SB_STATE_DIR or HOME");
}

/* A state directory that does not exist is not an error: nothing has run yet. */
static void open_state_dir(struct status *st)
{
	struct stat sb;

	st->path = state_dir_path(st->common);
	if (stat(st->path, &sb) < 0 && errno == ENOENT) {
		if (!st->common->quiet)
			sb_warn("state directory '%s' does not exist: nothing has run yet", st->path);
		return;
	}
	if (stat(st->path, &sb) == 0 && !S_ISDIR(sb.st_mode))
		sb_warn("cannot read state directory '%s': not a directory", st->path);
	else if (stat(st->path, &sb) < 0 || access(st->path, R_OK | X_OK) < 0)
		sb_warn("cannot read state directory '%s':", st->path);
	else {
		st->dir = st->path;
		return;
	}
	st->exit = SB_EXIT_IO;
}

/* 1 when path is a regular file we may read; 0 when it is missing, or reported (status 5) when unreadable. */
static int readable(struct status *st, const char *path, const char *what)
{
	struct stat sb;

	if (stat(path, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
	} else if (!S_ISREG(sb.st_mode)) {
		sb_warn("cannot read %s '%s': not a regular file", what, path);
		st->exit = SB_EXIT_IO;
		return 0;
	} else if (access(path, R_OK) == 0)
		return 1;
	sb_warn("cannot read %s '%s':", what, path);
	st->exit = SB_EXIT_IO;
	return 0;
}

/* A JSON object state file; invalid when missing, unreadable (reported) or corrupt (reported, skipped). */
static jv read_object(struct status *st, const char *path, const char *what)
{
	size_t len;
	char *text;
	jv doc;

	if (!readable(st, path, what))
		return jv_invalid();
	if (!(text = sb_read_file(path, &len))) {
		sb_warn("cannot read %s '%s':", what, path);
		st->exit = SB_EXIT_IO;
		return jv_invalid();
	}
	doc = jv_parse_sized(text, (int)len);
	free(text);
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		sb_warn("%s: not a %s; skipped", path, what);
		jv_free(doc);
		return jv_invalid();
	}
	return doc;
}

/*
 * The entries of a directory of the state directory, sorted: names that
 * end in suffix, or subdirectories when suffix is NULL. Dot files are left
 * out, and with them the temporary files of atomic writes.
 */
static jv list_dir(struct status *st, const char *rel, const char *suffix)
{
	char *dir = sb_asprintf("%s/%s", st->dir, rel);
	DIR *d = opendir(dir);
	struct dirent *e;
	jv names = jv_array();
	size_t sl = suffix ? strlen(suffix) : 0;

	if (!d) {
		if (errno != ENOENT) {
			sb_warn("cannot read directory '%s':", dir);
			st->exit = SB_EXIT_IO;
		}
		free(dir);
		return names;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		if (suffix && (n <= sl || strcmp(e->d_name + n - sl, suffix) != 0))
			continue;
		if (!suffix) {
			char *sub = sb_asprintf("%s/%s", dir, e->d_name);
			struct stat sb;
			int isdir = stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode);
			free(sub);
			if (!isdir)
				continue;
		}
		names = jv_array_append(names, jv_string_sized(e->d_name, (int)(n - sl)));
	}
	closedir(d);
	free(dir);
	return jv_sort(names, jv_copy(names));
}

/* ---- selection ---- */

static int component_chosen(const struct status *st, const char *name)
{
	if (!st->set->nonly)
		return 1;
	for (size_t i = 0; name && i < st->set->nonly; i++)
		if (strcmp(st->set->only[i], name) == 0)
			return 1;
	return 0;
}

/* Does rec (borrowed), about component, belong to the --tenant and --component in force? */
static int selected(const struct status *st, jv rec, const char *component)
{
	return sb_tenant_matches(st->common, rec) && component_chosen(st, component);
}

/* ---- components ---- */

static jv config_components(const struct status *st)
{
	jv comps = sb_config_get(st->common->config, "components");

	if (jv_get_kind(comps) == JV_KIND_OBJECT)
		return comps;
	jv_free(comps);
	return jv_object();
}

static struct comp *comp_get(struct status *st, const char *name)
{
	size_t len = strlen(name);
	struct comp *c = sb_strmap_get(st->by_name, name, len);

	if (c)
		return c;
	c = sb_calloc(1, sizeof *c);
	c->name = sb_strdup(name);
	jv all = config_components(st);
	c->conf = jv_object_get(all, jv_string(name));
	if (!jv_is_valid(c->conf)) {
		jv_free(c->conf);
		c->conf = jv_null();
	}
	c->last = jv_null();
	c->monitoring = jv_array();
	c->held = jv_array();
	c->queued = jv_array();
	sb_strmap_put(st->by_name, name, len, c);
	if (st->ncomps == st->capcomps)
		st->comps = sb_realloc(st->comps, (st->capcomps = st->capcomps ? st->capcomps * 2 : 16) *
						      sizeof *st->comps);
	st->comps[st->ncomps++] = c;
	return c;
}

/* Every configured component of the --tenant in force (all of them without one). */
static void add_configured(struct status *st)
{
	jv all = config_components(st);

	jv_object_foreach(all, name, conf)
	{
		const char *n = jv_string_value(name);
		char *tenant = jv_get_kind(conf) == JV_KIND_OBJECT ? sb_rec_string(conf, "tenant") : NULL;
		const char *want = st->common->tenant;
		if (component_chosen(st, n) && (!want || (tenant && strcmp(tenant, want) == 0)))
			comp_get(st, n);
		free(tenant);
		jv_free(name);
		jv_free(conf);
	}
	jv_free(all);
}

/* ---- the journal ---- */

/* What became of a deployment, as sb-monitor(1) sees it. */
static int classify(jv d)
{
	if (sb_deployment_unfinished(d))
		return C_UNFINISHED;
	if (field_is(d, "status", "rolled_back"))
		return C_ROLLED_BACK;
	if (field_is(d, "status", "failed"))
		return C_FAILED;
	if (!field_is(d, "status", "deployed"))
		return C_UNKNOWN;
	if (field_is(d, "verdict", "keep"))
		return C_KEPT;
	return field_is(d, "verdict", "hold") ? C_HELD : C_MONITORING;
}

static void count(struct counts *c, int k)
{
	c->total++;
	if (k >= 0)
		c->by[k]++;
}

static jv counts_json(const struct counts *c)
{
	jv o = put(jv_object(), "total", jv_number((double)c->total));

	o = put(o, "deployed", jv_number((double)(c->by[C_MONITORING] + c->by[C_KEPT] + c->by[C_HELD])));
	for (int k = 0; k < NCOUNTS; k++)
		o = put(o, count_names[k], jv_number((double)c->by[k]));
	return o;
}

static jv monitoring_item(const struct status *st, jv d)
{
	jv o = put(jv_object(), "deployment", scalar(d, "deployment"));
	double until;

	o = put(o, "change", scalar(d, "change"));
	o = put(o, "since", scalar(d, "finished"));
	o = put(o, "until", scalar(d, "monitor_until"));
	if (sb_rec_time(d, "monitor_until", &until))
		return put(o, "remaining_s", jv_number(until > st->now ? floor(until - st->now) : 0));
	return put(o, "remaining_s", jv_null());
}

/* Its time and reason are the verdict's only while the verdict is its last entry. */
static jv held_item(jv d)
{
	int last = field_is(d, "phase", "verdict");
	jv o = put(jv_object(), "deployment", scalar(d, "deployment"));

	o = put(o, "change", scalar(d, "change"));
	o = put(o, "since", last ? scalar(d, "ts") : jv_null());
	return put(o, "reason", last ? scalar(d, "reason") : jv_null());
}

/* A deployment counts on the local day it started. */
static void count_day(struct status *st, jv d, int k)
{
	double started;
	long ago;

	if ((k != C_KEPT && k != C_ROLLED_BACK) || !sb_rec_time(d, "started", &started))
		return;
	ago = st->today - local_day(started);
	if (ago < 0 || ago >= DAYS)
		return;
	if (k == C_KEPT)
		st->kept_on[DAYS - 1 - ago]++;
	else
		st->rolled_back_on[DAYS - 1 - ago]++;
}

static void take_deployment(struct status *st, jv d)
{
	char *name = sb_rec_string(d, "component");

	if (!name || !*name) {
		char *id = sb_rec_string(d, "deployment");
		sb_warn("deployment %s names no component in the journal; not counted", id ? id : "?");
		free(id);
	} else if (selected(st, d, name)) {
		struct comp *c = comp_get(st, name);
		int k = classify(d);
		count(&c->counts, k);
		count(&st->deployments, k);
		count_day(st, d, k);
		jv_free(c->last);
		c->last = jv_copy(d);
		if (k == C_MONITORING)
			c->monitoring = jv_array_append(c->monitoring, monitoring_item(st, d));
		else if (k == C_HELD)
			c->held = jv_array_append(c->held, held_item(d));
	}
	free(name);
	jv_free(d);
}

static void read_journal(struct status *st)
{
	char *path = sb_asprintf("%s/%s", st->dir, SB_JOURNAL_FILE);
	int ok = readable(st, path, "deployment journal");

	free(path);
	if (!ok)
		return;
	/* The state directory exists, so loading the journal creates nothing. */
	jv deps = sb_journal_load(st->common);
	jv_array_foreach(deps, i, d)
		take_deployment(st, d);
	jv_free(deps);
}

/* ---- the queue ---- */

static void take_queued(struct status *st, jv entry, const char *path)
{
	jv change = sb_rec_get(entry, "change");
	char *id = sb_rec_string(change, "id"), *name = sb_rec_string(change, "component");

	if (!id || !name || !*name)
		sb_warn("%s: not a queue entry (a change with an id and a component); skipped", path);
	else if (selected(st, change, name)) {
		struct comp *c = comp_get(st, name);
		jv item = put(jv_object(), "change", jv_string(id));
		item = put(item, "status", scalar(entry, "status"));
		item = put(item, "reason", scalar(entry, "reason"));
		item = put(item, "queued", scalar(entry, "queued"));
		c->queued = jv_array_append(c->queued, item);
		char *status = sb_rec_string(entry, "status");
		st->queue_counts = tally(st->queue_counts, status ? status : "unknown");
		free(status);
	}
	free(id);
	free(name);
	jv_free(change);
	jv_free(entry);
}

/* Oldest first, as sb-deploy works them off. */
static void read_queue(struct status *st)
{
	jv names = list_dir(st, "queue", ".json"), entries = jv_array(), keys = jv_array();

	jv_array_foreach(names, i, name)
	{
		char *path = sb_asprintf("%s/queue/%s.json", st->dir, jv_string_value(name));
		jv e = read_object(st, path, "queue entry");
		double queued = 0;
		if (jv_is_valid(e)) {
			sb_rec_time(e, "queued", &queued);
			jv wrapped = put(put(jv_object(), "entry", e), "path", jv_string(path));
			entries = jv_array_append(entries, wrapped);
			keys = jv_array_append(keys, jv_number(queued));
		} else
			jv_free(e);
		free(path);
		jv_free(name);
	}
	jv_free(names);
	entries = jv_sort(entries, keys);
	jv_array_foreach(entries, i, w)
	{
		jv path = sb_rec_get(w, "path");
		take_queued(st, sb_rec_get(w, "entry"), jv_string_value(path));
		jv_free(path);
		jv_free(w);
	}
	jv_free(entries);
}

/* ---- components out ---- */

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct comp *const *)a)->name, (*(struct comp *const *)b)->name);
}

static jv last_deployment(jv d)
{
	int k;
	jv o;

	if (jv_get_kind(d) != JV_KIND_OBJECT)
		return jv_null();
	k = classify(d);
	o = put(jv_object(), "deployment", scalar(d, "deployment"));
	o = put(o, "change", scalar(d, "change"));
	o = put(o, "state", jv_string(k >= 0 ? count_names[k] : "unknown"));
	o = put(o, "status", scalar(d, "status"));
	o = put(o, "verdict", scalar(d, "verdict"));
	o = put(o, "started", scalar(d, "started"));
	return put(o, "finished", scalar(d, "finished"));
}

static jv component_record(const struct status *st, struct comp *c)
{
	jv r = put(base_record(st, "component"), "component", jv_string(c->name));
	jv tenant = scalar(c->conf, "tenant");

	if (jv_get_kind(tenant) != JV_KIND_STRING) {
		jv_free(tenant);
		tenant = scalar(c->last, "tenant");
	}
	r = put(r, "tenant", tenant);
	r = put(r, "path", scalar(c->conf, "path"));
	r = put(r, "configured", jv_bool(jv_get_kind(c->conf) != JV_KIND_NULL));
	r = put(r, "last_deployment", last_deployment(c->last));
	r = put(r, "monitoring", jv_copy(c->monitoring));
	r = put(r, "held", jv_copy(c->held));
	r = put(r, "queued", jv_copy(c->queued));
	return put(r, "deployments", counts_json(&c->counts));
}

static void emit_components(struct status *st)
{
	for (size_t i = 0; i < st->set->nonly; i++)
		if (!sb_strmap_get(st->by_name, st->set->only[i], strlen(st->set->only[i])))
			sb_warn("component '%s' is neither configured%s nor in the journal or the queue",
				st->set->only[i], st->common->tenant ? " for the tenant" : "");
	if (st->ncomps)
		qsort(st->comps, st->ncomps, sizeof *st->comps, by_name);
	for (size_t i = 0; i < st->ncomps; i++)
		st->records = jv_array_append(st->records, component_record(st, st->comps[i]));
}

/* ---- cycles ---- */

static jv stage_of(jv s)
{
	jv o = put(jv_object(), "name", scalar(s, "name"));

	o = put(o, "records_in", scalar(s, "records_in"));
	o = put(o, "records_out", scalar(s, "records_out"));
	return put(o, "exit", scalar(s, "exit"));
}

static jv cycle_record(const struct status *st, const char *name, jv doc)
{
	jv r = base_record(st, "cycle"), stages = sb_rec_get(doc, "stages"), out = jv_array();
	double start, end;

	r = put(r, "cycle", string_or(doc, "id", name));
	r = put(r, "start", scalar(doc, "start"));
	r = put(r, "end", scalar(doc, "end"));
	r = put(r, "status", string_or(doc, "status", "unknown"));
	r = put(r, "exit", scalar(doc, "exit"));
	r = put(r, "tenant", scalar(doc, "tenant"));
	r = put(r, "component", scalar(doc, "component"));
	if (sb_rec_time(doc, "start", &start) && sb_rec_time(doc, "end", &end) && end >= start)
		r = put(r, "duration_s", jv_number(round((end - start) * 1000) / 1000));
	else
		r = put(r, "duration_s", jv_null());
	if (jv_get_kind(stages) == JV_KIND_ARRAY) {
		jv_array_foreach(stages, i, s)
		{
			if (jv_get_kind(s) == JV_KIND_OBJECT)
				out = jv_array_append(out, stage_of(s));
			jv_free(s);
		}
	}
	jv_free(stages);
	return put(r, "stages", out);
}

/* A cycle of the --tenant in force, and of a --component or of them all. */
static int cycle_chosen(const struct status *st, jv doc)
{
	char *comp = sb_rec_string(doc, "component");
	int yes = (!st->common->tenant || field_is(doc, "tenant", st->common->tenant)) &&
		  (!comp || component_chosen(st, comp));

	free(comp);
	return yes;
}

/* Newest first, by start; every cycle counts in the totals, the first --cycles are written. */
static jv read_cycles(struct status *st)
{
	jv names = list_dir(st, "cycles", NULL), cycles = jv_array(), keys = jv_array(), out = jv_array();
	long n;

	jv_array_foreach(names, i, name)
	{
		char *path = sb_asprintf("%s/cycles/%s/cycle.json", st->dir, jv_string_value(name));
		/* A folder without cycle.json is passed over in silence: sb-cycle is starting that cycle. */
		jv doc = read_object(st, path, "cycle record");
		if (jv_is_valid(doc) && cycle_chosen(st, doc)) {
			double start = 0;
			jv rec = cycle_record(st, jv_string_value(name), doc);
			jv status = sb_rec_get(rec, "status");
			st->cycle_counts = tally(st->cycle_counts, jv_string_value(status));
			jv_free(status);
			sb_rec_time(doc, "start", &start);
			keys = jv_array_append(keys, jv_array_append(jv_array_append(jv_array(), jv_number(start)),
								     jv_copy(name)));
			cycles = jv_array_append(cycles, rec);
		}
		jv_free(doc);
		free(path);
		jv_free(name);
	}
	jv_free(names);
	cycles = jv_sort(cycles, keys);
	n = jv_array_length(jv_copy(cycles));
	for (long i = n - 1; i >= 0 && n - 1 - i < st->set->cycles; i--)
		out = jv_array_append(out, jv_array_get(jv_copy(cycles), (int)i));
	jv_free(cycles);
	return out;
}

/* ---- breakers ---- */

/* The state now, which may differ from the one written with the file: a cooldown ends by itself. */
static jv breaker_record(const struct status *st, const char *name, jv doc)
{
	jv r = put(base_record(st, "breaker"), "breaker", jv_string(name));
	double failures = 0, until;

	sb_rec_number(doc, "failures", &failures);
	if (sb_rec_time(doc, "open_until", &until) && until > 0) {
		int open = st->now < until;
		r = put(r, "state", jv_string(open ? "open" : "half_open"));
		r = put(r, "failures", jv_number(failures));
		r = put(r, "since", open ? scalar(doc, "updated") : scalar(doc, "open_until"));
		r = put(r, "open_until", scalar(doc, "open_until"));
	} else {
		r = put(r, "state", jv_string("closed"));
		r = put(r, "failures", jv_number(failures));
		r = put(r, "since", jv_null());
		r = put(r, "open_until", jv_null());
	}
	return put(r, "updated", scalar(doc, "updated"));
}

static jv read_breakers(struct status *st)
{
	jv names = list_dir(st, "breakers", ".json"), out = jv_array();

	jv_array_foreach(names, i, name)
	{
		char *path = sb_asprintf("%s/breakers/%s.json", st->dir, jv_string_value(name));
		jv doc = read_object(st, path, "breaker state");
		if (jv_is_valid(doc))
			out = jv_array_append(out, breaker_record(st, jv_string_value(name), doc));
		jv_free(doc);
		free(path);
		jv_free(name);
	}
	jv_free(names);
	return out;
}

/* ---- the audit log ---- */

static int audit_counts(const struct status *st, const char *line)
{
	if (!st->common->tenant && !st->set->nonly)
		return 1;
	jv e = jv_parse(line);
	char *comp = jv_get_kind(e) == JV_KIND_OBJECT ? sb_rec_string(e, "component") : NULL;
	int yes = jv_get_kind(e) == JV_KIND_OBJECT && selected(st, e, comp);
	free(comp);
	jv_free(e);
	return yes;
}

static void read_audit(struct status *st)
{
	char *path = sb_asprintf("%s/audit.ndjson", st->dir), *text = NULL, *line, *next;

	if (readable(st, path, "audit log") && !(text = sb_read_file(path, NULL))) {
		sb_warn("cannot read audit log '%s':", path);
		st->exit = SB_EXIT_IO;
	}
	for (line = text; line && *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		if (*line && audit_counts(st, line))
			st->audit_entries++;
	}
	free(text);
	free(path);
}

/* ---- totals and features ---- */

static jv series(const long *v)
{
	jv a = jv_array();

	for (int i = 0; i < DAYS; i++)
		a = jv_array_append(a, jv_number((double)v[i]));
	return a;
}

static jv totals_record(const struct status *st)
{
	jv r = base_record(st, "totals");
	jv daily = put(jv_object(), "from", day_string(st->today - (DAYS - 1)));

	daily = put(daily, "to", day_string(st->today));
	daily = put(daily, "kept", series(st->kept_on));
	daily = put(daily, "rolled_back", series(st->rolled_back_on));
	r = put(r, "state_dir", jv_string(st->path));
	r = put(r, "components", jv_number((double)st->ncomps));
	r = put(r, "cycles", jv_copy(st->cycle_counts));
	r = put(r, "deployments", counts_json(&st->deployments));
	r = put(r, "queued", jv_copy(st->queue_counts));
	r = put(r, "audit_entries", jv_number((double)st->audit_entries));
	return put(r, "daily", daily);
}

/* The configuration's features over the two defaults sb(7) documents. */
static jv features_record(const struct status *st)
{
	jv f = sb_config_get(st->common->config, "features");
	jv all = put(put(jv_object(), "autonomous_improvements", jv_false()), "improvement_rollback", jv_true());

	if (jv_get_kind(f) == JV_KIND_OBJECT)
		all = jv_object_merge(all, f);
	else {
		if (jv_get_kind(f) != JV_KIND_NULL)
			sb_warn("%s: \"features\" is not an object; ignored", st->common->config_path);
		jv_free(f);
	}
	return put(base_record(st, "features"), "features", all);
}

/* Counts start with every status the tools document, so a zero is shown. */
static jv zero_counts(const char *const *keys)
{
	jv o = put(jv_object(), "total", jv_number(0));

	for (; *keys; keys++)
		o = put(o, *keys, jv_number(0));
	return o;
}

/* Every record, in the order of sb-status(1): components, cycles, breakers, totals, features. */
static void gather(struct status *st)
{
	static const char *const cycle_statuses[] = {"completed", "failed", "running", "interrupted", NULL};
	static const char *const queue_statuses[] = {"awaiting_approval", "deferred", NULL};
	jv cycles = jv_array(), breakers = jv_array();

	st->cycle_counts = zero_counts(cycle_statuses);
	st->queue_counts = zero_counts(queue_statuses);
	add_configured(st);
	if (st->dir) {
		read_journal(st);
		read_queue(st);
		jv_free(cycles);
		cycles = read_cycles(st);
		jv_free(breakers);
		breakers = read_breakers(st);
		read_audit(st);
	}
	emit_components(st);
	st->records = jv_array_concat(st->records, cycles);
	st->records = jv_array_concat(st->records, breakers);
	st->records = jv_array_append(st->records, totals_record(st));
	st->records = jv_array_append(st->records, features_record(st));
}

/* ---- the table format ---- */

/* A table: cells are owned strings, row-major; heads NULL for a table without a header line. */
struct table {
	const char *title;
	int ncols;
	const char *const *heads;
	char **cells;
	size_t nrows, cap;
};

/* Characters, not bytes: UTF-8 continuation bytes take no column. */
static size_t width_of(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

/* A cell never breaks a line or the alignment: control characters become '?'. */
static char *clean(char *s)
{
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

static void row(struct table *t, ...)
{
	va_list ap;

	if (t->nrows == t->cap)
		t->cells = sb_realloc(t->cells, (t->cap = t->cap ? t->cap * 2 : 8) * (size_t)t->ncols * sizeof *t->cells);
	va_start(ap, t);
	for (int i = 0; i < t->ncols; i++)
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = clean(va_arg(ap, char *));
	va_end(ap);
	t->nrows++;
}

static void print_line(const char *const *cells, int n, const size_t *widths)
{
	struct sb_buf b = {0};

	for (int i = 0; i < n; i++) {
		sb_buf_str(&b, cells[i]);
		for (size_t w = width_of(cells[i]); i < n - 1 && w < widths[i] + 2; w++)
			sb_buf_add(&b, " ", 1);
	}
	sb_output_raw(b.p ? b.p : "", b.n);
	free(b.p);
}

static void print_table(struct table *t, int first)
{
	size_t *widths = sb_calloc((size_t)t->ncols, sizeof *widths);

	if (!first)
		sb_output_raw("", 0);
	sb_output_raw(t->title, strlen(t->title));
	for (int i = 0; i < t->ncols; i++) {
		widths[i] = t->heads ? width_of(t->heads[i]) : 0;
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = width_of(t->cells[r * (size_t)t->ncols + (size_t)i]);
			widths[i] = w > widths[i] ? w : widths[i];
		}
	}
	if (!t->nrows)
		sb_output_raw("(none)", 6);
	else if (t->heads)
		print_line(t->heads, t->ncols, widths);
	for (size_t r = 0; r < t->nrows; r++)
		print_line((const char *const *)t->cells + r * (size_t)t->ncols, t->ncols, widths);
	free(widths);
}

static void free_table(struct table *t)
{
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* A field as table text: a string as it is, a number, "-" for anything missing. */
static char *text(jv rec, const char *key)
{
	jv v = sb_rec_get(rec, key);
	char *s;

	if (jv_get_kind(v) == JV_KIND_STRING)
		s = sb_strdup(jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		s = sb_asprintf("%.15g", jv_number_value(v));
	else if (jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE)
		s = sb_strdup(jv_get_kind(v) == JV_KIND_TRUE ? "true" : "false");
	else
		s = sb_strdup("-");
	jv_free(v);
	return s;
}

/* A time as local time to the second; text that is not a time as it is. */
static char *local_time(jv rec, const char *key)
{
	double t;
	time_t s;
	struct tm tm;
	char buf[64];

	if (!sb_rec_time(rec, key, &t))
		return text(rec, key);
	s = (time_t)floor(t);
	if (!localtime_r(&s, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm))
		return text(rec, key);
	return sb_strdup(buf);
}

static char *duration(jv rec, const char *key, const char *zero)
{
	double s;
	char buf[64];

	if (!sb_rec_number(rec, key, &s))
		return sb_strdup("-");
	if (s <= 0 && zero)
		return sb_strdup(zero);
	return sb_strdup(sb_duration_format(s, buf, sizeof buf));
}

static char *number(jv rec, const char *key)
{
	double v = 0;

	sb_rec_number(rec, key, &v);
	return sb_asprintf("%.15g", v);
}

struct tables {
	struct table comps, watch, queue, cycles, breakers, totals, features;
};

static void watch_row(struct tables *t, const char *name, jv m)
{
	row(&t->watch, sb_strdup(name), text(m, "deployment"), text(m, "change"), sb_strdup("monitoring"),
	    local_time(m, "since"), local_time(m, "until"), duration(m, "remaining_s", "ended"), sb_strdup("-"));
}

static void held_row(struct tables *t, const char *name, jv h)
{
	row(&t->watch, sb_strdup(name), text(h, "deployment"), text(h, "change"), sb_strdup("held"),
	    local_time(h, "since"), sb_strdup("-"), sb_strdup("-"), text(h, "reason"));
}

static void queue_row(struct tables *t, const char *name, jv q)
{
	row(&t->queue, sb_strdup(name), text(q, "change"), text(q, "status"), local_time(q, "queued"),
	    text(q, "reason"));
}

/* One row by fn for each object of list (consumed). */
static void rows_of(struct tables *t, const char *name, jv list, void (*fn)(struct tables *, const char *, jv))
{
	if (jv_get_kind(list) == JV_KIND_ARRAY) {
		jv_array_foreach(list, i, item)
		{
			fn(t, name, item);
			jv_free(item);
		}
	}
	jv_free(list);
}

static void component_rows(struct tables *t, jv rec)
{
	jv last = sb_rec_get(rec, "last_deployment"), counts = sb_rec_get(rec, "deployments");
	jv queued = sb_rec_get(rec, "queued");
	char *name = text(rec, "component");

	row(&t->comps, sb_strdup(name), text(rec, "tenant"), text(last, "deployment"), text(last, "state"),
	    local_time(last, "started"), number(counts, "total"), number(counts, "kept"),
	    number(counts, "rolled_back"), number(counts, "failed"),
	    sb_asprintf("%d", jv_get_kind(queued) == JV_KIND_ARRAY ? jv_array_length(jv_copy(queued)) : 0));
	rows_of(t, name, sb_rec_get(rec, "monitoring"), watch_row);
	rows_of(t, name, sb_rec_get(rec, "held"), held_row);
	rows_of(t, name, queued, queue_row);
	free(name);
	jv_free(last);
	jv_free(counts);
}

/* "stream 1200 | analyze 14 | score 3": what each stage wrote. */
static char *stages_text(jv rec)
{
	jv stages = sb_rec_get(rec, "stages");
	struct sb_buf b = {0};

	if (jv_get_kind(stages) == JV_KIND_ARRAY) {
		jv_array_foreach(stages, i, s)
		{
			char *name = text(s, "name"), *out = text(s, "records_out");
			sb_buf_addf(&b, "%s%s %s", i ? " | " : "", name, out);
			free(name);
			free(out);
			jv_free(s);
		}
	}
	jv_free(stages);
	return b.n ? sb_buf_take(&b) : (free(b.p), sb_strdup("-"));
}

static void cycle_row(struct tables *t, jv rec)
{
	row(&t->cycles, text(rec, "cycle"), local_time(rec, "start"), duration(rec, "duration_s", NULL),
	    text(rec, "status"), text(rec, "exit"), stages_text(rec));
}

static void breaker_row(struct tables *t, jv rec)
{
	row(&t->breakers, text(rec, "breaker"), text(rec, "state"), text(rec, "failures"), local_time(rec, "since"),
	    local_time(rec, "open_until"));
}

/* "5 (1 monitoring, 2 kept, ...)": a count object's total, then its parts but the aggregate "deployed". */
static char *counts_text(jv rec, const char *key)
{
	jv counts = sb_rec_get(rec, key);
	struct sb_buf b = {0};
	int n = 0;

	if (jv_get_kind(counts) != JV_KIND_OBJECT) {
		jv_free(counts);
		return sb_strdup("-");
	}
	char *total = number(counts, "total");
	sb_buf_addf(&b, "%s", total);
	free(total);
	jv_object_foreach(counts, k, v)
	{
		const char *name = jv_string_value(k);
		if (strcmp(name, "total") != 0 && strcmp(name, "deployed") != 0 && jv_get_kind(v) == JV_KIND_NUMBER) {
			sb_buf_addf(&b, "%s%.15g ", n++ ? ", " : " (", jv_number_value(v));
			for (const char *p = name; *p; p++)
				sb_buf_add(&b, *p == '_' ? " " : p, 1);
		}
		jv_free(k);
		jv_free(v);
	}
	if (n)
		sb_buf_str(&b, ")");
	jv_free(counts);
	return sb_buf_take(&b);
}

static void totals_rows(struct tables *t, jv rec)
{
	row(&t->totals, sb_strdup("components"), text(rec, "components"));
	row(&t->totals, sb_strdup("cycles"), counts_text(rec, "cycles"));
	row(&t->totals, sb_strdup("deployments"), counts_text(rec, "deployments"));
	row(&t->totals, sb_strdup("queued"), counts_text(rec, "queued"));
	row(&t->totals, sb_strdup("audit entries"), text(rec, "audit_entries"));
	row(&t->totals, sb_strdup("state directory"), text(rec, "state_dir"));
}

static void features_rows(struct tables *t, jv rec)
{
	jv f = sb_rec_get(rec, "features");

	if (jv_get_kind(f) == JV_KIND_OBJECT) {
		jv keys = jv_keys(jv_copy(f));
		jv_array_foreach(keys, i, key)
		{
			jv dump = jv_dump_string(jv_object_get(jv_copy(f), jv_copy(key)), 0);
			row(&t->features, sb_strdup(jv_string_value(key)), sb_strdup(jv_string_value(dump)));
			jv_free(dump);
			jv_free(key);
		}
		jv_free(keys);
	}
	jv_free(f);
}

/* LC_ALL, else LC_CTYPE, else LANG names the character set, as setlocale(3) would pick it. */
static int utf8_locale(void)
{
	static const char *const vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};

	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
	}
	return 0;
}

/*
 * One character a day: blank for none, else a level from 1 to the top
 * (the day with the most, in either series, is the top), rounded up so
 * that a single deployment always shows.
 */
static void spark(struct sb_buf *b, jv values, double max, int utf8)
{
	static const char *const blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	static const char ascii[] = ".:-=+*#%@";
	int levels = utf8 ? 8 : 9;

	jv_array_foreach(values, i, v)
	{
		double n = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;
		int level = n > 0 ? (int)ceil(n * levels / max) : 0;
		if (level > levels)
			level = levels;
		if (!level)
			sb_buf_add(b, " ", 1);
		else if (utf8)
			sb_buf_str(b, blocks[level - 1]);
		else
			sb_buf_add(b, &ascii[level - 1], 1);
		jv_free(v);
	}
	jv_free(values);
}

static double series_stats(jv values, double *max)
{
	double sum = 0;

	jv_array_foreach(values, i, v)
	{
		double n = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;
		sum += n;
		*max = n > *max ? n : *max;
		jv_free(v);
	}
	jv_free(values);
	return sum;
}

static void sparkline(jv totals)
{
	jv daily = sb_rec_get(totals, "daily");
	jv kept = sb_rec_get(daily, "kept"), back = sb_rec_get(daily, "rolled_back");
	char *from = text(daily, "from"), *to = text(daily, "to");
	struct sb_buf b = {0};
	double max = 0, nkept, nback;

	if (jv_get_kind(kept) == JV_KIND_ARRAY && jv_get_kind(back) == JV_KIND_ARRAY) {
		nkept = series_stats(jv_copy(kept), &max);
		nback = series_stats(jv_copy(back), &max);
		sb_buf_str(&b, "kept/rolled back, last 14 days: [");
		spark(&b, jv_copy(kept), max, utf8_locale());
		sb_buf_str(&b, "] [");
		spark(&b, jv_copy(back), max, utf8_locale());
		sb_buf_addf(&b, "] (%.15g kept, %.15g rolled back, %s to %s)", nkept, nback, from, to);
		sb_output_raw(b.p, b.n);
	}
	free(b.p);
	free(from);
	free(to);
	jv_free(kept);
	jv_free(back);
	jv_free(daily);
}

/* The rows of one record (consumed) in the tables; the totals record is kept for the sparkline. */
static jv table_rows(struct tables *t, jv rec, jv totals)
{
	char *kind = sb_rec_string(rec, "kind");

	if (!kind)
		;
	else if (strcmp(kind, "component") == 0)
		component_rows(t, rec);
	else if (strcmp(kind, "cycle") == 0)
		cycle_row(t, rec);
	else if (strcmp(kind, "breaker") == 0)
		breaker_row(t, rec);
	else if (strcmp(kind, "features") == 0)
		features_rows(t, rec);
	else if (strcmp(kind, "totals") == 0) {
		totals_rows(t, rec);
		jv_free(totals);
		totals = jv_copy(rec);
	}
	free(kind);
	jv_free(rec);
	return totals;
}

static void print_tables(jv records)
{
	static const char *const comp_heads[] = {"COMPONENT", "TENANT", "LAST DEPLOYMENT", "STATE", "STARTED",
						 "DEPLOYMENTS", "KEPT", "ROLLED BACK", "FAILED", "QUEUED"};
	static const char *const watch_heads[] = {"COMPONENT", "DEPLOYMENT", "CHANGE", "STATE",
						  "SINCE", "UNTIL", "REMAINING", "REASON"};
	static const char *const queue_heads[] = {"COMPONENT", "CHANGE", "STATUS", "QUEUED", "REASON"};
	static const char *const cycle_heads[] = {"CYCLE", "START", "DURATION", "STATUS", "EXIT", "STAGES"};
	static const char *const breaker_heads[] = {"BREAKER", "STATE", "FAILURES", "SINCE", "OPEN UNTIL"};
	struct tables t = {
		.comps = {"COMPONENTS", 10, comp_heads, NULL, 0, 0},
		.watch = {"MONITORING/HELD", 8, watch_heads, NULL, 0, 0},
		.queue = {"QUEUE", 5, queue_heads, NULL, 0, 0},
		.cycles = {"CYCLES", 6, cycle_heads, NULL, 0, 0},
		.breakers = {"BREAKERS", 5, breaker_heads, NULL, 0, 0},
		.totals = {"TOTALS", 2, NULL, NULL, 0, 0},
		.features = {"FEATURES", 2, NULL, NULL, 0, 0},
	};
	jv totals = jv_null();

	jv_array_foreach(records, i, rec)
		totals = table_rows(&t, rec, totals);
	struct table *all[] = {&t.comps, &t.watch, &t.queue, &t.cycles, &t.breakers, &t.totals, &t.features};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		print_table(all[i], i == 0);
		if (all[i] == &t.totals)
			sparkline(totals);
		free_table(all[i]);
	}
	jv_free(totals);
	jv_free(records);
}

/* ---- main ---- */

static jv apply_where(const struct sb_common *c, jv records)
{
	sb_where *w;
	jv kept;
	char err[512];

	if (!c->where)
		return records;
	w = sb_where_compile(c->where);
	kept = jv_array();
	jv_array_foreach(records, i, rec)
	{
		int yes = sb_where_test(w, rec, err, sizeof err);
		if (yes < 0)
			sb_warn("--where: %s; record left out", err);
		if (yes > 0)
			kept = jv_array_append(kept, rec);
		else
			jv_free(rec);
	}
	sb_where_free(w);
	jv_free(records);
	return kept;
}

static void free_status(struct status *st)
{
	for (size_t i = 0; i < st->ncomps; i++) {
		struct comp *c = st->comps[i];
		free(c->name);
		jv_free(c->conf);
		jv_free(c->last);
		jv_free(c->monitoring);
		jv_free(c->held);
		jv_free(c->queued);
		free(c);
	}
	free(st->comps);
	sb_strmap_free(st->by_name);
	jv_free(st->cycle_counts);
	jv_free(st->queue_counts);
	free(st->path);
}

int main(int argc, char **argv)
{
	struct settings set = {.format = FORMAT_AUTO, .cycles = 10};
	const struct sb_tool_spec spec = {
		.name = "sb-status",
		.synopsis = "[OPTION]...",
		.purpose = "Report what the state directory holds: components, monitoring, queue, cycles, breakers.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	struct status st = {0};
	int status;

	sb_progname = "sb-status";
	sb_opts_parse(&spec, argc, argv, &common);
	if (common.nfiles)
		sb_usage_error("unexpected operand '%s': sb-status reads the state directory, not files",
			       common.files[0]);
	st.common = &common;
	st.set = &set;
	st.now = sb_clock();
	st.today = local_day(st.now);
	st.by_name = sb_strmap_new();
	st.records = jv_array();
	sb_output_init(common.unbuffered);
	if (set.format == FORMAT_AUTO)
		set.format = isatty(STDOUT_FILENO) ? FORMAT_TABLE : FORMAT_JSON;

	open_state_dir(&st);
	gather(&st);
	if (common.verbose)
		sb_warn("%zu components, %ld deployments, %ld audit entries in '%s'", st.ncomps, st.deployments.total,
			st.audit_entries, st.path);
	jv records = apply_where(&common, st.records);
	if (set.format == FORMAT_TABLE)
		print_tables(records);
	else {
		jv_array_foreach(records, i, rec)
			sb_output_record(rec);
		jv_free(records);
	}
	status = sb_output_finish();
	status = st.exit > status ? st.exit : status;

	free_status(&st);
	free(set.only);
	sb_opts_free(&common);
	return status;
}
