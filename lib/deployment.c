/* deployment.c - the deployment journal, component locks, recovery, commands and notifications */
#include "deployment.h"
#include "audit.h"
#include "config.h"
#include "err.h"
#include "fsutil.h"
#include "http.h"
#include "proc.h"
#include "record.h"
#include "snapshot.h"
#include "state.h"
#include "timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* Keep the end of a command's output: that is where the error usually is. */
#define OUTPUT_TAIL 2048

void sb_runner_init(struct sb_runner *r)
{
	memset(r, 0, sizeof *r);
	r->command_timeout = 60;
	r->health_retries = 3;
	r->health_interval = 2;
	r->lock_timeout = 300;
	r->notify_timeout = 10;
	r->components = jv_null();
}

/* A pause of zero is allowed here, unlike a duration option. */
static int zero_or_duration(const char *name, const char *arg, double *out)
{
	if (strcmp(arg, "0") == 0) {
		*out = 0;
		return 0;
	}
	return sb_opt_duration(name, arg, out);
}

int sb_runner_option(struct sb_runner *r, int id, const char *arg)
{
	switch (id) {
	case SB_RUNNER_OPT_COMMAND_TIMEOUT: return sb_opt_duration("command-timeout", arg, &r->command_timeout);
	case SB_RUNNER_OPT_HEALTH_RETRIES: return sb_opt_long("health-retries", arg, 1, 1000, &r->health_retries);
	case SB_RUNNER_OPT_HEALTH_INTERVAL: return zero_or_duration("health-interval", arg, &r->health_interval);
	case SB_RUNNER_OPT_LOCK_TIMEOUT: return zero_or_duration("lock-timeout", arg, &r->lock_timeout);
	case SB_RUNNER_OPT_NOTIFY_TIMEOUT: return sb_opt_duration("notify-timeout", arg, &r->notify_timeout);
	}
	return -2;
}

void sb_runner_start(struct sb_runner *r, const struct sb_common *c)
{
	r->common = c;
	r->components = sb_config_get(c->config, "components");
}

void sb_runner_free(struct sb_runner *r)
{
	jv_free(r->components);
	r->components = jv_null();
}

/* ---- the journal ---- */

void sb_journal_append(const struct sb_runner *r, jv entry)
{
	char ts[SB_TIME_BUFSZ], *path = sb_state_path(r->common, SB_JOURNAL_FILE);
	jv line;

	entry = jv_object_set(entry, jv_string("ts"), jv_string(sb_time_format(sb_clock(), ts)));
	line = jv_dump_string(entry, 0);
	char *text = sb_asprintf("%s\n", jv_string_value(line));
	if (sb_append_locked(path, text, strlen(text), 1) < 0)
		sb_die(SB_EXIT_IO, "cannot write the deployment journal '%s':", path);
	free(text);
	jv_free(line);
	free(path);
}

jv sb_journal_load(const struct sb_common *c)
{
	char *path = sb_state_path(c, SB_JOURNAL_FILE), *text, *line, *next;
	jv deps = jv_array(), index = jv_object();
	long lineno = 0;

	if (!(text = sb_read_file(path, NULL))) {
		if (errno != ENOENT)
			sb_die(SB_EXIT_IO, "cannot read the deployment journal '%s':", path);
		free(path);
		jv_free(index);
		return deps;
	}
	for (line = text; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		lineno++;
		if (!*line)
			continue;
		jv e = jv_parse(line);
		char *id = jv_get_kind(e) == JV_KIND_OBJECT ? sb_rec_string(e, "deployment") : NULL;
		if (!id) {
			sb_warn("%s:%ld: not a journal entry; ignored", path, lineno);
			jv_free(e);
			continue;
		}
		jv at = jv_object_get(jv_copy(index), jv_string(id));
		if (jv_get_kind(at) == JV_KIND_NUMBER) {
			int i = (int)jv_number_value(at);
			deps = jv_array_set(deps, i, jv_object_merge(jv_array_get(jv_copy(deps), i), e));
		} else {
			index = jv_object_set(index, jv_string(id), jv_number(jv_array_length(jv_copy(deps))));
			deps = jv_array_append(deps, e);
		}
		jv_free(at);
		free(id);
	}
	free(text);
	free(path);
	jv_free(index);
	return deps;
}

