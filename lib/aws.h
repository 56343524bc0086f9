/* aws.h - AWS credentials, region and signed JSON requests with retries */
#ifndef SB_AWS_H
#define SB_AWS_H

#include <jv.h>

struct sb_aws {
	char *access_key, *secret_key, *session_token;
	char *region;
	char *endpoint;   /* --endpoint or AWS_ENDPOINT_URL; NULL: the service's AWS endpoint */
	int max_attempts; /* tries per request, throttling and 5xx answers included */
	double deadline;  /* epoch seconds by which the whole run must end; 0: none */
	long requests;    /* requests sent, for -v */
};

/*
 * Find credentials and region as the AWS CLI does: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; else the profile
 * (AWS_PROFILE, else "default") in AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials; region from AWS_REGION, AWS_DEFAULT_REGION, then
 * the profile in AWS_CONFIG_FILE or ~/.aws/config. endpoint overrides
 * AWS_ENDPOINT_URL. Missing credentials or region exit 2 with a message.
 */
void sb_aws_init(struct sb_aws *a, const char *endpoint);

/*
 * Call an AWS JSON API: POST / with X-Amz-Target target and content type
 * application/x-amz-json-VERSION ("1.0" or "1.1"), signed with SigV4 for
 * service ("monitoring", "logs"). body is consumed. Throttling (400
 * ThrottlingException and kin, 429) and 5xx answers and failed connections
 * are retried with exponential backoff and jitter, honouring Retry-After,
 * up to max_attempts and the deadline. Returns 0 with the answer object in
 * *answer, or -1 after printing why (the AWS error type and message).
 */
int sb_aws_call(struct sb_aws *a, const char *service, const char *target, const char *version, jv body,
		jv *answer);

void sb_aws_free(struct sb_aws *a);

#endif
