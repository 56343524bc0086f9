/* sb-mcp - the improvement cycle as Model Context Protocol tools: JSON-RPC 2.0 on stdin and stdout */
#include "config.h"
#include "err.h"
#include "fsutil.h"
#include "opts.h"
#include "proc.h"
#include "record.h"
#include "state.h"
#include "strbuf.h"
#include "timefmt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MODERN "2026-07-28"
#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CAPS "io.modelcontextprotocol/clientCapabilities"
#define META_SERVER "io.modelcontextprotocol/serverInfo"
/* Newest first: the answer to an initialize asking for a version not here. */
static const char *const legacy_versions[] = {"2025-11-25", "2025-06-18", NULL};

enum { OPT_STATUS_TTL = 1000, OPT_CALL_TIMEOUT };

static const struct sb_option options[] = {
	{"status-ttl", 0, "DURATION", "reuse get_system_status for this long (default 10s; 0: never)", OPT_STATUS_TTL,
	 "SB_MCP_STATUS_TTL", "mcp.status_ttl"},
	{"call-timeout", 0, "DURATION", "end a tool call that runs longer (default 30m)", OPT_CALL_TIMEOUT,
	 "SB_MCP_CALL_TIMEOUT", "mcp.call_timeout"},
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

struct settings {
	double status_ttl, call_timeout;
};

static int set_option(void *ctx, int id, const char *arg)
{
	struct settings *s = ctx;

	switch (id) {
	case OPT_STATUS_TTL:
		if (strcmp(arg, "0") == 0) {
			s->status_ttl = 0;
			return 0;
		}
		return sb_opt_duration("status-ttl", arg, &s->status_ttl);
	case OPT_CALL_TIMEOUT: return sb_opt_duration("call-timeout", arg, &s->call_timeout);
	}
	return -1;
}

/* ---- the tools' descriptions ---- */

static const char *const tool_json[] = {
	"{\"name\":\"trigger_improvement_cycle\",\"title\":\"Run an improvement cycle\","
	"\"description\":\"Run one sb improvement cycle now (telemetry, analysis, scoring, generation, validation, "
	"deployment as the configuration allows) and return its summary: the cycle id, each stage's record counts and "
	"exit status, and the changes it deployed or refused.\","
	"\"inputSchema\":{\"type\":\"object\",\"properties\":{"
	"\"analysis_window_hours\":{\"type\":\"number\",\"minimum\":0,\"description\":\"hours of telemetry to analyse (default 1; 0: all)\"},"
	"\"max_improvements\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"most opportunities to work on (default 3)\"},"
	"\"tenant_id\":{\"type\":\"string\",\"description\":\"only this tenant's telemetry and components\"}},"
	"\"additionalProperties\":false},"
	"\"outputSchema\":{\"type\":\"object\",\"properties\":{\"cycle_id\":{\"type\":\"string\"},\"status\":{\"type\":\"string\"},"
	"\"exit\":{\"type\":\"integer\"},\"stages\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}},"
	"\"changes\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}},\"required\":[\"cycle_id\",\"status\",\"stages\",\"changes\"]},"
	"\"annotations\":{\"readOnlyHint\":false,\"destructiveHint\":true,\"idempotentHint\":false,\"openWorldHint\":true}}",

	"{\"name\":\"generate_component\",\"title\":\"Generate a new component\","
	"\"description\":\"Have a new component generated from requirements (sb-gen's component mode) and validated "
	"(sb-validate). Returns the change and its validation; deploys nothing.\","
	"\"inputSchema\":{\"type\":\"object\",\"properties\":{"
	"\"component_type\":{\"type\":\"string\",\"description\":\"what kind of component: api, worker, lambda, ...\"},"
	"\"requirements\":{\"type\":\"string\",\"description\":\"what it must do\"},"
	"\"context\":{\"type\":\"string\",\"description\":\"more context for the model\"},"
	"\"name\":{\"type\":\"string\",\"description\":\"the new component's name (default new-COMPONENT_TYPE)\"}},"
	"\"required\":[\"component_type\",\"requirements\"],\"additionalProperties\":false},"
	"\"outputSchema\":{\"type\":\"object\",\"properties\":{\"change\":{\"anyOf\":[{\"type\":\"object\"},{\"type\":\"null\"}]},"
	"\"validation\":{\"anyOf\":[{\"type\":\"object\"},{\"type\":\"null\"}]},\"valid\":{\"type\":\"boolean\"}},\"required\":[\"change\",\"validation\",\"valid\"]},"
	"\"annotations\":{\"readOnlyHint\":true,\"openWorldHint\":true}}",

	"{\"name\":\"get_system_status\",\"title\":\"System status\","
	"\"description\":\"The state of sb: components, deployments in their monitoring period or held, queued changes, "
	"recent cycles, circuit breakers, totals and feature flags (sb-status records).\","
	"\"inputSchema\":{\"type\":\"object\",\"additionalProperties\":false},"
	"\"outputSchema\":{\"type\":\"object\",\"properties\":{\"records\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}},"
	"\"cached\":{\"type\":\"boolean\"},\"generated\":{\"type\":\"string\"}},\"required\":[\"records\",\"cached\",\"generated\"]},"
	"\"annotations\":{\"readOnlyHint\":true,\"openWorldHint\":false}}",

	"{\"name\":\"query_telemetry_insights\",\"title\":\"Recent insights\","
	"\"description\":\"The insights (degradations, anomalies, trends, error patterns) that recent cycles found, "
	"filtered by metric and tenant.\","
	"\"inputSchema\":{\"type\":\"object\",\"properties\":{"
	"\"metric_name\":{\"type\":\"string\",\"description\":\"only insights about this metric\"},"
	"\"time_range_hours\":{\"type\":\"number\",\"exclusiveMinimum\":0,\"description\":\"cycles started this many hours ago at most (default 24)\"},"
	"\"tenant_id\":{\"type\":\"string\",\"description\":\"only this tenant's insights\"}},\"additionalProperties\":false},"
	"\"outputSchema\":{\"type\":\"object\",\"properties\":{\"insights\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}},"
	"\"cycles\":{\"type\":\"integer\"}},\"required\":[\"insights\",\"cycles\"]},"
	"\"annotations\":{\"readOnlyHint\":true,\"openWorldHint\":false}}",
	NULL,
};

/* ---- results ---- */

static jv text_content(const char *text)
{
	jv c = jv_object_set(jv_object(), jv_string("type"), jv_string("text"));

	return jv_array_append(jv_array(), jv_object_set(c, jv_string("text"), jv_string(text)));
}

/* A tool's answer: the structured content, and the same as JSON text for clients that read only text. */
static jv tool_result(jv structured)
{
	jv text = jv_dump_string(jv_copy(structured), 0);
	jv r = jv_object_set(jv_object(), jv_string("content"), text_content(jv_string_value(text)));

	jv_free(text);
	r = jv_object_set(r, jv_string("structuredContent"), structured);
	return jv_object_set(r, jv_string("isError"), jv_false());
}

static jv tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A tool that failed: a message the model can act on. */
static jv tool_error(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = sb_vasprintf(fmt, ap);
	va_end(ap);
	jv r = jv_object_set(jv_object(), jv_string("content"), text_content(msg));
	free(msg);
	return jv_object_set(r, jv_string("isError"), jv_true());
}

/* ---- running the sb tools, in a call's child process ---- */

/* Run a sibling tool (argv[0] its name): stdin from in or /dev/null, stdout and stderr to files. */
static int run_tool(char **argv, const char *in, const char *out, const char *err)
{
	char *name = argv[0];

	argv[0] = sb_tool_path(name);
	pid_t pid = sb_proc_spawn(argv, in, out, 0, err, 0);
	free(argv[0]);
	argv[0] = name;
	return pid < 0 ? -1 : sb_proc_wait(pid);
}

/* Every JSON object line of a file. */
static jv read_records(const char *path)
{
	char *text = sb_read_file(path, NULL), *line, *next;
	jv out = jv_array();

	for (line = text; line && *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		jv v = jv_parse(line);
		if (jv_get_kind(v) == JV_KIND_OBJECT)
			out = jv_array_append(out, v);
		else
			jv_free(v);
	}
	free(text);
	return out;
}

/* The end of a tool's messages: where the reason usually is. */
static char *messages_of(const char *path)
{
	size_t len = 0;
	char *text = sb_read_file(path, &len), *out;

	if (!text)
		return sb_strdup("(no message)");
	while (len && text[len - 1] == '\n')
		text[--len] = '\0';
	out = sb_strdup(len > 800 ? text + len - 800 : text);
	free(text);
	return out;
}

/* A call's scratch directory: its tools' outputs and messages. */
static char *scratch_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = sb_asprintf("%s/sb-mcp.XXXXXX", tmp && *tmp ? tmp : "/tmp");

	if (!mkdtemp(dir))
		sb_die(SB_EXIT_IO, "cannot create a temporary directory:");
	return dir;
}

