/* aws.c - AWS credentials, region and signed JSON requests with retries */
#include "aws.h"
#include "err.h"
#include "fsutil.h"
#include "http.h"
#include "record.h"
#include "timefmt.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The value of key in [section] of an INI file such as ~/.aws/credentials; NULL when absent. */
static char *ini_value(const char *path, const char *section, const char *key)
{
	char *text = path ? sb_read_file(path, NULL) : NULL;
	char *value = NULL, *save = NULL;
	int in_section = 0;

	if (!text)
		return NULL;
	for (char *line = strtok_r(text, "\n", &save); line && !value; line = strtok_r(NULL, "\n", &save)) {
		while (isspace((unsigned char)*line))
			line++;
		char *end = line + strlen(line);
		while (end > line && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*line == '#' || *line == ';' || !*line)
			continue;
		if (*line == '[') {
			in_section = end > line + 1 && end[-1] == ']' &&
				     (size_t)(end - line - 2) == strlen(section) && strncmp(line + 1, section, strlen(section)) == 0;
			continue;
		}
		char *eq = strchr(line, '=');
		if (!in_section || !eq)
			continue;
		char *k = line, *kend = eq;
		while (kend > k && isspace((unsigned char)kend[-1]))
			kend--;
		char *v = eq + 1;
		while (isspace((unsigned char)*v))
			v++;
		if ((size_t)(kend - k) == strlen(key) && strncmp(k, key, strlen(key)) == 0)
			value = sb_strdup(v);
	}
	free(text);
	return value;
}

static char *env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? sb_strdup(v) : NULL;
}

/* A file named by env, else ~/.aws/NAME. */
static char *aws_file(const char *env, const char *name)
{
	const char *home = getenv("HOME");
	char *path = env_or_null(env);

	if (!path && home)
		path = sb_asprintf("%s/.aws/%s", home, name);
	return path;
}

void sb_aws_init(struct sb_aws *a, const char *endpoint)
{
	const char *profile = getenv("AWS_PROFILE");
	char *creds = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	char *config = aws_file("AWS_CONFIG_FILE", "config");
	char *section;

	memset(a, 0, sizeof *a);
	a->max_attempts = 5;
	/* Runs throttled together must not retry together: seed the jitter per process. */
	srand((unsigned)time(NULL) ^ (unsigned)getpid() << 16);
	if (!profile || !*profile)
		profile = "default";
	a->access_key = env_or_null("AWS_ACCESS_KEY_ID");
	a->secret_key = env_or_null("AWS_SECRET_ACCESS_KEY");
	if (a->access_key && a->secret_key)
		a->session_token = env_or_null("AWS_SESSION_TOKEN");
	else {
		free(a->access_key);
		free(a->secret_key);
		a->access_key = ini_value(creds, profile, "aws_access_key_id");
		a->secret_key = ini_value(creds, profile, "aws_secret_access_key");
		a->session_token = ini_value(creds, profile, "aws_session_token");
	}
	a->region = env_or_null("AWS_REGION");
	if (!a->region)
		a->region = env_or_null("AWS_DEFAULT_REGION");
	/* ~/.aws/config names profiles "[profile NAME]", except the default one. */
	section = strcmp(profile, "default") == 0 ? sb_strdup("default") : sb_asprintf("profile %s", profile);
	if (!a->region)
		a->region = ini_value(config, section, "region");
	free(section);
	free(creds);
	free(config);
	a->endpoint = endpoint ? sb_strdup(endpoint) : env_or_null("AWS_ENDPOINT_URL");
	if (!a->access_key || !a->secret_key)
		sb_die(SB_EXIT_USAGE, "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
				      "or AWS_PROFILE with ~/.aws/credentials");
	if (!a->region)
		sb_die(SB_EXIT_USAGE, "no AWS region: set AWS_REGION or a region in ~/.aws/config");
}

/* Throttling is worth another try; so are server errors. */
static int retryable(long status, const char *type)
{
	static const char *const throttles[] = {"ThrottlingException", "Throttling", "TooManyRequestsException",
						"RequestLimitExceeded", "ProvisionedThroughputExceededException",
						"ServiceUnavailable", "RequestThrottled", NULL};

	if (status == 429 || status >= 500)
		return 1;
	for (int i = 0; type && throttles[i]; i++)
		if (strcmp(type, throttles[i]) == 0)
			return 1;
	return 0;
}

/* AWS names its error "__type", sometimes as "prefix#Name". */
static char *error_type(jv answer)
{
	char *t = sb_rec_string(answer, "__type");
	char *hash = t ? strrchr(t, '#') : NULL;

	if (hash) {
		char *short_name = sb_strdup(hash + 1);
		free(t);
		return short_name;
	}
	return t;
}

