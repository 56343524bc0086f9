/* deployment.h - the deployment journal, component locks, recovery, commands and notifications */
#ifndef SB_DEPLOYMENT_H
#define SB_DEPLOYMENT_H

#include <jv.h>
#include <stddef.h>

#include "opts.h"

/*
 * deployments.ndjson in the state directory is append-only: one line per
 * step of a deployment, each naming it ("deployment") and its "phase":
 *
 *   begin           files about to be written; the pre-image archive is
 *                   taken next, and no file is written before it exists
 *   applied         every file holds its new content
 *   done            final "status": deployed, rolled_back or failed
 *   rollback_begin  the pre-image is being put back
 *   rollback_done   it is back ("status": rolled_back)
 *   verdict         sb-monitor's final decision (keep or hold)
 *
 * A deployment whose last phase is begin, applied or rollback_begin was
 * interrupted; the next sb-deploy or sb-rollback puts its pre-image back.
 */
#define SB_JOURNAL_FILE "deployments.ndjson"

/* What sb-deploy and sb-rollback share: how commands, locks and notifications behave. */
struct sb_runner {
	const struct sb_common *common;
	jv components;          /* the configuration's components (sb_runner_free releases it) */
	double command_timeout; /* reload and health, when a component sets no "command_timeout" */
	long health_retries;    /* attempts of the health command */
	double health_interval; /* between attempts */
	double lock_timeout;    /* waiting for another run to release a component */
	double notify_timeout;
	int dry_run;
	long recovered;
};

/* Option ids of the rows below; the tools' own ids stay under 1900. */
enum {
	SB_RUNNER_OPT_COMMAND_TIMEOUT = 1900, SB_RUNNER_OPT_HEALTH_RETRIES, SB_RUNNER_OPT_HEALTH_INTERVAL,
	SB_RUNNER_OPT_LOCK_TIMEOUT, SB_RUNNER_OPT_NOTIFY_TIMEOUT,
};

/* Option rows every tool that changes a component has; TOOL is its config section ("deploy"). */
#define SB_RUNNER_OPTIONS(TOOL)                                                                                 \
	{"command-timeout", 0, "DURATION", "time allowed to reload and each health check (default 60s)",       \
	 SB_RUNNER_OPT_COMMAND_TIMEOUT, NULL, TOOL ".command_timeout"},                                          \
	{"health-retries", 0, "N", "attempts of the health command before it counts as failed (default 3)",    \
	 SB_RUNNER_OPT_HEALTH_RETRIES, NULL, TOOL ".health_retries"},                                            \
	{"health-interval", 0, "DURATION", "pause between health attempts (default 2s)",                       \
	 SB_RUNNER_OPT_HEALTH_INTERVAL, NULL, TOOL ".health_interval"},                                          \
	{"lock-timeout", 0, "DURATION", "wait this long for another run to release a component (default 5m)", \
	 SB_RUNNER_OPT_LOCK_TIMEOUT, NULL, TOOL ".lock_timeout"},                                                \
	{"notify-timeout", 0, "DURATION", "time allowed to each notification (default 10s)",                   \
	 SB_RUNNER_OPT_NOTIFY_TIMEOUT, NULL, TOOL ".notify_timeout"}

/* Defaults, before options are applied. */
void sb_runner_init(struct sb_runner *r);

/* Set one of the rows above: 0, -1 on a bad value, -2 when id is not a runner option. */
int sb_runner_option(struct sb_runner *r, int id, const char *arg);

/* After option parsing: the components from the configuration. */
void sb_runner_start(struct sb_runner *r, const struct sb_common *c);

void sb_runner_free(struct sb_runner *r);

/* ---- the journal ---- */

/* Append one entry (consumed) with "ts"; fsynced. Exits 5 when it cannot be written. */
void sb_journal_append(const struct sb_runner *r, jv entry);

/*
 * Every deployment the journal knows, oldest first: each the merge of its
 * entries in order, so a field holds its latest value and "phase" the last
 * step. A line that is not a JSON object is reported and skipped.
 */
jv sb_journal_load(const struct sb_common *c);

/* The deployment with that id in deps (borrowed), or null. */
jv sb_journal_find(jv deps, const char *id);

/* Did it stop between begin and done, or between rollback_begin and rollback_done? */
int sb_deployment_unfinished(jv dep);

/* The paths a deployment touches, from its "files" (borrowed). */
jv sb_deployment_paths(jv dep);

/* ---- audit ---- */

/* Append to the audit log (entry consumed); exits 5 when it cannot be written. */
void sb_runner_audit(const struct sb_runner *r, jv entry);

/* ---- locks ---- */

/*
 * Take the exclusive lock of a component (locks/NAME.lock, flock), waiting
 * up to wait seconds (0: try once). The fd, or -1 when another run holds
 * it. The lock dies with the process: a crashed run never blocks the next.
 */
int sb_component_lock(const struct sb_common *c, const char *component, double wait);
void sb_component_unlock(int fd);

/* A component name is used in file names: letters, digits, '.', '_', '-', not starting with '.'. */
int sb_component_name_ok(const char *name);

/* ---- putting a pre-image back ---- */

/*
 * Restore dep's pre-image into its target (the caller holds its lock).
 * *restored receives the paths. 0; 1 when there is no archive because no
 * file was written yet; -1 with err when the archive or the component was
 * refused and nothing was written; -2 with err when writing failed part-way.
 */
int sb_restore_pre_image(const struct sb_runner *r, jv dep, jv *restored, char *err, size_t errsize);

/*
 * Finish every deployment an earlier run left unfinished, on components no
 * live run holds: put its pre-image back, reload, journal and audit it.
 * Returns how many were recovered.
 */
long sb_recover(struct sb_runner *r);

/* ---- commands ---- */

/*
 * Run the component's "reload" argv in its directory, once. The result:
 * {"ok", "exit", "output", "duration_ms"}, or {"ok": true, "skipped": true}
 * when the component has none.
 */
jv sb_run_reload(const struct sb_runner *r, jv component, const char *root, const char *deployment);

/* Run "health" up to health_retries times until it succeeds; as above plus "attempts". */
jv sb_run_health(const struct sb_runner *r, jv component, const char *root, const char *deployment);

/* ---- notifications ---- */

/*
 * POST summary (borrowed) as JSON to every URL of the configuration's
 * "notify" and to the component's "dependents" (URLs, or names of
 * components whose own "notify" URLs are used). Returns one
 * {"url", "ok", "status" | "error"} per URL; failures are never fatal.
 */
jv sb_notify(const struct sb_runner *r, const char *component, jv summary);

#endif