static void scratch_remove(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			char *p = sb_asprintf("%s/%s", dir, e->d_name);
			unlink(p);
			free(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

/* "sb-cycle: cycle ID: DIR" on sb-cycle's standard error names the cycle. */
static char *cycle_id_in(const char *err)
{
	char *text = sb_read_file(err, NULL), *p, *id = NULL;

	if (text && (p = strstr(text, "sb-cycle: cycle "))) {
		p += strlen("sb-cycle: cycle ");
		id = sb_strndup(p, strcspn(p, ": \n"));
	}
	free(text);
	return id;
}

static jv pick(jv from, const char *const *keys)
{
	jv o = jv_object();

	for (const char *const *k = keys; *k; k++)
		o = jv_object_set(o, jv_string(*k), sb_rec_get(from, *k));
	return o;
}

static jv cycle_summary(const struct sb_common *c, const char *id, jv records)
{
	static const char *const stage_keys[] = {"name", "records_in", "records_out", "exit", NULL};
	char *path = sb_asprintf("%s/cycles/%s/cycle.json", sb_state_dir(c), id);
	jv cycle = sb_state_read(path, "cycle record"), stages = jv_array(), changes = jv_array(), st;
	jv out = jv_object_set(jv_object(), jv_string("cycle_id"), jv_string(id));

	out = jv_object_set(out, jv_string("status"), sb_rec_get(cycle, "status"));
	out = jv_object_set(out, jv_string("exit"), sb_rec_get(cycle, "exit"));
	st = sb_rec_get(cycle, "stages");
	if (jv_get_kind(st) == JV_KIND_ARRAY) {
		jv_array_foreach(st, i, s)
		{
			stages = jv_array_append(stages, pick(s, stage_keys));
			jv_free(s);
		}
	}
	jv_free(st);
	jv_array_foreach(records, i, d)
	{
		jv row = jv_object_set(jv_object(), jv_string("deployment"), sb_rec_get(d, "id"));
		static const char *const keys[] = {"change", "component", "status", "reason", NULL};
		changes = jv_array_append(changes, jv_object_merge(row, pick(d, keys)));
		jv_free(d);
	}
	jv_free(records);
	jv_free(cycle);
	free(path);
	out = jv_object_set(out, jv_string("stages"), stages);
	return jv_object_set(out, jv_string("changes"), changes);
}

static jv do_cycle(const struct sb_common *c, jv args, const char *tenant)
{
	char *dir = scratch_dir(), *out = sb_asprintf("%s/out", dir), *err = sb_asprintf("%s/err", dir), *id;
	char hours[64], max[64];
	double h = 1, n = 3;
	jv result;

	sb_rec_number(args, "analysis_window_hours", &h);
	sb_rec_number(args, "max_improvements", &n);
	snprintf(hours, sizeof hours, "%g", h);
	snprintf(max, sizeof max, "%ld", (long)n);
	char *argv[] = {"sb-cycle", "--window", hours, "--max", max, tenant ? "--tenant" : NULL, (char *)tenant, NULL};
	int rc = run_tool(argv, NULL, out, err);
	if (!(id = cycle_id_in(err))) {
		char *msg = messages_of(err);
		result = tool_error("no cycle ran (sb-cycle exit %d): %s", rc, msg);
		free(msg);
	} else {
		result = tool_result(cycle_summary(c, id, read_records(out)));
		if (rc > 1) {
			/* A failed stage: the summary says which; the flag tells the model it did not go through. */
			result = jv_object_set(result, jv_string("isError"), jv_true());
		}
	}
	free(id);
	free(out);
	free(err);
	scratch_remove(dir);
	return result;
}

static jv do_generate(jv args, const char *tenant)
{
	char *dir = scratch_dir(), *gen = sb_asprintf("%s/gen", dir), *val = sb_asprintf("%s/val", dir),
	     *err = sb_asprintf("%s/err", dir), *ctx = sb_asprintf("%s/context", dir);
	char *type = sb_rec_string(args, "component_type"), *req = sb_rec_string(args, "requirements"),
	     *name = sb_rec_string(args, "name"), *context = sb_rec_string(args, "context");
	jv result;

	if (!name)
		name = sb_asprintf("new-%s", type);
	if (context && sb_write_atomic(ctx, context, strlen(context), 0600) < 0)
		sb_die(SB_EXIT_IO, "cannot write '%s':", ctx);
	char *argv[12] = {"sb-gen", "--component-type", type, "--component", name, "--requirements", req};
	int k = 7;
	if (tenant) {
		argv[k++] = "--tenant";
		argv[k++] = (char *)tenant;
	}
	if (context) {
		argv[k++] = "--context";
		argv[k++] = ctx;
	}
	int rc = run_tool(argv, NULL, gen, err);
	jv changes = read_records(gen);
	if (jv_array_length(jv_copy(changes)) == 0) {
		char *msg = messages_of(err);
		result = tool_error("no component was generated (sb-gen exit %d): %s", rc, msg);
		free(msg);
	} else {
		char *vargv[] = {"sb-validate", NULL};
		run_tool(vargv, gen, val, err);
		jv validated = read_records(val), change = jv_array_get(jv_copy(validated), 0);
		jv o = jv_object_set(jv_object(), jv_string("validation"), sb_rec_get(change, "validation"));
		jv ok = sb_rec_get(sb_rec_get(change, "validation"), "ok");
		o = jv_object_set(o, jv_string("valid"), jv_bool(jv_get_kind(ok) == JV_KIND_TRUE));
		jv_free(ok);
		if (jv_get_kind(change) == JV_KIND_OBJECT)
			change = jv_object_delete(change, jv_string("validation"));
		o = jv_object_set(o, jv_string("change"), jv_get_kind(change) == JV_KIND_OBJECT ? change : jv_null());
		jv_free(validated);
		result = tool_result(o);
	}
	jv_free(changes);
	free(type);
	free(req);
	free(name);
	free(context);
	free(gen);
	free(val);
	free(err);
	free(ctx);
	scratch_remove(dir);
	return result;
}

static jv do_status(const char *tenant)
{
	char *dir = scratch_dir(), *out = sb_asprintf("%s/out", dir), *err = sb_asprintf("%s/err", dir), ts[SB_TIME_BUFSZ];
	char *argv[] = {"sb-status", "--format", "json", tenant ? "--tenant" : NULL, (char *)tenant, NULL};
	int rc = run_tool(argv, NULL, out, err);
	jv result;

	if (rc != 0) {
		char *msg = messages_of(err);
		result = tool_error("sb-status failed (exit %d): %s", rc, msg);
		free(msg);
	} else {
		jv o = jv_object_set(jv_object(), jv_string("records"), read_records(out));
		o = jv_object_set(o, jv_string("cached"), jv_false());
		result = tool_result(jv_object_set(o, jv_string("generated"), jv_string(sb_time_format(sb_clock(), ts))));
	}
	free(out);
	free(err);
	scratch_remove(dir);
	return result;
}

/* The insights of the cycles that started within the range, as sb-analyze wrote them. */
static jv do_insights(const struct sb_common *c, jv args, const char *tenant)
{
	char *metric = sb_rec_string(args, "metric_name"), *root = sb_asprintf("%s/cycles", sb_state_dir(c));
	double hours = 24, since;
	struct dirent **names;
	jv insights = jv_array();
	long cycles = 0;
	int n;

	sb_rec_number(args, "time_range_hours", &hours);
	since = sb_clock() - hours * 3600;
	n = scandir(root, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char *path = sb_asprintf("%s/%s/cycle.json", root, names[i]->d_name);
		jv cycle = names[i]->d_name[0] == '.' ? jv_null() : sb_state_read(path, "cycle record");
		double start;
		if (jv_get_kind(cycle) == JV_KIND_OBJECT && sb_rec_time(cycle, "start", &start) && start >= since) {
			char *file = sb_asprintf("%s/%s/2-analyze.ndjson", root, names[i]->d_name);
			jv recs = read_records(file);
			cycles++;
			jv_array_foreach(recs, k, r)
			{
				char *type = sb_rec_string(r, "type"), *m = sb_rec_string(r, "metric"), *t = sb_rec_tenant(r);
				int keep = type && strcmp(type, "insight") == 0 && (!metric || (m && strcmp(m, metric) == 0)) &&
					   (!tenant || (t && strcmp(t, tenant) == 0));
				insights = keep ? jv_array_append(insights, r) : (jv_free(r), insights);
				free(type);
				free(m);
				free(t);
			}
			jv_free(recs);
			free(file);
		}
		jv_free(cycle);
		free(path);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	free(root);
	free(metric);
	jv o = jv_object_set(jv_object(), jv_string("insights"), insights);
	return tool_result(jv_object_set(o, jv_string("cycles"), jv_number((double)cycles)));
}

/* ---- the server ---- */

struct call {
	jv id;
	char *tool;
	pid_t pid;
	int fd;
	struct sb_buf out;
	double deadline, ended_at; /* ended_at: when SIGTERM was sent, or 0 */
	int modern, cancelled, timed_out;
};

/* A call's tools get SIGTERM, and SIGKILL if they are still there a few seconds later. */
#define GRACE 5

static void end_call(struct call *c)
{
	if (!c->ended_at) {
		c->ended_at = sb_time_now();
		kill(-c->pid, SIGTERM);
	}
}

struct server {
	const struct settings *set;
	const struct sb_common *common;
	jv tools;            /* the tool descriptions */
	jv tenants;          /* configured tenant ids */
	char *version;       /* negotiated by initialize, or NULL */
	struct call *calls;
	size_t ncalls;
	/* Groups of ended calls whose child is gone but whose tools may linger: SIGKILL at kill_at. */
	struct lingering {
		pid_t group;
		double kill_at;
	} *lingering;
	size_t nlingering;
	jv status;           /* the last get_system_status result, and when */
	double status_at;
};

/* Set by SIGTERM, SIGINT or SIGHUP, or when the client stops reading: the loop ends the calls and leaves. */
static volatile sig_atomic_t stop_signal, client_gone;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void send_message(jv msg)
{
	jv text = jv_dump_string(msg, 0);

	/* jq's dump escapes newlines in strings: one message, one line. */
	if (!client_gone && (printf("%s\n", jv_string_value(text)) < 0 || fflush(stdout) == EOF))
		client_gone = 1;
	jv_free(text);
}

static jv server_info(void)
{
	jv i = jv_object_set(jv_object(), jv_string("name"), jv_string("sb-mcp"));

	i = jv_object_set(i, jv_string("title"), jv_string("sb"));
	return jv_object_set(i, jv_string("version"), jv_string(SB_VERSION));
}

static void send_result(jv id, jv result, int modern)
{
	jv msg = jv_object_set(jv_object(), jv_string("jsonrpc"), jv_string("2.0"));

	if (modern) {
		result = jv_object_set(result, jv_string("resultType"), jv_string("complete"));
		result = jv_object_set(result, jv_string("_meta"),
				       jv_object_set(jv_object(), jv_string(META_SERVER), server_info()));
	}
	msg = jv_object_set(msg, jv_string("id"), id);
	send_message(jv_object_set(msg, jv_string("result"), result));
}

static void send_error(jv id, int code, const char *message, jv data)
{
	jv err = jv_object_set(jv_object(), jv_string("code"), jv_number(code));
	jv msg = jv_object_set(jv_object(), jv_string("jsonrpc"), jv_string("2.0"));

	err = jv_object_set(err, jv_string("message"), jv_string(message));
	if (jv_is_valid(data) && jv_get_kind(data) != JV_KIND_NULL)
		err = jv_object_set(err, jv_string("data"), data);
	else
		jv_free(data);
	msg = jv_object_set(msg, jv_string("id"), id);
	send_message(jv_object_set(msg, jv_string("error"), err));
}

static jv supported_versions(void)
{
	jv v = jv_array_append(jv_array(), jv_string(MODERN));

	for (const char *const *l = legacy_versions; *l; l++)
		v = jv_array_append(v, jv_string(*l));
	return v;
}

static const char *instructions =
	"sb closes the loop between production telemetry and code: get_system_status shows what is deployed, "
	"monitored or waiting; query_telemetry_insights shows what recent cycles found; trigger_improvement_cycle "
	"runs a cycle now; generate_component drafts and validates a new component without deploying it.";

static void on_initialize(struct server *s, jv id, jv params)
{
	char *asked = sb_rec_string(params, "protocolVersion");
	const char *answer = legacy_versions[0];

	for (const char *const *l = legacy_versions; *l; l++)
		if (asked && strcmp(asked, *l) == 0)
			answer = *l;
	free(s->version);
	s->version = sb_strdup(answer);
	jv r = jv_object_set(jv_object(), jv_string("protocolVersion"), jv_string(answer));
	r = jv_object_set(r, jv_string("capabilities"),
			  jv_object_set(jv_object(), jv_string("tools"),
					jv_object_set(jv_object(), jv_string("listChanged"), jv_false())));
	r = jv_object_set(r, jv_string("serverInfo"), server_info());
	r = jv_object_set(r, jv_string("instructions"), jv_string(instructions));
	free(asked);
	send_result(id, r, 0);
}

static void on_discover(jv id)
{
	jv r = jv_object_set(jv_object(), jv_string("supportedVersions"), supported_versions());

	r = jv_object_set(r, jv_string("capabilities"), jv_object_set(jv_object(), jv_string("tools"), jv_object()));
	r = jv_object_set(r, jv_string("instructions"), jv_string(instructions));
	r = jv_object_set(r, jv_string("ttlMs"), jv_number(3600000));
	r = jv_object_set(r, jv_string("cacheScope"), jv_string("public"));
	send_result(id, r, 1);
}

static void on_tools_list(struct server *s, jv id, jv params, int modern)
{
	jv cursor = sb_rec_get(params, "cursor");
	int bad = jv_get_kind(cursor) != JV_KIND_NULL;

	jv_free(cursor);
	if (bad) {
		/* Every tool fits on one page: no cursor was ever given out. */
		send_error(id, -32602, "Invalid cursor", jv_null());
		return;
	}
	jv r = jv_object_set(jv_object(), jv_string("tools"), jv_copy(s->tools));
	if (modern) {
		r = jv_object_set(r, jv_string("ttlMs"), jv_number(3600000));
		r = jv_object_set(r, jv_string("cacheScope"), jv_string("public"));
	}
	send_result(id, r, modern);
}

/* ---- arguments and tenants ---- */

static int has_string(jv list, const char *s)
{
	int found = 0;

	jv_array_foreach(list, i, x)
	{
		found |= jv_get_kind(x) == JV_KIND_STRING && strcmp(jv_string_value(x), s) == 0;
		jv_free(x);
	}
	return found;
}

static jv configured_tenants(jv config)
{
	jv out = jv_array(), t = sb_config_get(config, "tenants"), comps = sb_config_get(config, "components");

	if (jv_get_kind(t) == JV_KIND_ARRAY) {
		jv_array_foreach(t, i, x)
		{
			out = jv_get_kind(x) == JV_KIND_STRING ? jv_array_append(out, x) : (jv_free(x), out);
		}
	} else if (jv_get_kind(t) == JV_KIND_OBJECT) {
		jv_object_foreach(t, k, x)
		{
			out = jv_array_append(out, k);
			jv_free(x);
		}
	}
	if (jv_get_kind(comps) == JV_KIND_OBJECT) {
		jv_object_foreach(comps, k, c)
		{
			jv tenant = sb_rec_get(c, "tenant");
			out = jv_get_kind(tenant) == JV_KIND_STRING ? jv_array_append(out, tenant) : (jv_free(tenant), out);
			jv_free(k);
			jv_free(c);
		}
	}
	jv_free(t);
	jv_free(comps);
	return out;
}

/* The schema's types, checked by hand: a message naming the argument when one is wrong, else NULL. */
static char *bad_argument(const char *tool, jv args)
{
	static const struct {
		const char *tool, *name, *type; /* string, number, integer */
		int required;
	} rules[] = {
		{"trigger_improvement_cycle", "analysis_window_hours", "number", 0},
		{"trigger_improvement_cycle", "max_improvements", "integer", 0},
		{"trigger_improvement_cycle", "tenant_id", "string", 0},
		{"generate_component", "component_type", "string", 1},
		{"generate_component", "requirements", "string", 1},
		{"generate_component", "context", "string", 0},
		{"generate_component", "name", "string", 0},
		{"query_telemetry_insights", "metric_name", "string", 0},
		{"query_telemetry_insights", "time_range_hours", "positive", 0},
		{"query_telemetry_insights", "tenant_id", "string", 0},
	};
	char *msg = NULL;

	jv_object_foreach(args, k, v)
	{
		int known = 0;
		for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
			known |= strcmp(rules[i].tool, tool) == 0 && strcmp(rules[i].name, jv_string_value(k)) == 0;
		if (!known && !msg)
			msg = sb_asprintf("%s takes no argument '%s'", tool, jv_string_value(k));
		jv_free(k);
		jv_free(v);
	}
	for (size_t i = 0; i < sizeof rules / sizeof *rules && !msg; i++) {
		if (strcmp(rules[i].tool, tool) != 0)
			continue;
		jv v = sb_rec_get(args, rules[i].name);
		int kind = jv_get_kind(v), is_string = strcmp(rules[i].type, "string") == 0;
		double x = kind == JV_KIND_NUMBER ? jv_number_value(v) : 0;
		if (kind == JV_KIND_NULL && rules[i].required)
			msg = sb_asprintf("%s needs '%s' (a string)", tool, rules[i].name);
		else if (kind != JV_KIND_NULL && is_string && (kind != JV_KIND_STRING || !*jv_string_value(v)))
			msg = sb_asprintf("'%s' must be a non-empty string", rules[i].name);
		else if (kind != JV_KIND_NULL && !is_string &&
			 (kind != JV_KIND_NUMBER || !isfinite(x) || x < 0 ||
			  (strcmp(rules[i].type, "positive") == 0 && x == 0) ||
			  (strcmp(rules[i].type, "integer") == 0 && (x != floor(x) || x < 1))))
			msg = sb_asprintf("'%s' must be %s", rules[i].name,
					  strcmp(rules[i].type, "integer") == 0    ? "an integer of 1 or more"
					  : strcmp(rules[i].type, "positive") == 0 ? "a number greater than 0"
										   : "a number of 0 or more");
		jv_free(v);
	}
	return msg;
}

/* The tenant a call works for, or NULL for all; *why is set when the call must be refused. */
static char *call_tenant(struct server *s, jv args, char **why)
{
	char *t = sb_rec_string(args, "tenant_id");
	const char *pinned = s->common->tenant;

	*why = NULL;
	if (pinned && t && strcmp(t, pinned) != 0)
		*why = sb_asprintf("this server serves tenant %s only; '%s' is refused", pinned, t);
	else if (t && !has_string(s->tenants, t))
		*why = sb_asprintf("unknown tenant '%s': not in the configuration", t);
	if (!t && pinned)
		t = sb_strdup(pinned);
	return t;
}

/* ---- calls in child processes ---- */

static jv run_call(struct server *s, const char *tool, jv args, const char *tenant)
{
	if (strcmp(tool, "trigger_improvement_cycle") == 0)
		return do_cycle(s->common, args, tenant);
	if (strcmp(tool, "generate_component") == 0)
		return do_generate(args, tenant);
	if (strcmp(tool, "get_system_status") == 0)
		return do_status(tenant);
	return do_insights(s->common, args, tenant);
}

static void start_call(struct server *s, jv id, const char *tool, jv args, const char *tenant, int modern)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		sb_die(SB_EXIT_IO, "cannot make a pipe:");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		sb_die(SB_EXIT_IO, "cannot start a call:");
	if (pid == 0) {
		/* Its own process group: cancelling the call ends every tool it started. */
		setpgid(0, 0);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(p[0]);
		close(0);
		/* The tools it runs must not hold the answer's pipe open after the call has ended. */
		fcntl(p[1], F_SETFD, FD_CLOEXEC);
		jv r = run_call(s, tool, args, tenant);
		jv text = jv_dump_string(r, 0);
		sb_write_all(p[1], jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)));
		_exit(0);
	}
	setpgid(pid, pid);
	close(p[1]);
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	s->calls = sb_realloc(s->calls, (s->ncalls + 1) * sizeof *s->calls);
	s->calls[s->ncalls++] = (struct call){.id = id, .tool = sb_strdup(tool), .pid = pid, .fd = p[0],
					      .deadline = sb_time_now() + s->set->call_timeout, .modern = modern};
}

