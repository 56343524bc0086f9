/* sb-deploy - apply validated changes to components: approval, window, snapshot, journaled writes, reload, health */
#include "audit.h"
#include "change.h"
#include "config.h"
#include "deployment.h"
#include "edits.h"
#include "err.h"
#include "filter.h"
#include "fsutil.h"
#include "hash.h"
#include "opts.h"
#include "output.h"
#include "record.h"
#include "selfmetrics.h"
#include "snapshot.h"
#include "state.h"
#include "strmap.h"
#include "timefmt.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OPT_YES = 1000, OPT_DRY_RUN, OPT_APPROVE, OPT_APPROVER, OPT_MONITOR, OPT_COMPRESSION };

static const struct sb_option options[] = {
	{"yes", 'y', NULL, "deploy even when features.autonomous_improvements is off", OPT_YES, NULL, NULL},
	{"dry-run", 'n', NULL, "report what would be deployed; change nothing", OPT_DRY_RUN, NULL, NULL},
	{"approve", 0, "CHANGE_ID", "approve a change that requires approval (repeatable); stdin is then not read",
	 OPT_APPROVE, NULL, NULL},
	{"approver", 0, "NAME", "who approves (default $SB_ACTOR, else the user name)", OPT_APPROVER, "SB_APPROVER",
	 NULL},
	{"monitor", 0, "DURATION", "monitoring period after a deployment (default 1h)", OPT_MONITOR,
	 "SB_DEPLOY_MONITOR", "deploy.monitor"},
	{"compression", 0, "gzip|zstd", "compression of pre-image archives (default gzip)", OPT_COMPRESSION, NULL,
	 "deploy.compression"},
	SB_RUNNER_OPTIONS("deploy"),
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static const char *const compressions[] = {"gzip", "zstd", NULL};

struct settings {
	int yes, dry_run;
	char **approve;
	int napprove;
	const char *approver;
	double monitor;
	int compression;
	struct sb_runner run;
};

static int set_option(void *ctx, int id, const char *arg)
{
	struct settings *s = ctx;
	int rc;

	switch (id) {
	case OPT_YES: s->yes = 1; return 0;
	case OPT_DRY_RUN:
		s->dry_run = s->run.dry_run = 1;
		sb_selfmetrics_disable();
		return 0;
	case OPT_APPROVE:
		if (!*arg) {
			fprintf(stderr, "sb-deploy: --approve: empty change id\n");
			return -1;
		}
		s->approve = sb_realloc(s->approve, (size_t)(s->napprove + 1) * sizeof *s->approve);
		s->approve[s->napprove++] = (char *)arg;
		return 0;
	case OPT_APPROVER: s->approver = arg; return 0;
	case OPT_MONITOR: return sb_opt_duration("monitor", arg, &s->monitor);
	case OPT_COMPRESSION:
		return (s->compression = sb_opt_choice("compression", arg, compressions)) < 0 ? -1 : 0;
	}
	rc = sb_runner_option(&s->run, id, arg);
	return rc == -2 ? -1 : rc;
}

/* ---- one run ---- */

struct deployer {
	struct settings *set;
	const struct sb_common *common;
	struct sb_runner *run;
	int autonomous;
	sb_strmap *done;   /* change ids handled in this run */
	int status;
};

/* What became of one change. */
struct outcome {
	const char *status;   /* deployed, rolled_back, failed, skipped, planned, deferred, awaiting_approval */
	char *reason;
	int negative;         /* counts toward exit status 1 */
	int queue;            /* keep it queued for a later run */
	jv dep;               /* journal fields of a deployment that started, or null */
};

static void set_outcome(struct outcome *o, const char *status, int negative, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_outcome(struct outcome *o, const char *status, int negative, const char *fmt, ...)
{
	va_list ap;

	free(o->reason);
	va_start(ap, fmt);
	o->reason = sb_vasprintf(fmt, ap);
	va_end(ap);
	o->status = status;
	o->negative = negative;
}

/* A change id in a file name: hashed, so no id can name a path outside the directory. */
static char *state_file_for(const struct sb_common *c, const char *dir, const char *change_id)
{
	char hex[SB_SHA256_HEX], *rel, *path;

	sb_sha256_hex(change_id, strlen(change_id), hex);
	rel = sb_asprintf("%s/%.32s.json", dir, hex);
	path = sb_state_path(c, rel);
	free(rel);
	return path;
}

/* ---- approvals ---- */

static void record_approvals(struct deployer *d)
{
	const char *who = d->set->approver ? d->set->approver : sb_audit_actor();
	char ts[SB_TIME_BUFSZ];

	for (int i = 0; i < d->set->napprove; i++) {
		const char *id = d->set->approve[i];
		if (d->set->dry_run) {
			sb_warn("would approve change %s for %s", id, who);
			continue;
		}
		char *path = state_file_for(d->common, "approvals", id), *qpath = state_file_for(d->common, "queue", id);
		jv queued = sb_state_read(qpath, "queued change"), change = sb_rec_get(queued, "change");
		jv a = jv_object_set(jv_object(), jv_string("change"), jv_string(id));
		char digest[SB_SHA256_HEX];
		/* Approving a change seen in the queue approves exactly those files, nothing edited later. */
		if (jv_get_kind(change) == JV_KIND_OBJECT) {
			sb_change_digest(change, digest);
			a = jv_object_set(a, jv_string("digest"), jv_string(digest));
		}
		jv_free(change);
		jv_free(queued);
		free(qpath);
		a = jv_object_set(a, jv_string("approver"), jv_string(who));
		/* When it was really approved, like every audit entry: SB_NOW only moves the deploy clock. */
		a = jv_object_set(a, jv_string("ts"), jv_string(sb_time_format(sb_time_now(), ts)));
		if (sb_state_write(path, jv_copy(a)) < 0)
			sb_die(SB_EXIT_IO, "cannot record the approval '%s':", path);
		a = jv_object_set(a, jv_string("action"), jv_string("deploy.approve"));
		sb_runner_audit(d->run, a);
		if (!d->common->quiet)
			sb_warn("change %s approved by %s", id, who);
		free(path);
	}
}

/* Approved, and when the approval names a digest, for exactly this change. */
static int approved(struct deployer *d, jv change)
{
	char *id = sb_rec_string(change, "id"), *path = state_file_for(d->common, "approvals", id);
	jv a = sb_state_read(path, "approval");
	char *digest = sb_rec_string(a, "digest"), hex[SB_SHA256_HEX];
	int ok = jv_get_kind(a) == JV_KIND_OBJECT;

	if (ok && digest) {
		sb_change_digest(change, hex);
		ok = strcmp(hex, digest) == 0;
	}
	free(digest);
	jv_free(a);
	free(path);
	free(id);
	return ok;
}

/* ---- the deploy window ---- */

static int parse_hhmm(const char *s, int *minutes, const char **end)
{
	int h, m, n = 0;

	if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 || h > 24 || m > 59 || (h == 24 && m))
		return -1;
	*minutes = h * 60 + m;
	*end = s + n;
	return 0;
}

/* 1 inside "HH:MM-HH:MM" (local time; across midnight when the end is earlier), 0 outside, -1 malformed. */
static int inside_window(const char *window, double now)
{
	int from, to;
	const char *p;
	time_t t = (time_t)now;
	struct tm tm;

	if (parse_hhmm(window, &from, &p) < 0 || *p != '-' || parse_hhmm(p + 1, &to, &p) < 0 || *p)
		return -1;
	localtime_r(&t, &tm);
	int at = tm.tm_hour * 60 + tm.tm_min;
	return from <= to ? at >= from && at < to : at >= from || at < to;
}

/* The component's "window": a string or an array of them; none means always. */
static int window_open(jv component, char *why, size_t whysize)
{
	jv w = sb_rec_get(component, "window");
	int open = 1;

	if (jv_get_kind(w) == JV_KIND_STRING)
		w = jv_array_append(jv_array(), w);
	if (jv_get_kind(w) == JV_KIND_ARRAY && jv_array_length(jv_copy(w)) > 0) {
		open = 0;
		snprintf(why, whysize, "outside the deploy window");
		jv_array_foreach(w, i, s)
		{
			int in = jv_get_kind(s) == JV_KIND_STRING ? inside_window(jv_string_value(s), sb_clock()) : -1;
			if (in < 0 && open >= 0) {
				snprintf(why, whysize, "malformed deploy window (want HH:MM-HH:MM)");
				open = -1;
			} else if (in > 0 && open == 0) {
				open = 1;
			}
			jv_free(s);
		}
		if (open == 0) {
			jv txt = jv_dump_string(jv_copy(w), 0);
			snprintf(why, whysize, "outside the deploy window %s", jv_string_value(txt));
			jv_free(txt);
		}
	}
	jv_free(w);
	return open;
}

/* ---- the queue of deferred and unapproved changes ---- */

static void queue_put(struct deployer *d, jv change, const struct outcome *o)
{
	char *id = sb_rec_string(change, "id"), *path = state_file_for(d->common, "queue", id);
	char ts[SB_TIME_BUFSZ];
	jv q = jv_object_set(jv_object(), jv_string("change"), jv_copy(change)), before = sb_state_read(path, "queued change");
	jv since = sb_rec_get(before, "queued");

	/* Queued again keeps its first time: the queue runs oldest first. */
	if (jv_get_kind(since) != JV_KIND_STRING) {
		jv_free(since);
		since = jv_string(sb_time_format(sb_clock(), ts));
	}
	jv_free(before);
	q = jv_object_set(q, jv_string("status"), jv_string(o->status));
	q = jv_object_set(q, jv_string("reason"), jv_string(o->reason));
	q = jv_object_set(q, jv_string("queued"), since);
	if (sb_state_write(path, q) < 0)
		sb_die(SB_EXIT_IO, "cannot queue change '%s':", path);
	free(path);
	free(id);
}

static void queue_drop(struct deployer *d, const char *change_id)
{
	char *path = state_file_for(d->common, "queue", change_id);

	if (unlink(path) < 0 && errno != ENOENT)
		sb_die(SB_EXIT_IO, "cannot remove '%s' from the queue:", path);
	free(path);
}

/* ---- checks before anything is touched ---- */

/* Has this change been deployed (or is it being deployed)? The deployment's id then. */
static char *earlier_deployment(jv deps, const char *change_id, char **status)
{
	char *found = NULL;

	jv_array_foreach(deps, i, dep)
	{
		char *c = sb_rec_string(dep, "change"), *st = sb_rec_string(dep, "status");
		int live = !st || strcmp(st, "failed") != 0; /* a failed attempt wrote nothing: try again */
		if (c && strcmp(c, change_id) == 0 && live) {
			free(found);
			free(*status);
			found = sb_rec_string(dep, "deployment");
			*status = st ? st : sb_strdup("in progress");
			st = NULL;
		}
		free(c);
		free(st);
		jv_free(dep);
	}
	return found;
}

/* Every file's base still what the change was made against, and nothing in the way. */
static int base_matches(const char *root, jv files, struct outcome *o)
{
	int ok = 1;

	jv_array_foreach(files, i, f)
	{
		char *path = sb_rec_string(f, "path"), *action = sb_rec_string(f, "action"),
		     *base = sb_rec_string(f, "base_sha256");
		char err[512], hex[SB_SHA256_HEX];
		struct stat st;
		int s = ok && path && sb_path_safe(path) ? sb_component_stat(root, path, &st, err, sizeof err) : -2;
		if (!ok) {
			/* already refused */
		} else if (s == -2) {
			set_outcome(o, "skipped", 1, "unsafe path '%s'", path ? path : "");
			ok = 0;
		} else if (s < 0) {
			set_outcome(o, "skipped", 1, "%s", err);
			ok = 0;
		} else if (s == 1) {
			if (!action || strcmp(action, "create") != 0) {
				set_outcome(o, "skipped", 1, "stale base: %s no longer exists", path);
				ok = 0;
			}
		} else {
			char *full = sb_asprintf("%s/%s", root, path);
			if (sb_sha256_file(full, hex) < 0) {
				set_outcome(o, "skipped", 1, "cannot read %s: %s", path, strerror(errno));
				ok = 0;
			} else if (!base || strcmp(base, hex) != 0) {
				set_outcome(o, "skipped", 1, "stale base: %s changed since the change was made", path);
				ok = 0;
			}
			free(full);
		}
		free(path);
		free(action);
		free(base);
		jv_free(f);
	}
	return ok;
}

/* Validated, and unchanged since: the digest sb-validate stamped is the digest of these files. */
static int validated(jv change, struct outcome *o)
{
	jv v = sb_rec_get(change, "validation");
	char hex[SB_SHA256_HEX], *digest = sb_rec_string(v, "digest");
	int ok = 0;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		set_outcome(o, "skipped", 1, "not validated: run sb-validate first");
	else if (!sb_rec_true(v, "ok"))
		set_outcome(o, "skipped", 1, "failed validation");
	else if (!digest)
		set_outcome(o, "skipped", 1, "validation carries no digest");
	else {
		sb_change_digest(change, hex);
		if (strcmp(hex, digest) != 0)
			set_outcome(o, "skipped", 1, "changed since it was validated (digest %.12s, validated %.12s)", hex,
				    digest);
		else
			ok = 1;
	}
	free(digest);
	jv_free(v);
	return ok;
}

static int needs_approval(jv change)
{
	char *scope = sb_rec_string(change, "scope");
	int need = sb_rec_true(change, "requires_approval") || (scope && strcmp(scope, "system") == 0);

	free(scope);
	return need;
}

/* ---- deploying ---- */

static char *deployment_id(const char *change_id, double started)
{
	char ts[SB_TIME_BUFSZ], pid[32], id[SB_ID_LEN + 1];

	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	sb_content_id(id, "deployment", change_id, sb_time_format(started, ts), pid, NULL);
	return sb_asprintf("dep-%s", id);
}

/* The deployment of this component still in effect before this one. */
static jv previous_deployment(jv deps, const char *component)
{
	jv prev = jv_null();

	jv_array_foreach(deps, i, dep)
	{
		char *c = sb_rec_string(dep, "component"), *st = sb_rec_string(dep, "status");
		if (c && st && strcmp(c, component) == 0 && strcmp(st, "deployed") == 0) {
			jv_free(prev);
			prev = sb_rec_get(dep, "deployment");
		}
		free(c);
		free(st);
		jv_free(dep);
	}
	return prev;
}

/* Per file: path, action and the hashes before and after, so the journal says what each file should hold. */
static jv journal_files(jv files, jv *paths)
{
	jv out = jv_array();

	*paths = jv_array();
	jv_array_foreach(files, i, f)
	{
		jv row = jv_object_set(jv_object(), jv_string("path"), sb_rec_get(f, "path"));
		jv content = sb_rec_get(f, "content"), base = sb_rec_get(f, "base_sha256");
		char hex[SB_SHA256_HEX];
		row = jv_object_set(row, jv_string("action"), sb_rec_get(f, "action"));
		row = jv_object_set(row, jv_string("before_sha256"), base);
		if (jv_get_kind(content) == JV_KIND_STRING) {
			sb_sha256_hex(jv_string_value(content), (size_t)jv_string_length_bytes(jv_copy(content)), hex);
			row = jv_object_set(row, jv_string("after_sha256"), jv_string(hex));
		} else {
			row = jv_object_set(row, jv_string("after_sha256"), jv_null());
		}
		*paths = jv_array_append(*paths, sb_rec_get(f, "path"));
		out = jv_array_append(out, row);
		jv_free(content);
		jv_free(f);
	}
	return out;
}

/* Write every file of the change; 0, or -1 with err after the first failure. */
static int apply_files(const char *root, jv files, const char *tag, char *err, size_t errsize)
{
	int rc = 0;

	jv_array_foreach(files, i, f)
	{
		char *path = sb_rec_string(f, "path"), *action = sb_rec_string(f, "action");
		jv content = sb_rec_get(f, "content");
		struct stat st;
		if (rc == 0 && strcmp(action, "delete") == 0) {
			rc = sb_remove_file(root, path, err, errsize);
		} else if (rc == 0) {
			int s = sb_component_stat(root, path, &st, err, errsize);
			if (s < 0 || jv_get_kind(content) != JV_KIND_STRING)
				rc = s < 0 ? -1 : (snprintf(err, errsize, "%s: no content", path), -1);
			else
				rc = sb_install_file(root, path, jv_string_value(content),
						     (size_t)jv_string_length_bytes(jv_copy(content)), s == 0 ? &st : NULL,
						     tag, err, errsize);
		}
		jv_free(content);
		free(path);
		free(action);
		jv_free(f);
	}
	return rc;
}

static jv journal_entry(const char *dep_id, const char *phase)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("deployment"), jv_string(dep_id)), jv_string("phase"),
			     jv_string(phase));
}