jv sb_journal_find(jv deps, const char *id)
{
	jv found = jv_null();

	jv_array_foreach(deps, i, d)
	{
		char *did = sb_rec_string(d, "deployment");
		if (did && strcmp(did, id) == 0) {
			jv_free(found);
			found = jv_copy(d);
		}
		free(did);
		jv_free(d);
	}
	return found;
}

int sb_deployment_unfinished(jv dep)
{
	char *phase = sb_rec_string(dep, "phase");
	int open = phase && (strcmp(phase, "begin") == 0 || strcmp(phase, "applied") == 0 ||
			     strcmp(phase, "rollback_begin") == 0);

	free(phase);
	return open;
}

/* Stopped after begin: its archive was not in place yet, so no file was written. */
static int stopped_before_writes(jv dep)
{
	char *phase = sb_rec_string(dep, "phase");
	int before = phase && strcmp(phase, "begin") == 0;

	free(phase);
	return before;
}

jv sb_deployment_paths(jv dep)
{
	jv files = sb_rec_get(dep, "files"), paths = jv_array();

	if (jv_get_kind(files) == JV_KIND_ARRAY) {
		jv_array_foreach(files, i, f)
		{
			jv p = sb_rec_get(f, "path");
			if (jv_get_kind(p) == JV_KIND_STRING)
				paths = jv_array_append(paths, p);
			else
				jv_free(p);
			jv_free(f);
		}
	}
	jv_free(files);
	return paths;
}

void sb_runner_audit(const struct sb_runner *r, jv entry)
{
	char *path = sb_state_path(r->common, "audit.ndjson");

	if (sb_audit_append(path, entry) < 0)
		sb_die(SB_EXIT_IO, "cannot write the audit log '%s':", path);
	free(path);
}

/* ---- locks ---- */

int sb_component_name_ok(const char *name)
{
	if (!name || !*name || *name == '.' || strlen(name) > 200)
		return 0;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return 0;
	return 1;
}

int sb_component_lock(const struct sb_common *c, const char *component, double wait)
{
	char *rel = sb_asprintf("locks/%s.lock", component), *path = sb_state_path(c, rel);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	double until = sb_time_now() + wait;

	if (fd < 0)
		sb_die(SB_EXIT_IO, "cannot open the lock '%s':", path);
	free(rel);
	free(path);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR)
			sb_die(SB_EXIT_IO, "cannot lock component '%s':", component);
		if (sb_time_now() >= until)
			break;
		struct timespec pause = {0, 50 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	close(fd);
	return -1;
}

void sb_component_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing releases the lock */
}

/* ---- pre-images ---- */

int sb_restore_pre_image(const struct sb_runner *r, jv dep, jv *restored, char *err, size_t errsize)
{
	char *snap = sb_rec_string(dep, "snapshot"), *root = sb_rec_string(dep, "target"),
	     *id = sb_rec_string(dep, "deployment");
	char *full = snap ? sb_asprintf("%s/%s", sb_state_dir(r->common), snap) : NULL;
	jv paths = sb_deployment_paths(dep);
	int rc;

	*restored = jv_array();
	if (!full || !root || !id) {
		rc = -1;
		snprintf(err, errsize, "the journal lacks the snapshot or target of %s", id ? id : "a deployment");
	} else if (access(full, F_OK) < 0 && errno == ENOENT && !stopped_before_writes(dep)) {
		rc = -1;
		snprintf(err, errsize, "the pre-image archive %s is missing", snap);
	} else if (access(full, F_OK) < 0 && errno == ENOENT) {
		/* The archive is renamed into place before the first file is written. */
		char *tmp = sb_asprintf("%s.tmp", full);
		unlink(tmp);
		free(tmp);
		rc = 1;
	} else {
		/* A temporary file the crash left would keep a directory the deployment created from going. */
		sb_snapshot_clean_temps(root, paths, id);
		jv_free(*restored);
		jv files = sb_rec_get(dep, "files");
		rc = sb_snapshot_restore(full, root, files, id, restored, err, errsize);
		jv_free(files);
		if (rc < 0)
			*restored = jv_array();
	}
	if (root && id)
		sb_snapshot_clean_temps(root, paths, id);
	jv_free(paths);
	free(snap);
	free(root);
	free(id);
	free(full);
	return rc;
}