/* A call's child is done (or was ended): answer it, unless it was cancelled. */
static void finish_call(struct server *s, size_t i)
{
	struct call *c = &s->calls[i];
	int status = 0;
	jv r = c->out.n ? jv_parse_sized(c->out.p, (int)c->out.n) : jv_invalid();

	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(c->fd);
	if (c->cancelled) {
		jv_free(r);
		jv_free(c->id);
	} else {
		if (c->timed_out) {
			jv_free(r);
			r = tool_error("%s timed out after %gs and was stopped", c->tool, s->set->call_timeout);
		} else if (jv_get_kind(r) != JV_KIND_OBJECT) {
			jv_free(r);
			r = tool_error("%s ended without an answer (status %d)", c->tool, status);
		} else if (strcmp(c->tool, "get_system_status") == 0 && !sb_rec_true(r, "isError")) {
			jv_free(s->status);
			s->status = jv_copy(r);
			s->status_at = sb_time_now();
		}
		send_result(c->id, r, c->modern);
	}
	if (c->ended_at) {
		s->lingering = sb_realloc(s->lingering, (s->nlingering + 1) * sizeof *s->lingering);
		s->lingering[s->nlingering++] = (struct lingering){c->pid, c->ended_at + GRACE};
	}
	free(c->tool);
	free(c->out.p);
	s->calls[i] = s->calls[--s->ncalls];
}

