/*
 * Data API request bodies and answers (spectra_dataapi.h), with jansson:
 * they are small, unlike result pages (spectra_result.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "spectra_dataapi.h"


static int spectra_dataapi_set(json_t *o, const char *key,
    const spectra_str_t *v);
static int spectra_dataapi_dump(json_t *o, const spectra_pool_t *pool,
    spectra_str_t *body);
static json_t *spectra_dataapi_load(const u_char *p, size_t len,
    spectra_err_t *err);
static int spectra_dataapi_copy(json_t *v, const spectra_pool_t *pool,
    spectra_str_t *out);
static int spectra_dataapi_starts(const char *s, const char *prefix);


/* Sets a string member when the value is present (data != NULL). */

static int
spectra_dataapi_set(json_t *o, const char *key, const spectra_str_t *v)
{
    if (v->data == NULL) {
        return 0;
    }

    return json_object_set_new(o, key,
                               json_stringn((const char *) v->data, v->len));
}


static int
spectra_dataapi_dump(json_t *o, const spectra_pool_t *pool,
    spectra_str_t *body)
{
    char    *dump;
    size_t   len;

    dump = json_dumps(o, JSON_COMPACT);
    json_decref(o);

    if (dump == NULL) {
        return SPECTRA_DATAAPI_NOMEM;
    }

    len = strlen(dump);
    body->data = spectra_pstrdup(pool, (u_char *) dump, len);
    body->len = len;
    free(dump);

    return body->data != NULL ? SPECTRA_DATAAPI_OK : SPECTRA_DATAAPI_NOMEM;
}


int
spectra_dataapi_execute_body(const spectra_dataapi_execute_t *in,
    const spectra_pool_t *pool, spectra_str_t *body)
{
    size_t   i;
    json_t  *o, *params, *p;

    o = json_object();
    if (o == NULL) {
        return SPECTRA_DATAAPI_NOMEM;
    }

    if (spectra_dataapi_set(o, "Sql", &in->sql) != 0
        || spectra_dataapi_set(o, "StatementName", &in->statement_name) != 0
        || spectra_dataapi_set(o, "ClientToken", &in->client_token) != 0)
    {
        goto failed;
    }

    if (in->session_id.data != NULL) {
        /* the session knows the warehouse, the database and the user */
        if (spectra_dataapi_set(o, "SessionId", &in->session_id) != 0) {
            goto failed;
        }

    } else {
        if (spectra_dataapi_set(o, "Database", &in->database) != 0) {
            goto failed;
        }

        if (in->workgroup.len) {
            if (spectra_dataapi_set(o, "WorkgroupName", &in->workgroup)
                != 0)
            {
                goto failed;
            }

        } else if (spectra_dataapi_set(o, "ClusterIdentifier", &in->cluster)
                   != 0)
        {
            goto failed;
        }

        if (in->secret_arn.len) {
            if (spectra_dataapi_set(o, "SecretArn", &in->secret_arn) != 0) {
                goto failed;
            }

        } else if (spectra_dataapi_set(o, "DbUser", &in->db_user) != 0) {
            goto failed;
        }

        if (in->session_keepalive
            && json_object_set_new(o, "SessionKeepAliveSeconds",
                                   json_integer(in->session_keepalive)) != 0)
        {
            goto failed;
        }
    }

    if (in->wait_seconds
        && json_object_set_new(o, "WaitTimeSeconds",
                               json_integer(in->wait_seconds)) != 0)
    {
        goto failed;
    }

    if (in->nparams) {
        params = json_array();
        if (params == NULL || json_object_set_new(o, "Parameters", params)) {
            goto failed;
        }

        for (i = 0; i < in->nparams; i++) {
            p = json_object();

            if (p == NULL || json_array_append_new(params, p) != 0
                || spectra_dataapi_set(p, "name", &in->params[i].name) != 0
                || spectra_dataapi_set(p, "value", &in->params[i].value)
                   != 0)
            {
                goto failed;
            }
        }
    }

    return spectra_dataapi_dump(o, pool, body);

failed:

    json_decref(o);

    return SPECTRA_DATAAPI_NOMEM;
}


int
spectra_dataapi_id_body(const spectra_str_t *id,
    const spectra_str_t *next_token, unsigned wait_seconds,
    const spectra_pool_t *pool, spectra_str_t *body)
{
    json_t  *o;

    o = json_object();
    if (o == NULL) {
        return SPECTRA_DATAAPI_NOMEM;
    }

    if (spectra_dataapi_set(o, "Id", id) != 0
        || (next_token != NULL && next_token->len
            && spectra_dataapi_set(o, "NextToken", next_token) != 0)
        || (wait_seconds
            && json_object_set_new(o, "WaitTimeSeconds",
                                   json_integer(wait_seconds)) != 0))
    {
        json_decref(o);
        return SPECTRA_DATAAPI_NOMEM;
    }

    return spectra_dataapi_dump(o, pool, body);
}