/* Put the pre-image back after a failed write or health check, and reload the old version. */
static void undo(struct deployer *d, jv *entry, jv begin, jv component, const char *root, const char *why,
		 struct outcome *o)
{
	char err[1024];
	jv restored, applied = jv_object_set(jv_copy(begin), jv_string("phase"), jv_string("applied"));
	/* As "applied": files were written, so a missing archive is an error, never "nothing to restore". */
	int rc = sb_restore_pre_image(d->run, applied, &restored, err, sizeof err);

	jv_free(applied);
	char *id = sb_rec_string(begin, "deployment");

	if (rc < 0) {
		/* Leave the journal open: the next run retries the restore. */
		sb_die(SB_EXIT_IO, "%s; and the pre-image of %s could not be put back: %s", why, id, err);
	}
	*entry = jv_object_set(*entry, jv_string("restored"), restored);
	*entry = jv_object_set(*entry, jv_string("reload_after_restore"), sb_run_reload(d->run, component, root, id));
	set_outcome(o, "rolled_back", 1, "%s; the previous version was put back", why);
	free(id);
}

static void deploy_locked(struct deployer *d, jv change, jv deps, jv component, const char *root, struct outcome *o)
{
	char *cid = sb_rec_string(change, "id"), *comp = sb_rec_string(change, "component");
	double started = sb_clock();
	char *dep_id = deployment_id(cid, started), ts[SB_TIME_BUFSZ], err[1024];
	const char *ext = d->set->compression == 1 ? "tar.zst" : "tar.gz";
	char *snap_rel = sb_asprintf("snapshots/%s/%s.%s", comp, dep_id, ext), *snap = sb_state_path(d->common, snap_rel);
	jv files = sb_rec_get(change, "files"), paths, v = sb_rec_get(change, "validation");
	jv begin = journal_entry(dep_id, "begin");

	begin = jv_object_set(begin, jv_string("component"), jv_string(comp));
	begin = jv_object_set(begin, jv_string("tenant"), sb_rec_get(change, "tenant"));
	begin = jv_object_set(begin, jv_string("change"), jv_string(cid));
	begin = jv_object_set(begin, jv_string("digest"), sb_rec_get(v, "digest"));
	begin = jv_object_set(begin, jv_string("target"), jv_string(root));
	begin = jv_object_set(begin, jv_string("snapshot"), jv_string(snap_rel));
	begin = jv_object_set(begin, jv_string("previous"), previous_deployment(deps, comp));
	begin = jv_object_set(begin, jv_string("started"), jv_string(sb_time_format(started, ts)));
	begin = jv_object_set(begin, jv_string("files"), journal_files(files, &paths));
	sb_journal_append(d->run, jv_copy(begin));

	jv done = journal_entry(dep_id, "done");
	if (sb_snapshot_create(snap, root, paths, compressions[d->set->compression], err, sizeof err) < 0) {
		set_outcome(o, "failed", 1, "no pre-image, nothing written: %s", err);
	} else if (apply_files(root, files, dep_id, err, sizeof err) < 0) {
		undo(d, &done, begin, component, root, err, o);
	} else {
		sb_journal_append(d->run, journal_entry(dep_id, "applied"));
		jv reload = sb_run_reload(d->run, component, root, dep_id), health = jv_null();
		int ok = sb_rec_true(reload, "ok");
		if (ok) {
			health = sb_run_health(d->run, component, root, dep_id);
			ok = sb_rec_true(health, "ok");
		}
		done = jv_object_set(done, jv_string("reload"), reload);
		done = jv_object_set(done, jv_string("health"), health);
		if (!ok) {
			char why[256];
			snprintf(why, sizeof why, "%s failed", jv_get_kind(health) == JV_KIND_NULL ? "reload" : "health check");
			undo(d, &done, begin, component, root, why, o);
		} else {
			set_outcome(o, "deployed", 0, "deployed and healthy");
		}
	}
	double finished = sb_clock();
	done = jv_object_set(done, jv_string("status"), jv_string(o->status));
	done = jv_object_set(done, jv_string("reason"), jv_string(o->reason));
	done = jv_object_set(done, jv_string("finished"), jv_string(sb_time_format(finished, ts)));
	if (strcmp(o->status, "deployed") == 0)
		done = jv_object_set(done, jv_string("monitor_until"),
				     jv_string(sb_time_format(finished + d->set->monitor, ts)));
	sb_journal_append(d->run, jv_copy(done));
	o->dep = jv_object_merge(begin, done);
	jv_free(files);
	jv_free(paths);
	jv_free(v);
	free(snap);
	free(snap_rel);
	free(dep_id);
	free(cid);
	free(comp);
}