/* SIGKILL for what is left of ended calls once their grace has passed (or at once with force). */
static void kill_lingering(struct server *s, int force)
{
	double now = sb_time_now();

	for (size_t i = s->nlingering; i-- > 0;) {
		struct lingering *l = &s->lingering[i];
		if (kill(-l->group, 0) < 0 && errno == ESRCH) {
			*l = s->lingering[--s->nlingering];
		} else if (force || now >= l->kill_at) {
			kill(-l->group, SIGKILL);
			*l = s->lingering[--s->nlingering];
		}
	}
}

static void cancel_call(struct server *s, jv request_id)
{
	for (size_t i = 0; i < s->ncalls; i++) {
		if (jv_equal(jv_copy(s->calls[i].id), jv_copy(request_id)) && !s->calls[i].cancelled) {
			s->calls[i].cancelled = 1;
			end_call(&s->calls[i]);
		}
	}
}

/* The status from the cache, marked so, when it is fresh enough. */
static int cached_status(struct server *s, jv id, int modern)
{
	if (s->set->status_ttl <= 0 || jv_get_kind(s->status) != JV_KIND_OBJECT ||
	    sb_time_now() - s->status_at >= s->set->status_ttl)
		return 0;
	jv structured = sb_rec_get(s->status, "structuredContent");
	send_result(id, tool_result(jv_object_set(structured, jv_string("cached"), jv_true())), modern);
	return 1;
}