static json_t *
spectra_dataapi_load(const u_char *p, size_t len, spectra_err_t *err)
{
    json_t        *root;
    json_error_t   jerr;

    root = json_loadb((const char *) p, len, 0, &jerr);

    if (root == NULL) {
        spectra_err_set(err, SPECTRA_DATAAPI_INVALID,
                        jerr.position > 0 ? (size_t) jerr.position - 1 : 0,
                        "the answer is not JSON: %s", jerr.text);
        return NULL;
    }

    if (!json_is_object(root)) {
        json_decref(root);
        spectra_err_set(err, SPECTRA_DATAAPI_INVALID, SPECTRA_POS_NONE,
                        "the answer is not a JSON object");
        return NULL;
    }

    return root;
}


static int
spectra_dataapi_copy(json_t *v, const spectra_pool_t *pool,
    spectra_str_t *out)
{
    out->len = json_string_length(v);
    out->data = spectra_pstrdup(pool, (const u_char *) json_string_value(v),
                                out->len);

    return out->data != NULL ? SPECTRA_DATAAPI_OK : SPECTRA_DATAAPI_NOMEM;
}


/* An id the API can put into a URL or a log line as it is. */

static int
spectra_dataapi_id_valid(json_t *v)
{
    size_t       i, len;
    const char  *s;

    if (!json_is_string(v)) {
        return 0;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len == 0 || len > SPECTRA_DATAAPI_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == ':'
              || s[i] == '_' || s[i] == '.'))
        {
            return 0;
        }
    }

    return 1;
}


int
spectra_dataapi_read_submitted(const u_char *p, size_t len,
    const spectra_pool_t *pool, spectra_dataapi_submitted_t *out,
    spectra_err_t *err)
{
    int      rc;
    json_t  *root, *id, *session;

    memset(out, 0, sizeof(spectra_dataapi_submitted_t));

    root = spectra_dataapi_load(p, len, err);
    if (root == NULL) {
        return SPECTRA_DATAAPI_INVALID;
    }

    id = json_object_get(root, "Id");
    session = json_object_get(root, "SessionId");

    if (!spectra_dataapi_id_valid(id)) {
        rc = spectra_err_set(err, SPECTRA_DATAAPI_INVALID, SPECTRA_POS_NONE,
                             "the answer has no valid statement Id");
        goto done;
    }

    if (session != NULL && !json_is_null(session)
        && !spectra_dataapi_id_valid(session))
    {
        rc = spectra_err_set(err, SPECTRA_DATAAPI_INVALID, SPECTRA_POS_NONE,
                             "the answer has an invalid SessionId");
        goto done;
    }

    rc = spectra_dataapi_copy(id, pool, &out->id);

    if (rc == SPECTRA_DATAAPI_OK && json_is_string(session)) {
        rc = spectra_dataapi_copy(session, pool, &out->session_id);
    }

    if (rc != SPECTRA_DATAAPI_OK) {
        spectra_err_set(err, rc, SPECTRA_POS_NONE, "out of memory");
    }

done:

    json_decref(root);

    return rc;
}


int
spectra_dataapi_read_described(const u_char *p, size_t len,
    const spectra_pool_t *pool, spectra_dataapi_described_t *out,
    spectra_err_t *err)
{
    int      rc;
    json_t  *root, *status, *error, *rows, *duration, *has;

    memset(out, 0, sizeof(spectra_dataapi_described_t));
    out->result_rows = -1;
    out->duration_ms = -1;

    root = spectra_dataapi_load(p, len, err);
    if (root == NULL) {
        return SPECTRA_DATAAPI_INVALID;
    }

    status = json_object_get(root, "Status");
    error = json_object_get(root, "Error");
    rows = json_object_get(root, "ResultRows");
    duration = json_object_get(root, "Duration");
    has = json_object_get(root, "HasResultSet");

    out->status = json_is_string(status)
                  ? spectra_job_status_from_dataapi(
                        (const u_char *) json_string_value(status),
                        json_string_length(status))
                  : SPECTRA_JOB_STATUS_NONE;

    if (out->status == SPECTRA_JOB_STATUS_NONE) {
        rc = spectra_err_set(err, SPECTRA_DATAAPI_INVALID, SPECTRA_POS_NONE,
                             "the answer has no known statement Status");
        goto done;
    }

    if ((error != NULL && !json_is_string(error) && !json_is_null(error))
        || (rows != NULL && !json_is_integer(rows))
        || (duration != NULL && !json_is_integer(duration))
        || (has != NULL && !json_is_boolean(has)))
    {
        rc = spectra_err_set(err, SPECTRA_DATAAPI_INVALID, SPECTRA_POS_NONE,
                             "the answer has a member of the wrong type");
        goto done;
    }

    if (json_is_integer(rows) && json_integer_value(rows) >= 0) {
        out->result_rows = json_integer_value(rows);
    }

    /* Duration is in nanoseconds; -1 while the statement runs */
    if (json_is_integer(duration) && json_integer_value(duration) >= 0) {
        out->duration_ms = json_integer_value(duration) / 1000000;
    }

    out->has_result = json_is_true(has);

    rc = SPECTRA_DATAAPI_OK;

    if (out->status == SPECTRA_JOB_FAILED && json_is_string(error)) {
        rc = spectra_dataapi_copy(error, pool, &out->error);

        if (rc == SPECTRA_DATAAPI_OK) {
            (void) spectra_dataapi_sqlstate(out->error.data, out->error.len,
                                            &out->sqlstate);
        }
    }

    if (rc != SPECTRA_DATAAPI_OK) {
        spectra_err_set(err, rc, SPECTRA_POS_NONE, "out of memory");
    }

done:

    json_decref(root);

    return rc;
}


