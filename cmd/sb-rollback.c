/* sb-rollback - put a deployment's pre-image back, byte for byte, reload and check health */
#include "audit.h"
#include "config.h"
#include "deployment.h"
#include "err.h"
#include "filter.h"
#include "opts.h"
#include "output.h"
#include "record.h"
#include "selfmetrics.h"
#include "strmap.h"
#include "timefmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { OPT_CASCADE = 1000, OPT_DRY_RUN, OPT_REASON };

static const struct sb_option options[] = {
	{"cascade", 0, NULL, "roll back later deployments that touched the same files first, newest first",
	 OPT_CASCADE, NULL, NULL},
	{"dry-run", 'n', NULL, "report what would be rolled back; change nothing", OPT_DRY_RUN, NULL, NULL},
	{"reason", 0, "TEXT", "why, for the journal and the audit log (deployment ids given as arguments)",
	 OPT_REASON, NULL, NULL},
	SB_RUNNER_OPTIONS("rollback"),
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

struct settings {
	int cascade, dry_run;
	const char *reason;
	struct sb_runner run;
};

static int set_option(void *ctx, int id, const char *arg)
{
	struct settings *s = ctx;
	int rc;

	switch (id) {
	case OPT_CASCADE: s->cascade = 1; return 0;
	case OPT_DRY_RUN:
		s->dry_run = s->run.dry_run = 1;
		sb_selfmetrics_disable();
		return 0;
	case OPT_REASON: s->reason = arg; return 0;
	}
	rc = sb_runner_option(&s->run, id, arg);
	return rc == -2 ? -1 : rc;
}

struct roller {
	struct settings *set;
	const struct sb_common *common;
	struct sb_runner *run;
	int enabled;      /* features.improvement_rollback */
	sb_strmap *seen;  /* deployment ids handled in this run */
	int status;
};

/* The rollback record, built as the work goes. */
struct result {
	const char *status; /* rolled_back, planned, skipped, failed */
	char *reason;
	int negative;
	jv fields;          /* restored, reload, health, notified... */
};

static void set_result(struct result *res, const char *status, int negative, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_result(struct result *res, const char *status, int negative, const char *fmt, ...)
{
	va_list ap;

	free(res->reason);
	va_start(ap, fmt);
	res->reason = sb_vasprintf(fmt, ap);
	va_end(ap);
	res->status = status;
	res->negative = negative;
}

static int is_status(jv dep, const char *status)
{
	char *s = sb_rec_string(dep, "status");
	int is = s && strcmp(s, status) == 0;

	free(s);
	return is;
}

static int shares_path(jv a, jv b)
{
	jv pa = sb_deployment_paths(a), pb = sb_deployment_paths(b);
	int shared = 0;

	jv_array_foreach(pa, i, x)
	{
		jv_array_foreach(pb, k, y)
		{
			shared |= strcmp(jv_string_value(x), jv_string_value(y)) == 0;
			jv_free(y);
		}
		jv_free(x);
	}
	jv_free(pa);
	jv_free(pb);
	return shared;
}

/* Deployments still in effect that came after dep on its component and touched one of its files, newest first. */
static jv later_overlapping(jv deps, jv dep)
{
	char *id = sb_rec_string(dep, "deployment"), *comp = sb_rec_string(dep, "component");
	jv later = jv_array();
	int after = 0;

	jv_array_foreach(deps, i, d)
	{
		char *did = sb_rec_string(d, "deployment"), *dcomp = sb_rec_string(d, "component");
		if (after && dcomp && comp && strcmp(dcomp, comp) == 0 && is_status(d, "deployed") && shares_path(dep, d))
			later = jv_array_concat(jv_array_append(jv_array(), jv_string(did)), later);
		if (did && strcmp(did, id) == 0)
			after = 1;
		free(did);
		free(dcomp);
		jv_free(d);
	}
	free(id);
	free(comp);
	return later;
}

static jv component_config(struct roller *r, const char *name)
{
	return jv_get_kind(r->run->components) == JV_KIND_OBJECT ? sb_rec_get(r->run->components, name) : jv_null();
}

static jv entry_for(const char *id, const char *phase)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("deployment"), jv_string(id)), jv_string("phase"),
			     jv_string(phase));
}