static const char *find_tool(struct server *s, const char *name)
{
	const char *found = NULL;

	jv_array_foreach(s->tools, i, t)
	{
		jv n = sb_rec_get(t, "name");
		if (!found && strcmp(jv_string_value(n), name) == 0)
			found = tool_json[i];
		jv_free(n);
		jv_free(t);
	}
	return found;
}

static void on_tools_call(struct server *s, jv id, jv params, int modern)
{
	char *name = sb_rec_string(params, "name"), *why = NULL, *tenant = NULL;
	jv args = sb_rec_get(params, "arguments");

	if (jv_get_kind(args) == JV_KIND_NULL) {
		jv_free(args);
		args = jv_object();
	}
	if (!name) {
		send_error(id, -32602, "tools/call needs a tool name", jv_null());
	} else if (!find_tool(s, name)) {
		char *msg = sb_asprintf("Unknown tool: %s", name);
		send_error(id, -32602, msg, jv_null());
		free(msg);
	} else if (jv_get_kind(args) != JV_KIND_OBJECT) {
		send_error(id, -32602, "arguments must be an object", jv_null());
	} else if ((why = bad_argument(name, args))) {
		/* 2025-06-18 called this a protocol error; later revisions a tool error the model can fix. */
		if (!modern && s->version && strcmp(s->version, "2025-06-18") == 0)
			send_error(id, -32602, why, jv_null());
		else
			send_result(id, tool_error("%s", why), modern);
	} else if ((tenant = call_tenant(s, args, &why)), why) {
		send_result(id, tool_error("%s", why), modern);
	} else if (strcmp(name, "get_system_status") == 0 && cached_status(s, id, modern)) {
		/* answered from the cache */
	} else {
		start_call(s, id, name, args, tenant, modern);
		id = jv_invalid(); /* the call owns it now */
	}
	jv_free(id);
	jv_free(args);
	free(name);
	free(why);
	free(tenant);
}