static int
spectra_dataapi_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}


void
spectra_dataapi_classify(unsigned status, const u_char *p, size_t len,
    int session, spectra_dataapi_error_t *e)
{
    json_t       *root, *type, *message;
    const char   *t, *m, *hash;
    json_error_t  jerr;

    memset(e, 0, sizeof(spectra_dataapi_error_t));
    e->status = status;

    if (status == 504) {
        e->kind = SPECTRA_DATAAPI_E_TIMEOUT;
        snprintf(e->message, sizeof(e->message),
                 "the data API did not answer in time");
        return;
    }

    root = (p != NULL && len) ? json_loadb((const char *) p, len, 0, &jerr)
                              : NULL;

    type = json_object_get(root, "__type");
    message = json_object_get(root, "message");
    if (message == NULL) {
        message = json_object_get(root, "Message");
    }

    if (status == 0 || status >= 500 || !json_is_string(type)) {
        e->kind = SPECTRA_DATAAPI_E_UNAVAILABLE;
        snprintf(e->type, sizeof(e->type), "%s",
                 json_is_string(type) ? json_string_value(type) : "");
        snprintf(e->message, sizeof(e->message), "%s",
                 json_is_string(message) ? json_string_value(message)
                                         : "the data API is unreachable "
                                           "or failed");
        json_decref(root);
        return;
    }

    /* "com.amazon.coral.service#ValidationException" */
    t = json_string_value(type);
    hash = strrchr(t, '#');
    if (hash != NULL) {
        t = hash + 1;
    }

    m = json_is_string(message) ? json_string_value(message) : "";

    snprintf(e->type, sizeof(e->type), "%s", t);
    snprintf(e->message, sizeof(e->message), "%s", m);

    if (strcmp(t, "ActiveStatementsExceededException") == 0
        || strcmp(t, "ThrottlingException") == 0
        || strcmp(t, "TooManyRequestsException") == 0)
    {
        e->kind = SPECTRA_DATAAPI_E_THROTTLED;

    } else if (session
               && (strcmp(t, "ActiveSessionsExceededException") == 0
                   || (strcmp(t, "ValidationException") == 0
                       && (spectra_dataapi_starts(m, "Session ")
                           || spectra_dataapi_starts(m, "session ")))))
    {
        e->kind = SPECTRA_DATAAPI_E_SESSION;

    } else if (strcmp(t, "ResourceNotFoundException") == 0) {
        e->kind = SPECTRA_DATAAPI_E_NOT_FOUND;

    } else if (strcmp(t, "ValidationException") == 0
               && spectra_dataapi_starts(m, "Could not cancel a query"))
    {
        e->kind = SPECTRA_DATAAPI_E_FINISHED;

    } else if (status == 401 || status == 403
               || strcmp(t, "AccessDeniedException") == 0
               || strcmp(t, "UnrecognizedClientException") == 0
               || strcmp(t, "InvalidSignatureException") == 0
               || strcmp(t, "IncompleteSignatureException") == 0
               || strcmp(t, "ExpiredTokenException") == 0
               || strcmp(t, "MissingAuthenticationTokenException") == 0)
    {
        e->kind = SPECTRA_DATAAPI_E_REFUSED;

    } else {
        e->kind = SPECTRA_DATAAPI_E_INVALID;
    }

    json_decref(root);
}


int
spectra_dataapi_sqlstate(const u_char *p, size_t len, spectra_str_t *sqlstate)
{
    size_t         i, n;
    const u_char  *s, *last;

    last = p + len;
    n = sizeof("sqlstate") - 1;

    for (s = p; s + n <= last; s++) {
        for (i = 0; i < n; i++) {
            if ((s[i] | 0x20) != (u_char) "sqlstate"[i]) {
                break;
            }
        }

        if (i < n) {
            continue;
        }

        s += n;

        while (s < last && (*s == ' ' || *s == ':' || *s == '=')) {
            s++;
        }

        if (last - s < 5) {
            return SPECTRA_DATAAPI_INVALID;
        }

        for (i = 0; i < 5; i++) {
            if (!((s[i] >= '0' && s[i] <= '9')
                  || (s[i] >= 'A' && s[i] <= 'Z')))
            {
                return SPECTRA_DATAAPI_INVALID;
            }
        }

        if (s + 5 < last && ((s[5] >= '0' && s[5] <= '9')
                             || (s[5] >= 'A' && s[5] <= 'Z')))
        {
            return SPECTRA_DATAAPI_INVALID;
        }

        sqlstate->data = (u_char *) s;
        sqlstate->len = 5;

        return SPECTRA_DATAAPI_OK;
    }

    return SPECTRA_DATAAPI_INVALID;
}