static jv component_config(const struct sb_runner *r, const char *name)
{
	return jv_get_kind(r->components) == JV_KIND_OBJECT ? sb_rec_get(r->components, name) : jv_null();
}

/* Put back one interrupted deployment; the caller holds its component's lock. */
static void recover_one(struct sb_runner *r, jv dep)
{
	char *id = sb_rec_string(dep, "deployment"), *comp = sb_rec_string(dep, "component"),
	     *phase = sb_rec_string(dep, "phase"), *root = sb_rec_string(dep, "target");
	int rolling_back = phase && strcmp(phase, "rollback_begin") == 0;
	char err[1024];
	jv restored, entry = jv_object_set(jv_object(), jv_string("deployment"), jv_string(id));
	int rc = sb_restore_pre_image(r, dep, &restored, err, sizeof err);

	if (rc < 0) {
		/* Leave it unfinished: the next run tries again, and says so. */
		sb_warn("cannot recover deployment %s of %s: %s", id, comp ? comp : "?", err);
		jv_free(restored);
		jv_free(entry);
		goto out;
	}
	entry = jv_object_set(entry, jv_string("phase"), jv_string(rolling_back ? "rollback_done" : "done"));
	entry = jv_object_set(entry, jv_string("status"), jv_string(rc == 1 ? "failed" : "rolled_back"));
	entry = jv_object_set(entry, jv_string("reason"),
			      jv_string(rc == 1 ? "interrupted before any file was written"
						: "recovered: the run that was changing it stopped before it finished"));
	entry = jv_object_set(entry, jv_string("recovered"), jv_true());
	entry = jv_object_set(entry, jv_string("restored"), jv_copy(restored));
	if (rc == 0) {
		jv c = component_config(r, comp ? comp : "");
		entry = jv_object_set(entry, jv_string("reload"), sb_run_reload(r, c, root, id));
		jv_free(c);
	}
	sb_journal_append(r, jv_copy(entry));
	entry = jv_object_set(entry, jv_string("action"), jv_string("deploy.recover"));
	entry = jv_object_set(entry, jv_string("component"), jv_string(comp ? comp : ""));
	entry = jv_object_set(entry, jv_string("tool"), jv_string(r->common->tool));
	sb_runner_audit(r, entry);
	sb_warn("recovered interrupted deployment %s of %s: %d file(s) put back", id, comp ? comp : "?",
		jv_array_length(jv_copy(restored)));
	jv_free(restored);
	r->recovered++;
out:
	free(id);
	free(comp);
	free(phase);
	free(root);
}

long sb_recover(struct sb_runner *r)
{
	jv deps = sb_journal_load(r->common);
	long before = r->recovered;

	jv_array_foreach(deps, i, d)
	{
		char *comp = sb_rec_string(d, "component"), *id = sb_rec_string(d, "deployment");
		int fd;
		/* A lock another run holds means that run is alive and still at it: not a crash. */
		if (sb_deployment_unfinished(d) && !r->dry_run && sb_component_name_ok(comp) &&
		    (fd = sb_component_lock(r->common, comp, 0)) >= 0) {
			jv fresh = sb_journal_load(r->common), now = sb_journal_find(fresh, id);
			if (sb_deployment_unfinished(now))
				recover_one(r, now);
			jv_free(now);
			jv_free(fresh);
			sb_component_unlock(fd);
		} else if (sb_deployment_unfinished(d) && r->dry_run) {
			sb_warn("deployment %s of %s is unfinished; a run without --dry-run will put it back", id,
				comp ? comp : "?");
		}
		free(comp);
		free(id);
		jv_free(d);
	}
	jv_free(deps);
	return r->recovered - before;
}