/* ---- dispatch ---- */

static int modern_envelope(jv params, jv id, int *modern)
{
	jv meta = sb_rec_get(params, "_meta"), version = sb_rec_get(meta, META_VERSION), caps;
	int ok = 1;

	*modern = jv_get_kind(version) != JV_KIND_NULL;
	if (*modern) {
		caps = sb_rec_get(meta, META_CAPS);
		if (jv_get_kind(version) != JV_KIND_STRING || strcmp(jv_string_value(version), MODERN) != 0) {
			jv data = jv_object_set(jv_object(), jv_string("supported"), supported_versions());
			data = jv_object_set(data, jv_string("requested"), jv_copy(version));
			send_error(jv_copy(id), -32022, "Unsupported protocol version", data);
			ok = 0;
		} else if (jv_get_kind(caps) != JV_KIND_OBJECT) {
			send_error(jv_copy(id), -32602, "_meta lacks " META_CAPS, jv_null());
			ok = 0;
		}
		jv_free(caps);
	}
	jv_free(version);
	jv_free(meta);
	return ok;
}

static void on_request(struct server *s, const char *method, jv id, jv params)
{
	int modern;

	if (jv_get_kind(params) != JV_KIND_NULL && jv_get_kind(params) != JV_KIND_OBJECT) {
		send_error(id, -32602, "params must be an object", jv_null());
		return;
	}
	if (strcmp(method, "server/discover") == 0) {
		on_discover(id); /* answered with or without an envelope: it is how clients find the era */
		return;
	}
	if (!modern_envelope(params, id, &modern)) {
		jv_free(id);
		return;
	}
	if (strcmp(method, "initialize") == 0 && !modern)
		on_initialize(s, id, params);
	else if (strcmp(method, "ping") == 0)
		send_result(id, jv_object(), modern);
	else if (strcmp(method, "tools/list") == 0)
		on_tools_list(s, id, params, modern);
	else if (strcmp(method, "tools/call") == 0)
		on_tools_call(s, id, params, modern);
	else
		send_error(id, -32601, "Method not found", jv_null());
}

