/* eventbridge.h - Amazon EventBridge events and SNS notifications to event records */
#ifndef SB_EVENTBRIDGE_H
#define SB_EVENTBRIDGE_H

#include <jv.h>
#include <stddef.h>

/*
 * Turn one POSTed JSON document (body, len bytes, need not be NUL-terminated)
 * into an array of event records (possibly empty), or
 * jv_invalid_with_msg(reason), the reason short enough for one line.
 *
 * Understood documents:
 *  - an Alertmanager webhook payload: sb_logformat_parse("alertmanager");
 *  - an EventBridge event "CloudWatch Alarm State Change": event "alarm",
 *    name detail.alarmName, state detail.state.value (ALARM, OK,
 *    INSUFFICIENT_DATA), previous detail.previousState.value, ts
 *    detail.state.timestamp or time, severity detail.configuration.severity
 *    or a "severity=WORD" (or "severity: WORD") in its description (absent
 *    otherwise), component the first of the dimensions FunctionName,
 *    ServiceName, DBInstanceIdentifier, LoadBalancer of the alarm's metrics,
 *    tenant its tenant_id dimension, source "eventbridge", detail the event's
 *    detail, id the content id of (event id, alarm name, state);
 *  - an EventBridge event "Lambda Function Invocation Result - Success" or
 *    "- Failure" (a Lambda destination): event "completion", name and
 *    component the function name from detail.requestContext.functionArn or
 *    resources, state "OK" or "FAILED", ts detail.timestamp or time, tenant
 *    from the request payload's tenant_id or tenant, detail {function,
 *    version, request_id, condition, status_code, invoke_count, errors,
 *    error_type, error_message, duration_ms, billed_duration_ms, memory_mb,
 *    max_memory_used_mb} with the fields present, id from the event id;
 *  - any other EventBridge event: event = its detail-type, name = its source,
 *    ts its time, detail its detail, tenant detail.tenant_id;
 *  - an SNS notification ({"Type":"Notification","Message":"<JSON>"}) whose
 *    Message is one of these, unwrapped (one level); the SNS MessageId stands
 *    in for the event id, and the SNS Timestamp for the time, when the inner
 *    document has none. Inside SNS two more forms are understood: a CloudWatch
 *    alarm published straight to SNS (AlarmName, NewStateValue,
 *    OldStateValue, StateChangeTime, Trigger) and a Lambda destination record
 *    published straight to SNS (requestContext, responseContext), both with
 *    source "sns";
 *  - an SNS SubscriptionConfirmation or UnsubscribeConfirmation: an empty
 *    array. Confirmation is not automatic: nothing here makes an outbound
 *    request. sb_sns_confirmation_note says what the operator must do.
 *
 * Records have the keys of ARCHITECTURE.md's event in its order: type, ts,
 * event, name, state, previous, severity, component, tenant, source, detail,
 * id; absent fields are left out. Times are RFC 3339 UTC; a document without
 * any time gets now (epoch seconds). The same document always gives the same
 * ids. SNS signatures are not verified: authenticate senders with a token.
 */
jv sb_events_from_webhook(const char *body, size_t len, double now);

/*
 * For an SNS SubscriptionConfirmation: one line for the operator naming the
 * topic and the SubscribeURL to open (or the token for `aws sns
 * confirm-subscription`); NULL for any other document. Free it.
 */
char *sb_sns_confirmation_note(const char *body, size_t len);

#endif