/* Everything that can be decided without the lock; 1 when the change may go ahead. */
static int preflight(struct deployer *d, jv change, jv deps, jv component, const char *root, struct outcome *o)
{
	char *cid = sb_rec_string(change, "id"), *status = NULL, *earlier, why[256];
	jv files = sb_rec_get(change, "files");
	int ok = 0, w;

	if ((earlier = earlier_deployment(deps, cid, &status)))
		set_outcome(o, "skipped", 0, "already deployed as %s (%s)", earlier, status);
	else if (!validated(change, o) || !base_matches(root, files, o))
		;
	else if (needs_approval(change) && !approved(d, change)) {
		set_outcome(o, "awaiting_approval", 0, "requires approval: sb-deploy --approve %s", cid);
		o->queue = 1;
	} else if ((w = window_open(component, why, sizeof why)) <= 0) {
		set_outcome(o, w < 0 ? "skipped" : "deferred", w < 0, "%s", why);
		o->queue = w == 0;
	} else
		ok = 1;
	free(earlier);
	free(status);
	free(cid);
	jv_free(files);
	return ok;
}

/* The shape every change record must have before anything else is looked at. */
static int well_formed(struct deployer *d, jv change, jv *component, char **root, struct outcome *o)
{
	char *cid = sb_rec_string(change, "id"), *comp = sb_rec_string(change, "component");
	jv files = sb_rec_get(change, "files");
	int ok = 0;

	*component = jv_null();
	*root = NULL;
	if (!cid || !*cid)
		set_outcome(o, "skipped", 1, "change without an id");
	else if (!comp || !sb_component_name_ok(comp))
		set_outcome(o, "skipped", 1, "no usable component name");
	else if (jv_get_kind(files) != JV_KIND_ARRAY || jv_array_length(jv_copy(files)) == 0)
		set_outcome(o, "skipped", 1, "change without files");
	else if (jv_free(*component), jv_get_kind(*component = sb_rec_get(d->run->components, comp)) != JV_KIND_OBJECT)
		set_outcome(o, "skipped", 1, "component '%s' is not in the configuration", comp);
	else if (!(*root = sb_rec_string(*component, "path")))
		set_outcome(o, "skipped", 1, "component '%s' has no path", comp);
	else
		ok = 1;
	jv_free(files);
	free(cid);
	free(comp);
	return ok;
}