static void on_notification(struct server *s, const char *method, jv params)
{
	if (strcmp(method, "notifications/cancelled") == 0) {
		jv rid = sb_rec_get(params, "requestId");
		cancel_call(s, rid);
		jv_free(rid);
	}
	/* notifications/initialized and others need nothing; no notification is ever answered. */
}

static void on_line(struct server *s, const char *line, size_t len)
{
	jv msg = jv_parse_sized(line, (int)len), id, method, params, version;

	if (!jv_is_valid(msg)) {
		jv_free(msg);
		send_error(jv_null(), -32700, "Parse error", jv_null());
		return;
	}
	if (jv_get_kind(msg) != JV_KIND_OBJECT) {
		jv_free(msg);
		send_error(jv_null(), -32600, "Invalid Request: not a JSON-RPC object", jv_null());
		return;
	}
	id = sb_rec_get(msg, "id");
	method = sb_rec_get(msg, "method");
	params = sb_rec_get(msg, "params");
	version = sb_rec_get(msg, "jsonrpc");
	int has_id = jv_object_has(jv_copy(msg), jv_string("id"));
	int id_ok = jv_get_kind(id) == JV_KIND_STRING || jv_get_kind(id) == JV_KIND_NUMBER;
	if (jv_get_kind(method) == JV_KIND_NULL && (jv_object_has(jv_copy(msg), jv_string("result")) ||
						     jv_object_has(jv_copy(msg), jv_string("error")))) {
		jv_free(id); /* a response: this server sends no requests, so nothing waits for it */
	} else if (jv_get_kind(version) != JV_KIND_STRING || strcmp(jv_string_value(version), "2.0") != 0 ||
		   jv_get_kind(method) != JV_KIND_STRING || (has_id && !id_ok)) {
		jv_free(id);
		send_error(id_ok ? sb_rec_get(msg, "id") : jv_null(), -32600, "Invalid Request", jv_null());
	} else if (!has_id) {
		jv_free(id);
		on_notification(s, jv_string_value(method), params);
	} else {
		on_request(s, jv_string_value(method), id, params);
	}
	jv_free(method);
	jv_free(params);
	jv_free(version);
	jv_free(msg);
}

