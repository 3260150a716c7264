/*
 * cml-forward's messages: an audit record (the export object of
 * cml-audit(5)) as an RFC 5424 syslog message, framed by octet counting
 * for TLS transport (RFC 5425 section 4.3).
 */
#ifndef FWD_SYSLOG_H
#define FWD_SYSLOG_H

#include <stddef.h>

#include <json-c/json.h>

/*
 * The SD-ID of the records' structured data.  32473 is the enterprise
 * number IANA set aside for examples (RFC 5612); a deployment whose
 * collector needs a registered one changes it here (cml-forward(8)).
 */
#define FWD_SD_ID "cml@32473"
/* The facility: authpriv (10), security and authorization messages. */
#define FWD_FACILITY 10
/* The longest frame: a record is bounded well below this. */
#define FWD_FRAME_MAX (256 * 1024)

/*
 * Returns the severity of a record: critical (2) for integrity
 * violations, notice (5) for what went as asked ("ok"), warning (4) for
 * everything else (refusals, failures, thresholds).
 */
int fwd_syslog_severity(const char *type, const char *result);

/*
 * Formats the export record rec as one frame "MSG-LEN SP SYSLOG-MSG"
 * (allocated into *out, *len bytes, no NUL counted) with hostname as the
 * HOSTNAME; *seq gets the record's seq.  -1 with *cause set when rec is
 * not a record (a field missing or of the wrong type) or too long.
 */
int fwd_syslog_frame(struct json_object *rec, const char *hostname,
    char **out, size_t *len, long long *seq, char **cause);

#endif