/* ---- commands ---- */

static double component_timeout(const struct sb_runner *r, jv component)
{
	jv t = sb_rec_get(component, "command_timeout");
	double s = r->command_timeout;

	/* A number of seconds or a duration; zero, negative or malformed leaves the default. */
	if (jv_get_kind(t) == JV_KIND_NUMBER && jv_number_value(t) > 0)
		s = jv_number_value(t);
	else if (jv_get_kind(t) == JV_KIND_STRING && (sb_duration_parse(jv_string_value(t), &s) < 0 || s <= 0))
		s = r->command_timeout;
	jv_free(t);
	return s;
}

/* The argv of a command array, or NULL when it is absent or not an array of strings. */
static const char **command_argv(jv cmd)
{
	int n = jv_get_kind(cmd) == JV_KIND_ARRAY ? jv_array_length(jv_copy(cmd)) : 0;
	const char **argv;

	if (n == 0)
		return NULL;
	argv = sb_calloc((size_t)n + 1, sizeof *argv);
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(cmd), i);
		if (jv_get_kind(s) != JV_KIND_STRING) {
			jv_free(s);
			free(argv);
			return NULL;
		}
		argv[i] = jv_string_value(s);
		jv_free(s); /* the string lives on in cmd */
	}
	return argv;
}

static jv run_once(const struct sb_runner *r, jv cmd, double timeout, const char *root)
{
	const char **argv = command_argv(cmd);
	int status = 0;
	char *output = NULL;
	double t0 = sb_time_now();
	jv res = jv_object();

	if (!argv)
		return jv_object_set(jv_object_set(res, jv_string("ok"), jv_false()), jv_string("error"),
				     jv_string("not an array of strings"));
	enum sb_proc_result pr = sb_proc_run(argv, root, timeout, &status, &output);
	res = jv_object_set(res, jv_string("ok"), jv_bool(pr == SB_PROC_RAN && status == 0));
	if (pr == SB_PROC_RAN)
		res = jv_object_set(res, jv_string("exit"), jv_number(status));
	else if (pr == SB_PROC_MISSING)
		res = jv_object_set(res, jv_string("error"), jv_string("command not found"));
	else if (pr == SB_PROC_TIMEOUT)
		res = jv_object_set(res, jv_string("error"), jv_string("timed out"));
	else
		res = jv_object_set(res, jv_string("error"), jv_string(strerror(status)));
	if (output) {
		size_t len = strlen(output);
		res = jv_object_set(res, jv_string("output"),
				    jv_string(len > OUTPUT_TAIL ? output + len - OUTPUT_TAIL : output));
	}
	res = jv_object_set(res, jv_string("duration_ms"), jv_number(round((sb_time_now() - t0) * 1000)));
	free(output);
	free(argv);
	(void)r;
	return res;
}

/* Commands learn which deployment and component they run for from the environment. */
static void command_env(jv component, const char *deployment)
{
	(void)component;
	setenv("SB_DEPLOYMENT", deployment ? deployment : "", 1);
}

jv sb_run_reload(const struct sb_runner *r, jv component, const char *root, const char *deployment)
{
	jv cmd = sb_rec_get(component, "reload"), res;

	if (jv_get_kind(cmd) == JV_KIND_NULL) {
		jv_free(cmd);
		return jv_object_set(jv_object_set(jv_object(), jv_string("ok"), jv_true()), jv_string("skipped"),
				     jv_true());
	}
	command_env(component, deployment);
	res = run_once(r, cmd, component_timeout(r, component), root);
	jv_free(cmd);
	return res;
}