/* Under the component's lock: journal, restore, reload, health, journal. */
static void restore_locked(struct roller *r, jv dep, const char *reason, struct result *res)
{
	char *id = sb_rec_string(dep, "deployment"), *comp = sb_rec_string(dep, "component"),
	     *root = sb_rec_string(dep, "target"), err[1024];
	jv restored, component = component_config(r, comp ? comp : "");
	jv begin = jv_object_set(entry_for(id, "rollback_begin"), jv_string("reason"), jv_string(reason));

	sb_journal_append(r->run, begin);
	int rc = sb_restore_pre_image(r->run, dep, &restored, err, sizeof err);
	if (rc == -2)
		/* Part of it is back: leave the journal open so the next run finishes the job. */
		sb_die(SB_EXIT_IO, "rolling back %s failed part-way: %s (the next sb-deploy or sb-rollback retries)", id,
		       err);
	jv done = entry_for(id, "rollback_done");
	if (rc == -1) {
		set_result(res, "failed", 1, "pre-image refused, nothing written: %s", err);
		done = jv_object_set(done, jv_string("rollback_status"), jv_string("failed"));
		done = jv_object_set(done, jv_string("rollback_reason"), jv_string(res->reason));
		jv_free(restored);
	} else {
		jv reload = sb_run_reload(r->run, component, root, id), health = jv_null();
		if (sb_rec_true(reload, "ok"))
			health = sb_run_health(r->run, component, root, id);
		int healthy = jv_get_kind(health) != JV_KIND_NULL && sb_rec_true(health, "ok");
		if (healthy)
			set_result(res, "rolled_back", 0, "%s", reason);
		else
			set_result(res, "rolled_back", 1, "%s; but the previous version is not healthy either", reason);
		done = jv_object_set(done, jv_string("status"), jv_string("rolled_back"));
		done = jv_object_set(done, jv_string("rollback_reason"), jv_string(res->reason));
		done = jv_object_set(done, jv_string("restored"), jv_copy(restored));
		res->fields = jv_object_set(res->fields, jv_string("restored"), restored);
		res->fields = jv_object_set(res->fields, jv_string("reload"), jv_copy(reload));
		res->fields = jv_object_set(res->fields, jv_string("health"), jv_copy(health));
		done = jv_object_set(done, jv_string("reload"), reload);
		done = jv_object_set(done, jv_string("health"), health);
	}
	sb_journal_append(r->run, done);
	jv_free(component);
	free(id);
	free(comp);
	free(root);
}

static void emit(struct roller *r, const char *id, jv dep, struct result *res);

static void rollback_id(struct roller *r, const char *id, const char *reason);

/* Roll back the later deployments in the way, newest first; 0 when all of them are gone. */
static int cascade(struct roller *r, jv later, const char *id)
{
	int ok = 1;

	jv_array_foreach(later, i, l)
	{
		char *why = sb_asprintf("cascade: rolling back %s", id);
		if (ok) {
			rollback_id(r, jv_string_value(l), why);
			jv deps = sb_journal_load(r->common), d = sb_journal_find(deps, jv_string_value(l));
			ok = !is_status(d, "deployed") || r->set->dry_run;
			jv_free(d);
			jv_free(deps);
		}
		free(why);
		jv_free(l);
	}
	return ok;
}