static char *error_message(jv answer)
{
	char *m = sb_rec_string(answer, "message");

	return m ? m : sb_rec_string(answer, "Message");
}

static void sleep_for(double seconds)
{
	struct timespec ts;

	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* Exponential backoff with full jitter (0.2 s doubling, at most 20 s), or the server's Retry-After. */
static double backoff(int attempt, double retry_after)
{
	double cap = fmin(20, 0.2 * pow(2, attempt));

	if (retry_after >= 0)
		return fmin(retry_after, 60);
	return cap * ((double)rand() / RAND_MAX);
}

static char *endpoint_for(const struct sb_aws *a, const char *service)
{
	if (a->endpoint) {
		size_t n = strlen(a->endpoint);
		return sb_asprintf("%.*s/", (int)(n && a->endpoint[n - 1] == '/' ? n - 1 : n), a->endpoint);
	}
	return sb_asprintf("https://%s.%s.amazonaws.com/", service, a->region);
}

int sb_aws_call(struct sb_aws *a, const char *service, const char *target, const char *version, jv body,
		jv *answer)
{
	jv text = jv_dump_string(body, 0);
	char *url = endpoint_for(a, service);
	char *target_h = sb_asprintf("X-Amz-Target: %s", target);
	char *type_h = sb_asprintf("Content-Type: application/x-amz-json-%s", version);
	char *token_h = a->session_token ? sb_asprintf("X-Amz-Security-Token: %s", a->session_token) : NULL;
	char *sigv4 = sb_asprintf("aws:amz:%s:%s", a->region, service);
	char *userpwd = sb_asprintf("%s:%s", a->access_key, a->secret_key);
	const char *headers[] = {type_h, target_h, token_h, NULL};
	char err[512], why[600] = "";
	int rc = -1;

	for (int attempt = 0; attempt < a->max_attempts; attempt++) {
		struct sb_http_request req = {.url = url, .body = jv_string_value(text),
					      .body_len = strlen(jv_string_value(text)), .headers = headers,
					      .aws_sigv4 = sigv4, .userpwd = userpwd, .timeout = 30};
		struct sb_http_response r;
		double retry_after = -1;
		int again;

		if (a->deadline > 0) {
			req.timeout = fmin(req.timeout, a->deadline - sb_time_now());
			if (req.timeout <= 0) {
				size_t n = strlen(why);
				snprintf(why + n, sizeof why - n, "%s--timeout reached", n ? "; then " : "");
				break;
			}
		}
		a->requests++;
		if (sb_http_request(&req, &r, err, sizeof err) < 0) {
			snprintf(why, sizeof why, "%s", err);
			again = 1;
		} else {
			jv parsed = jv_parse_sized(r.body, (int)r.len);
			retry_after = r.retry_after;
			if (r.status == 200 && jv_get_kind(parsed) == JV_KIND_OBJECT) {
				*answer = parsed;
				sb_http_response_free(&r);
				rc = 0;
				break;
			}
			char *etype = error_type(parsed), *emsg = error_message(parsed);
			if (etype || emsg)
				snprintf(why, sizeof why, "%s: %s (HTTP %ld)", etype ? etype : "error",
					 emsg ? emsg : "no message", r.status);
			else
				snprintf(why, sizeof why, "HTTP %ld, answer is not an AWS JSON object", r.status);
			again = retryable(r.status, etype);
			free(etype);
			free(emsg);
			jv_free(parsed);
			sb_http_response_free(&r);
		}
		if (!again)
			break;
		if (attempt + 1 < a->max_attempts) {
			double wait = backoff(attempt, retry_after);
			if (a->deadline > 0 && sb_time_now() + wait > a->deadline)
				wait = a->deadline - sb_time_now();
			sleep_for(wait);
		}
	}
	if (rc < 0) {
		char *shown = sb_url_redact(url);
		sb_warn("%s %s at %s: %s", service, strrchr(target, '.') ? strrchr(target, '.') + 1 : target, shown, why);
		free(shown);
	}
	jv_free(text);
	free(url);
	free(target_h);
	free(type_h);
	if (token_h) {
		explicit_bzero(token_h, strlen(token_h));
		free(token_h);
	}
	free(sigv4);
	explicit_bzero(userpwd, strlen(userpwd));
	free(userpwd);
	return rc;
}

void sb_aws_free(struct sb_aws *a)
{
	if (a->secret_key)
		explicit_bzero(a->secret_key, strlen(a->secret_key));
	if (a->session_token)
		explicit_bzero(a->session_token, strlen(a->session_token));
	free(a->access_key);
	free(a->secret_key);
	free(a->session_token);
	free(a->region);
	free(a->endpoint);
}