static jv deployment_record(jv change, const struct outcome *o, const char *root)
{
	jv r = jv_object_set(jv_object(), jv_string("type"), jv_string("deployment"));
	jv dep = o->dep;

	r = jv_object_set(r, jv_string("id"), sb_rec_get(dep, "deployment"));
	r = jv_object_set(r, jv_string("change"), sb_rec_get(change, "id"));
	char *tenant = sb_rec_string(change, "tenant");
	if (tenant)
		r = jv_object_set(r, jv_string("tenant"), jv_string(tenant));
	free(tenant);
	r = jv_object_set(r, jv_string("component"), sb_rec_get(change, "component"));
	r = jv_object_set(r, jv_string("target"), root ? jv_string(root) : jv_null());
	r = jv_object_set(r, jv_string("status"), jv_string(o->status));
	r = jv_object_set(r, jv_string("reason"), jv_string(o->reason));
	static const char *const fields[] = {"previous", "snapshot", "started", "finished", "reload", "health",
					     "monitor_until", "restored", NULL};
	for (const char *const *f = fields; *f; f++)
		r = jv_object_set(r, jv_string(*f), sb_rec_get(dep, *f));
	jv files = sb_rec_get(change, "files"), paths = jv_array();
	if (jv_get_kind(files) == JV_KIND_ARRAY) {
		jv_array_foreach(files, i, f)
		{
			paths = jv_array_append(paths, sb_rec_get(f, "path"));
			jv_free(f);
		}
	}
	jv_free(files);
	return jv_object_set(r, jv_string("files"), paths);
}