static void rollback_dep(struct roller *r, const char *id, jv dep, const char *reason, struct result *res)
{
	jv deps = sb_journal_load(r->common), later;
	char *comp = sb_rec_string(dep, "component");
	int fd;

	later = later_overlapping(deps, dep);
	if (!r->enabled) {
		set_result(res, "planned", 1, "would roll back; features.improvement_rollback is off");
	} else if (jv_array_length(jv_copy(later)) > 0 && !r->set->cascade) {
		jv txt = jv_dump_string(jv_copy(later), 0);
		set_result(res, "skipped", 1, "later deployments touched the same files: %s (roll them back first, or --cascade)",
			   jv_string_value(txt));
		jv_free(txt);
	} else if (jv_array_length(jv_copy(later)) > 0 && !cascade(r, later, id)) {
		set_result(res, "failed", 1, "a later deployment in the way could not be rolled back");
	} else if (r->set->dry_run) {
		set_result(res, "planned", 0, "dry run: would roll back (%s)", reason);
	} else if ((fd = sb_component_lock(r->common, comp, r->run->lock_timeout)) < 0) {
		set_result(res, "failed", 1, "component %s is locked by another run", comp);
	} else {
		/* Another run may have rolled it back while this one waited. */
		jv fresh = sb_journal_load(r->common), now = sb_journal_find(fresh, id);
		if (is_status(now, "deployed") && !sb_deployment_unfinished(now))
			restore_locked(r, now, reason, res);
		else
			set_result(res, "skipped", 0, "no longer deployed");
		jv_free(now);
		jv_free(fresh);
		sb_component_unlock(fd);
	}
	jv_free(later);
	jv_free(deps);
	free(comp);
}

static void rollback_id(struct roller *r, const char *id, const char *reason)
{
	struct result res = {.fields = jv_object()};
	jv deps, dep;

	if (sb_strmap_get(r->seen, id, strlen(id)))
		return;
	sb_strmap_put(r->seen, id, strlen(id), (void *)1);
	deps = sb_journal_load(r->common);
	dep = sb_journal_find(deps, id);
	jv_free(deps);
	if (jv_get_kind(dep) == JV_KIND_NULL)
		set_result(&res, "failed", 1, "no deployment %s in the journal", id);
	else if (!sb_tenant_matches(r->common, dep))
		set_result(&res, "skipped", 1, "deployment of another tenant");
	else if (is_status(dep, "rolled_back"))
		set_result(&res, "skipped", 0, "already rolled back");
	else if (sb_deployment_unfinished(dep))
		set_result(&res, "failed", 1, "its journal entry is unfinished: another run is changing it, or recovery failed (see the messages above)");
	else if (!is_status(dep, "deployed"))
		set_result(&res, "skipped", 0, "nothing to roll back: the deployment did not complete");
	else
		rollback_dep(r, id, dep, reason, &res);
	emit(r, id, dep, &res);
	jv_free(dep);
}

/* The statuses of a rollback record: each counted from zero, so every series exists from the first run. */
static const char *const statuses[] = {"rolled_back", "failed", "skipped", "planned", NULL};

static void count_rollback(const char *status, double n)
{
	char labels[64];

	snprintf(labels, sizeof labels, "status=\"%s\"", status);
	sb_selfmetric_add("sb_rollbacks_total", labels, n,
			  "Deployments sb-rollback handled, by the status of the rollback record it wrote.");
}

static void emit(struct roller *r, const char *id, jv dep, struct result *res)
{
	char ts[SB_TIME_BUFSZ];
	jv rec = jv_object_set(jv_object(), jv_string("type"), jv_string("rollback"));

	rec = jv_object_set(rec, jv_string("deployment"), jv_string(id));
	rec = jv_object_set(rec, jv_string("change"), sb_rec_get(dep, "change"));
	char *tenant = sb_rec_string(dep, "tenant");
	if (tenant)
		rec = jv_object_set(rec, jv_string("tenant"), jv_string(tenant));
	free(tenant);
	rec = jv_object_set(rec, jv_string("component"), sb_rec_get(dep, "component"));
	rec = jv_object_set(rec, jv_string("status"), jv_string(res->status));
	rec = jv_object_set(rec, jv_string("reason"), jv_string(res->reason));
	rec = jv_object_set(rec, jv_string("ts"), jv_string(sb_time_format(sb_clock(), ts)));
	rec = jv_object_set(rec, jv_string("restored"), jv_array());
	rec = jv_object_merge(rec, res->fields);
	if (strcmp(res->status, "rolled_back") == 0) {
		char *comp = sb_rec_string(dep, "component");
		rec = jv_object_set(rec, jv_string("notified"), sb_notify(r->run, comp, rec));
		free(comp);
	}
	if (!r->set->dry_run && strcmp(res->status, "planned") != 0) {
		jv a = jv_object_set(jv_object(), jv_string("action"),
				     jv_string(strcmp(res->status, "rolled_back") == 0 ? "rollback" : "rollback.refused"));
		a = jv_object_set(a, jv_string("deployment"), jv_string(id));
		a = jv_object_set(a, jv_string("component"), sb_rec_get(dep, "component"));
		a = jv_object_set(a, jv_string("status"), jv_string(res->status));
		a = jv_object_set(a, jv_string("reason"), jv_string(res->reason));
		sb_runner_audit(r->run, a);
	}
	if (res->negative)
		r->status = SB_EXIT_NEGATIVE;
	count_rollback(res->status, 1);
	sb_output_record(rec);
	free(res->reason);
}