/* ---- the loop ---- */

/* The calls polled (p[1] to p[n]) that have output or ended; calls started since are left for the next round. */
static void read_calls(struct server *s, const struct pollfd *p, size_t n)
{
	for (size_t j = 1; j <= n; j++) {
		if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (size_t i = 0; i < s->ncalls; i++) {
			if (s->calls[i].fd != p[j].fd)
				continue;
			char buf[65536];
			ssize_t got = read(s->calls[i].fd, buf, sizeof buf);
			if (got > 0)
				sb_buf_add(&s->calls[i].out, buf, (size_t)got);
			else if (got == 0 || errno != EINTR)
				finish_call(s, i);
			break;
		}
	}
}

static void end_overdue(struct server *s)
{
	double now = sb_time_now();

	for (size_t i = 0; i < s->ncalls; i++) {
		struct call *c = &s->calls[i];
		if (!c->timed_out && !c->cancelled && now >= c->deadline) {
			c->timed_out = 1;
			end_call(c);
		}
		if (c->ended_at && now >= c->ended_at + GRACE)
			kill(-c->pid, SIGKILL);
	}
}

/* Leaving: no call outlives the server. */
static void end_all_calls(struct server *s)
{
	for (size_t i = 0; i < s->ncalls; i++)
		end_call(&s->calls[i]);
	for (double until = sb_time_now() + GRACE; (s->ncalls || s->nlingering) && sb_time_now() < until;) {
		for (size_t i = s->ncalls; i-- > 0;)
			if (waitpid(s->calls[i].pid, NULL, WNOHANG) == s->calls[i].pid) {
				close(s->calls[i].fd);
				jv_free(s->calls[i].id);
				free(s->calls[i].tool);
				free(s->calls[i].out.p);
				s->lingering = sb_realloc(s->lingering, (s->nlingering + 1) * sizeof *s->lingering);
				s->lingering[s->nlingering++] = (struct lingering){s->calls[i].pid, until};
				s->calls[i] = s->calls[--s->ncalls];
			}
		kill_lingering(s, 0); /* forgets the groups that are gone */
		struct timespec pause = {0, 50 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	for (size_t i = 0; i < s->ncalls; i++)
		kill(-s->calls[i].pid, SIGKILL);
	kill_lingering(s, 1);
}

static void serve(struct server *s)
{
	struct sb_buf in = {0};
	int open_in = 1;

	while ((open_in || s->ncalls) && !stop_signal && !client_gone) {
		size_t polled = s->ncalls;
		struct pollfd *p = sb_calloc(polled + 1, sizeof *p);
		p[0] = (struct pollfd){.fd = open_in ? 0 : -1, .events = POLLIN};
		for (size_t i = 0; i < s->ncalls; i++)
			p[i + 1] = (struct pollfd){.fd = s->calls[i].fd, .events = POLLIN};
		if (poll(p, polled + 1, 250) < 0 && errno != EINTR)
			sb_die(SB_EXIT_IO, "poll:");
		if (open_in && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			char buf[65536];
			ssize_t n = read(0, buf, sizeof buf);
			if (n > 0)
				sb_buf_add(&in, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				open_in = 0;
			/* Every whole line is a message; an unfinished last line waits for the rest. */
			size_t start = 0;
			for (size_t k = 0; k < in.n; k++) {
				if (in.p[k] != '\n')
					continue;
				if (k > start)
					on_line(s, in.p + start, k - start);
				start = k + 1;
			}
			if (!open_in && start < in.n)
				on_line(s, in.p + start, in.n - start);
			if (start) {
				memmove(in.p, in.p + start, in.n - start);
				in.n -= start;
			}
			if (!open_in)
				in.n = 0;
		}
		read_calls(s, p, polled);
		end_overdue(s);
		kill_lingering(s, 0);
		free(p);
	}
	if (stop_signal || client_gone)
		end_all_calls(s);
	free(in.p);
}

int main(int argc, char **argv)
{
	struct settings set = {.status_ttl = 10, .call_timeout = 1800};
	const struct sb_tool_spec spec = {
		.name = "sb-mcp",
		.synopsis = "[OPTION]...",
		.purpose = "Serve the improvement cycle as Model Context Protocol tools over stdin and stdout.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	struct server s = {.set = &set, .common = &common, .status = jv_null()};

	sb_progname = "sb-mcp";
	sb_opts_parse(&spec, argc, argv, &common);
	if (common.nfiles)
		sb_usage_error("sb-mcp reads its messages from standard input: no FILE operands");
	sb_clock(); /* a malformed SB_NOW is a usage error before anything is served */
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* The tools it runs find the same configuration and state directory. */
	if (common.config_path)
		setenv("SB_CONFIG", common.config_path, 1);
	setenv("SB_STATE_DIR", sb_state_dir(&common), 1);
	s.tools = jv_array();
	for (const char *const *t = tool_json; *t; t++)
		s.tools = jv_array_append(s.tools, jv_parse(*t));
	s.tenants = configured_tenants(common.config);
	if (common.tenant && !has_string(s.tenants, common.tenant))
		sb_usage_error("--tenant: '%s' is not a tenant of the configuration", common.tenant);
	serve(&s);
	jv_free(s.tools);
	jv_free(s.tenants);
	jv_free(s.status);
	free(s.version);
	free(s.calls);
	free(s.lingering);
	sb_opts_free(&common);
	return stop_signal ? 128 + stop_signal : 0;
}