static void audit_outcome(struct deployer *d, jv record)
{
	jv st = sb_rec_get(record, "status");
	char *action = sb_asprintf("deploy.%s", jv_string_value(st));
	jv e = jv_object_set(jv_object(), jv_string("action"), jv_string(action));
	static const char *const fields[] = {"id", "change", "component", "tenant", "reason", "snapshot", NULL};
	for (const char *const *f = fields; *f; f++)
		if (jv_object_has(jv_copy(record), jv_string(*f)))
			e = jv_object_set(e, jv_string(strcmp(*f, "id") ? *f : "deployment"), sb_rec_get(record, *f));
	sb_runner_audit(d->run, e);
	free(action);
	jv_free(st);
}

/* The statuses of struct outcome: each counted from zero, so every series exists from the first run. */
static const char *const statuses[] = {"deployed", "rolled_back", "failed", "skipped", "planned", "deferred",
				       "awaiting_approval", NULL};

static void count_deployment(const char *status, double n)
{
	char labels[64];

	snprintf(labels, sizeof labels, "status=\"%s\"", status);
	sb_selfmetric_add("sb_deployments_total", labels, n,
			  "Changes sb-deploy handled, by the status of the deployment record it wrote.");
}

/* Take one change all the way: checks, lock, deployment, record, queue, notifications. */
static void handle_change(struct deployer *d, jv change)
{
	struct outcome o = {.dep = jv_null()};
	char *cid = sb_rec_string(change, "id"), *root = NULL;
	jv component, deps = sb_journal_load(d->common);

	if (cid && sb_strmap_get(d->done, cid, strlen(cid))) {
		jv_free(deps);
		jv_free(change);
		free(cid);
		return;
	}
	if (cid)
		sb_strmap_put(d->done, cid, strlen(cid), (void *)1);
	if (well_formed(d, change, &component, &root, &o) && preflight(d, change, deps, component, root, &o)) {
		char *comp = sb_rec_string(change, "component");
		int fd;
		if (d->set->dry_run || (!d->autonomous && !d->set->yes)) {
			set_outcome(&o, "planned", 0, "%s", d->set->dry_run ? "dry run: would deploy"
					: "would deploy; features.autonomous_improvements is off: run with --yes");
		} else if ((fd = sb_component_lock(d->common, comp, d->run->lock_timeout)) < 0) {
			set_outcome(&o, "deferred", 0, "component %s is locked by another run", comp);
			o.queue = 1;
		} else {
			/* Another run may have deployed it, or touched the files, while this one waited. */
			jv_free(deps);
			deps = sb_journal_load(d->common);
			if (preflight(d, change, deps, component, root, &o))
				deploy_locked(d, change, deps, component, root, &o);
			sb_component_unlock(fd);
		}
		free(comp);
	}
	jv rec = deployment_record(change, &o, root);
	/* A planned change stays where it was: queued ones wait for a run with --yes. */
	if (!d->set->dry_run && cid && strcmp(o.status, "planned") != 0) {
		if (o.queue)
			queue_put(d, change, &o);
		else
			queue_drop(d, cid);
	}
	if (jv_get_kind(o.dep) != JV_KIND_NULL && !d->set->dry_run) {
		char *comp = sb_rec_string(rec, "component");
		rec = jv_object_set(rec, jv_string("notified"), sb_notify(d->run, comp, rec));
		free(comp);
	}
	if (!d->set->dry_run && strcmp(o.status, "planned") != 0)
		audit_outcome(d, rec);
	if (o.negative)
		d->status = SB_EXIT_NEGATIVE;
	count_deployment(o.status, 1);
	sb_output_record(rec);
	jv_free(o.dep);
	free(o.reason);
	free(root);
	free(cid);
	jv_free(component);
	jv_free(deps);
	jv_free(change);
}