/* A verdict asking for a rollback, or a deployment record of a deployment that went out. */
static int rollback_record(void *ctx, jv rec, struct sb_input *in)
{
	struct roller *r = ctx;
	char *type = sb_rec_string(rec, "type"), *id = NULL, *why = NULL;

	(void)in;
	if (strcmp(type, "verdict") == 0) {
		char *decision = sb_rec_string(rec, "decision"), *reason = sb_rec_string(rec, "reason");
		id = sb_rec_string(rec, "deployment");
		if (decision && strcmp(decision, "rollback") == 0)
			why = sb_asprintf("verdict: %s", reason ? reason : "rollback");
		free(decision);
		free(reason);
	} else {
		id = sb_rec_string(rec, "id");
		if (is_status(rec, "deployed"))
			why = sb_strdup(r->set->reason ? r->set->reason : "requested");
	}
	if (id && why)
		rollback_id(r, id, why);
	else if (r->common->verbose)
		sb_warn("%s %s: nothing to roll back", type, id ? id : "(no id)");
	free(type);
	free(id);
	free(why);
	jv_free(rec);
	return 0;
}

/* Operands that are deployment ids ("dep-...", and no such file) rather than files to read. */
static char **take_ids(struct sb_common *c, int *nids)
{
	char **ids = sb_calloc((size_t)c->nfiles + 1, sizeof *ids);
	int kept = 0;
	struct stat st;

	*nids = 0;
	for (int i = 0; i < c->nfiles; i++) {
		if (strncmp(c->files[i], "dep-", 4) == 0 && stat(c->files[i], &st) < 0)
			ids[(*nids)++] = c->files[i];
		else
			c->files[kept++] = c->files[i];
	}
	c->nfiles = kept;
	return ids;
}

int main(int argc, char **argv)
{
	static const char *const consumes[] = {"verdict", "deployment", NULL};
	struct settings set = {0};
	const struct sb_tool_spec spec = {
		.name = "sb-rollback",
		.synopsis = "[OPTION]... [FILE | DEPLOYMENT_ID]...",
		.purpose = "Put deployments back to their pre-image: on rollback verdicts, deployment records or ids.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	struct sb_run run;
	struct roller r = {.set = &set, .common = &common, .run = &set.run};
	char **ids;
	int nids, status;
	jv enabled;

	sb_progname = "sb-rollback";
	sb_runner_init(&set.run);
	sb_opts_parse(&spec, argc, argv, &common);
	sb_runner_start(&set.run, &common);
	enabled = sb_config_get(common.config, "features.improvement_rollback");
	r.enabled = jv_get_kind(enabled) != JV_KIND_FALSE;
	jv_free(enabled);
	r.seen = sb_strmap_new();
	sb_clock(); /* a malformed SB_NOW is a usage error before anything is done */
	ids = take_ids(&common, &nids);

	for (const char *const *st = statuses; *st; st++)
		count_rollback(*st, 0);
	sb_recover(&set.run);
	sb_filter_begin(&run, &common);
	for (int i = 0; i < nids; i++) {
		char *why = set.reason ? sb_strdup(set.reason) : sb_asprintf("requested by %s", sb_audit_actor());
		rollback_id(&r, ids[i], why);
		free(why);
	}
	if (!nids || common.nfiles)
		sb_filter_loop(&run, &(struct sb_filter){.consumes = consumes, .record = rollback_record, .ctx = &r});
	status = sb_filter_end(&run);
	if (status == 0)
		status = r.status;

	free(ids);
	sb_strmap_free(r.seen);
	sb_runner_free(&set.run);
	sb_opts_free(&common);
	return status;
}