jv sb_run_health(const struct sb_runner *r, jv component, const char *root, const char *deployment)
{
	jv cmd = sb_rec_get(component, "health"), res = jv_null();
	long attempt;

	if (jv_get_kind(cmd) == JV_KIND_NULL) {
		jv_free(cmd);
		return jv_object_set(jv_object_set(jv_object(), jv_string("ok"), jv_true()), jv_string("skipped"),
				     jv_true());
	}
	command_env(component, deployment);
	for (attempt = 1; attempt <= r->health_retries; attempt++) {
		if (attempt > 1 && r->health_interval > 0) {
			struct timespec pause = {(time_t)r->health_interval,
						 (long)((r->health_interval - floor(r->health_interval)) * 1e9)};
			nanosleep(&pause, NULL);
		}
		jv_free(res);
		res = run_once(r, cmd, component_timeout(r, component), root);
		jv ok = jv_object_get(jv_copy(res), jv_string("ok"));
		int passed = jv_get_kind(ok) == JV_KIND_TRUE;
		jv_free(ok);
		if (passed)
			break;
	}
	jv_free(cmd);
	return jv_object_set(res, jv_string("attempts"), jv_number(attempt > r->health_retries ? r->health_retries : attempt));
}

/* ---- notifications ---- */

static jv add_urls(jv urls, jv list)
{
	if (jv_get_kind(list) == JV_KIND_STRING)
		list = jv_array_append(jv_array(), list);
	if (jv_get_kind(list) == JV_KIND_ARRAY) {
		jv_array_foreach(list, i, u)
		{
			if (jv_get_kind(u) == JV_KIND_STRING)
				urls = jv_array_append(urls, jv_copy(u));
			jv_free(u);
		}
	}
	jv_free(list);
	return urls;
}

static jv notify_urls(const struct sb_runner *r, const char *component)
{
	jv urls = add_urls(jv_array(), sb_config_get(r->common->config, "notify"));
	jv comp = component_config(r, component), deps = sb_rec_get(comp, "dependents");

	if (jv_get_kind(deps) == JV_KIND_ARRAY) {
		jv_array_foreach(deps, i, d)
		{
			if (jv_get_kind(d) != JV_KIND_STRING) {
				jv_free(d);
				continue;
			}
			const char *s = jv_string_value(d);
			if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) {
				urls = jv_array_append(urls, jv_copy(d));
			} else {
				jv other = component_config(r, s);
				urls = add_urls(urls, sb_rec_get(other, "notify"));
				jv_free(other);
			}
			jv_free(d);
		}
	}
	jv_free(deps);
	jv_free(comp);
	return urls;
}

jv sb_notify(const struct sb_runner *r, const char *component, jv summary)
{
	static const char *const headers[] = {"Content-Type: application/json", NULL};
	jv urls = notify_urls(r, component), out = jv_array(), body = jv_dump_string(jv_copy(summary), 0);

	jv_array_foreach(urls, i, u)
	{
		struct sb_http_request req = {.url = jv_string_value(u), .body = jv_string_value(body),
					      .body_len = (size_t)jv_string_length_bytes(jv_copy(body)),
					      .headers = headers, .timeout = r->notify_timeout};
		struct sb_http_response resp;
		char err[512], *shown = sb_url_redact(jv_string_value(u));
		jv res = jv_object_set(jv_object(), jv_string("url"), jv_string(shown));
		if (sb_http_request(&req, &resp, err, sizeof err) == 0) {
			res = jv_object_set(res, jv_string("ok"), jv_bool(resp.status >= 200 && resp.status < 300));
			res = jv_object_set(res, jv_string("status"), jv_number(resp.status));
			if (resp.status < 200 || resp.status >= 300)
				sb_warn("notification to %s failed: HTTP %ld", shown, resp.status);
			sb_http_response_free(&resp);
		} else {
			res = jv_object_set(res, jv_string("ok"), jv_false());
			res = jv_object_set(res, jv_string("error"), jv_string(err));
			sb_warn("notification to %s failed: %s", shown, err);
		}
		out = jv_array_append(out, res);
		free(shown);
		jv_free(u);
	}
	jv_free(urls);
	jv_free(body);
	return out;
}