static int deploy_record(void *ctx, jv rec, struct sb_input *in)
{
	(void)in;
	handle_change(ctx, rec);
	return 0;
}

static int by_queued(const void *a, const void *b)
{
	double tx = 0, ty = 0;

	sb_rec_time(*(const jv *)a, "queued", &tx);
	sb_rec_time(*(const jv *)b, "queued", &ty);
	return (tx > ty) - (tx < ty);
}

/* Changes earlier runs deferred or that awaited approval, oldest first. */
static void run_queue(struct deployer *d)
{
	char *dir = sb_state_path(d->common, "queue/x"), *slash = strrchr(dir, '/');
	struct dirent **names;
	jv *queued = NULL;
	size_t nq = 0;
	int n;

	*slash = '\0';
	n = scandir(dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		if (len > 5 && strcmp(name + len - 5, ".json") == 0) {
			char *path = sb_asprintf("%s/%s", dir, name);
			queued = sb_realloc(queued, (nq + 1) * sizeof *queued);
			queued[nq++] = sb_state_read(path, "queued change");
			free(path);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	if (nq)
		qsort(queued, nq, sizeof *queued, by_queued);
	for (size_t i = 0; i < nq; i++) {
		jv change = sb_rec_get(queued[i], "change");
		if (jv_get_kind(change) == JV_KIND_OBJECT && sb_tenant_matches(d->common, change))
			handle_change(d, change);
		else
			jv_free(change);
		jv_free(queued[i]);
	}
	free(queued);
	free(dir);
}

int main(int argc, char **argv)
{
	static const char *const consumes[] = {"change", NULL};
	struct settings set = {.monitor = 3600};
	const struct sb_tool_spec spec = {
		.name = "sb-deploy",
		.synopsis = "[OPTION]... [FILE]...",
		.purpose = "Deploy validated changes to components, with a snapshot to return to.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	struct sb_run run;
	struct deployer d = {.set = &set, .common = &common, .run = &set.run};
	int status;

	sb_progname = "sb-deploy";
	sb_runner_init(&set.run);
	sb_opts_parse(&spec, argc, argv, &common);
	sb_runner_start(&set.run, &common);
	jv features = sb_config_get(common.config, "features");
	d.autonomous = sb_rec_true(features, "autonomous_improvements");
	jv_free(features);
	d.done = sb_strmap_new();
	sb_clock(); /* a malformed SB_NOW is a usage error before anything is done */

	for (const char *const *st = statuses; *st; st++)
		count_deployment(*st, 0);
	record_approvals(&d);
	sb_recover(&set.run);
	sb_filter_begin(&run, &common);
	run_queue(&d);
	if (!set.napprove || common.nfiles)
		sb_filter_loop(&run, &(struct sb_filter){.consumes = consumes, .record = deploy_record, .ctx = &d});
	status = sb_filter_end(&run);
	if (status == 0)
		status = d.status;

	sb_strmap_free(d.done);
	sb_runner_free(&set.run);
	free(set.approve);
	sb_opts_free(&common);
	return status;
}
