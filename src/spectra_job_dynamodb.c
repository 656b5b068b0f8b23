/*
 * The DynamoDB job store's requests and answers (spectra_job_dynamodb.h),
 * built and read with jansson.  A job's members map to attributes in one
 * table (spectra_ddb_fields): adding a member is one line there.
 */

#include "spectra_job_dynamodb.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>


#define SPECTRA_DDB_STR         1   /* spectra_str_t, attribute S */
#define SPECTRA_DDB_INT         2   /* int64_t, attribute N */

/* flags */
#define SPECTRA_DDB_SQL         0x01  /* read with with_sql only */
#define SPECTRA_DDB_SET_POS     0x02  /* update: set when > 0 */
#define SPECTRA_DDB_SET_NONNEG  0x04  /* update: set when >= 0 */
#define SPECTRA_DDB_UNKNOWN     0x08  /* absent reads as -1, not 0 */
#define SPECTRA_DDB_CUT         0x10  /* cut to the error message max */

#define SPECTRA_DDB_NONE        ((size_t) -1)

#define SPECTRA_DDB_EXPR_MAX    2048


typedef struct {
    const char               *name;       /* the attribute */
    int                       kind;
    size_t                    job;        /* offset in spectra_job_t */
    size_t                    upd;        /* in spectra_job_update_t, or
                                             SPECTRA_DDB_NONE */
    unsigned                  flags;
} spectra_ddb_field_t;


#define J(m)  offsetof(spectra_job_t, m)
#define U(m)  offsetof(spectra_job_update_t, m)

/*
 * Every member but id, type and status (written apart: they are not
 * strings in spectra_job_t) and started_at, finished_at (set by rules).
 */
static const spectra_ddb_field_t  spectra_ddb_fields[] = {
    { "tenant", SPECTRA_DDB_STR, J(tenant_id), SPECTRA_DDB_NONE, 0 },
    { "statement_id", SPECTRA_DDB_STR, J(statement_id), U(statement_id), 0 },
    { "sql", SPECTRA_DDB_STR, J(sql), SPECTRA_DDB_NONE, SPECTRA_DDB_SQL },
    { "parameters", SPECTRA_DDB_STR, J(parameters), SPECTRA_DDB_NONE,
      SPECTRA_DDB_SQL },
    { "idempotency_key", SPECTRA_DDB_STR, J(idempotency_key),
      SPECTRA_DDB_NONE, 0 },
    { "request_hash", SPECTRA_DDB_STR, J(request_hash), SPECTRA_DDB_NONE, 0 },
    { "db_user", SPECTRA_DDB_STR, J(db_user), SPECTRA_DDB_NONE, 0 },
    { "session_id", SPECTRA_DDB_STR, J(session_id), U(session_id), 0 },
    { "result", SPECTRA_DDB_STR, J(result), U(result), 0 },
    { "error_code", SPECTRA_DDB_STR, J(error_code), U(error_code), 0 },
    { "error_message", SPECTRA_DDB_STR, J(error_message), U(error_message),
      SPECTRA_DDB_CUT },
    { "sqlstate", SPECTRA_DDB_STR, J(sqlstate), U(sqlstate), 0 },
    { "phase", SPECTRA_DDB_STR, J(phase), U(phase), 0 },
    /* set when the job is made; every later call goes there */
    { "warehouse", SPECTRA_DDB_STR, J(warehouse), SPECTRA_DDB_NONE, 0 },
    { "created_at", SPECTRA_DDB_INT, J(created_at), SPECTRA_DDB_NONE, 0 },
    { "updated_at", SPECTRA_DDB_INT, J(updated_at), SPECTRA_DDB_NONE, 0 },
    { "started_at", SPECTRA_DDB_INT, J(started_at), SPECTRA_DDB_NONE, 0 },
    { "finished_at", SPECTRA_DDB_INT, J(finished_at), SPECTRA_DDB_NONE, 0 },
    { "row_count", SPECTRA_DDB_INT, J(row_count), U(row_count),
      SPECTRA_DDB_SET_NONNEG | SPECTRA_DDB_UNKNOWN },
    { "execution_ms", SPECTRA_DDB_INT, J(execution_ms), U(execution_ms),
      SPECTRA_DDB_SET_NONNEG | SPECTRA_DDB_UNKNOWN },
    { "deadline_at", SPECTRA_DDB_INT, J(deadline_at), U(deadline_at),
      SPECTRA_DDB_SET_POS },
    { "check_at", SPECTRA_DDB_INT, J(check_at), U(check_at),
      SPECTRA_DDB_SET_POS },
    { NULL, 0, 0, 0, 0 }
};

#undef J
#undef U


typedef enum {
    SPECTRA_DDB_KEY_PUT = 1,    /* create: the idempotency key's item */
    SPECTRA_DDB_COUNT_ADD,      /* create: the tenant's active counter */
    SPECTRA_DDB_JOB_PUT,        /* create: the job */
    SPECTRA_DDB_UNDO_COUNT,     /* create failed: the counter back */
    SPECTRA_DDB_UNDO_KEY,       /* create failed: the key's item */
    SPECTRA_DDB_GET,            /* get, cancel, find_key: the job */
    SPECTRA_DDB_KEY_GET,        /* find_key: the key's item */
    SPECTRA_DDB_UPDATE,         /* update, cancel */
    SPECTRA_DDB_COUNT_SUB,      /* a job finished: the counter down */
    SPECTRA_DDB_KEY_EXPIRE,     /* a job finished: its key expires too */
    SPECTRA_DDB_REREAD,         /* an update conflicted: what is there */
    SPECTRA_DDB_LIST,
    SPECTRA_DDB_DUE,
    SPECTRA_DDB_ACTIVE
} spectra_ddb_step_e;


struct spectra_ddb_op_s {
    const spectra_ddb_conf_t  *conf;
    spectra_pool_t             pool;
    spectra_ddb_step_e         step;
    int                        cancel;      /* get then update */
    int                        own_id;
    int                        tries;
    int                        rc;          /* kept while undoing */
    spectra_err_t              saved;
    int64_t                    now;
    unsigned                   max_active;
    spectra_job_t             *job;         /* the caller's */
    spectra_job_t              tmp;         /* when the caller has none */
    spectra_job_t              old;         /* before an update */
    spectra_job_update_t       upd;
    spectra_job_owner_t        owner;
    spectra_str_t              id;
    spectra_str_t              key;         /* the key item's sk */
    spectra_job_filter_t       filter;
    spectra_job_list_t        *list;
    size_t                     limit;
    size_t                     rounds;
    json_t                    *start;       /* ExclusiveStartKey */
    unsigned                  *n;
};


static int spectra_ddb_op_new(spectra_ddb_op_t **op,
    const spectra_ddb_conf_t *conf, const spectra_pool_t *pool,
    spectra_err_t *err);
static int spectra_ddb_send(spectra_ddb_op_t *op, const char *operation,
    json_t *body, spectra_ddb_req_t *req, spectra_err_t *err);
static json_t *spectra_ddb_s(const u_char *p, size_t len);
static json_t *spectra_ddb_field_s(const spectra_ddb_field_t *f,
    const spectra_str_t *s);
static json_t *spectra_ddb_n(int64_t v);
static json_t *spectra_ddb_key(const spectra_str_t *tenant, const char *prefix,
    const spectra_str_t *rest);
static json_t *spectra_ddb_job_key(const spectra_str_t *tenant,
    const spectra_str_t *id);
static json_t *spectra_ddb_item(const spectra_job_t *job, int64_t due);
static int spectra_ddb_strdup(const spectra_pool_t *pool, spectra_str_t *dst,
    const spectra_str_t *src);
static int spectra_ddb_read_item(json_t *item, spectra_job_t *job,
    const spectra_pool_t *pool, spectra_err_t *err);
static int spectra_ddb_attr_int(json_t *item, const char *name, int64_t *v);
static int spectra_ddb_error(int status, json_t *answer, const char **type,
    spectra_err_t *err);
static int spectra_ddb_owner_ok(const spectra_job_t *job,
    const spectra_job_owner_t *owner);
static int spectra_ddb_expired(const spectra_job_t *job, json_t *item,
    int64_t now);
static int spectra_ddb_key_sk(spectra_ddb_op_t *op,
    const spectra_job_owner_t *owner, const spectra_str_t *key);
static int spectra_ddb_get_req(spectra_ddb_op_t *op, spectra_ddb_req_t *req,
    spectra_err_t *err);
static int spectra_ddb_update_req(spectra_ddb_op_t *op,
    spectra_ddb_req_t *req, spectra_err_t *err);
static int spectra_ddb_list_req(spectra_ddb_op_t *op, spectra_ddb_req_t *req,
    spectra_err_t *err);
static int spectra_ddb_count_req(spectra_ddb_op_t *op, int delta,
    unsigned cap, spectra_ddb_req_t *req, spectra_err_t *err);
static int spectra_ddb_delete_key_req(spectra_ddb_op_t *op,
    spectra_ddb_req_t *req, spectra_err_t *err);
static int spectra_ddb_job_put_req(spectra_ddb_op_t *op,
    spectra_ddb_req_t *req, spectra_err_t *err);
static int spectra_ddb_after_update(spectra_ddb_op_t *op, json_t *answer,
    spectra_ddb_req_t *req, spectra_err_t *err);
static int spectra_ddb_list_answer(spectra_ddb_op_t *op, json_t *answer,
    spectra_ddb_req_t *req, spectra_err_t *err);
static int spectra_ddb_cursor_key(spectra_ddb_op_t *op,
    const spectra_str_t *cursor, spectra_err_t *err);
static void spectra_ddb_ord(const spectra_job_t *job, u_char *ord);
static void spectra_ddb_names(json_t *names, const char *set,
    const char *cond);
static void spectra_ddb_name_use(json_t *names, const char *set,
    const char *cond, const char *attr);


/* a small text builder for expressions */

typedef struct {
    char                      buf[SPECTRA_DDB_EXPR_MAX];
    size_t                    len;
    int                       overflow;
} spectra_ddb_text_t;


static void spectra_ddb_cat(spectra_ddb_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


static void
spectra_ddb_cat(spectra_ddb_text_t *t, const char *fmt, ...)
{
    int      n;
    va_list  args;

    if (t->overflow) {
        return;
    }

    va_start(args, fmt);
    n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, args);
    va_end(args);

    if (n < 0 || (size_t) n >= sizeof(t->buf) - t->len) {
        t->overflow = 1;
        return;
    }

    t->len += n;
}


/* "#name" -> "name" for every attribute the expressions use */

static void
spectra_ddb_names(json_t *names, const char *set, const char *cond)
{
    size_t                      i;
    const spectra_ddb_field_t  *f;

    static const char  *extra[] = { "id", "type", "status", "act", "due",
                                    "expires", NULL };

    for (f = spectra_ddb_fields; f->name != NULL; f++) {
        spectra_ddb_name_use(names, set, cond, f->name);
    }

    for (i = 0; extra[i] != NULL; i++) {
        spectra_ddb_name_use(names, set, cond, extra[i]);
    }
}


static void
spectra_ddb_name_use(json_t *names, const char *set, const char *cond,
    const char *attr)
{
    int          t;
    size_t       n;
    const char  *at;
    char         name[32];

    n = snprintf(name, sizeof(name), "#%s", attr);

    for (t = 0; t < 2; t++) {
        at = (t == 0) ? set : cond;

        while ((at = strstr(at, name)) != NULL) {
            at += n;

            /* "#due", not the start of a longer name */
            if (!(*at == '_' || (*at >= 'a' && *at <= 'z'))) {
                json_object_set_new(names, name, json_string(attr));
                return;
            }
        }
    }
}


static int
spectra_ddb_op_new(spectra_ddb_op_t **op, const spectra_ddb_conf_t *conf,
    const spectra_pool_t *pool, spectra_err_t *err)
{
    spectra_ddb_op_t  *o;

    if (conf->table.len < 3 || conf->table.len > 255) {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "job store: the table name must be 3 to 255 "
                               "characters");
    }

    o = spectra_palloc(pool, sizeof(spectra_ddb_op_t));
    if (o == NULL) {
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    memset(o, 0, sizeof(spectra_ddb_op_t));
    o->conf = conf;
    o->pool = *pool;
    o->job = &o->tmp;

    *op = o;

    return SPECTRA_JOB_OK;
}


/* The request: body (taken) as JSON text in the op's pool. */

static int
spectra_ddb_send(spectra_ddb_op_t *op, const char *operation, json_t *body,
    spectra_ddb_req_t *req, spectra_err_t *err)
{
    char    *text;
    size_t   len;

    if (body == NULL) {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "job store: a job field is not UTF-8 text");
    }

    if (json_object_set_new(body, "TableName",
                            json_stringn((const char *) op->conf->table.data,
                                         op->conf->table.len))
        != 0)
    {
        json_decref(body);
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);

    if (text == NULL) {
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    len = strlen(text);
    req->body.data = spectra_pstrdup(&op->pool, (u_char *) text, len);
    req->body.len = len;
    req->operation = operation;
    free(text);

    if (req->body.data == NULL) {
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    return SPECTRA_DDB_AGAIN;
}


/* {"S": "..."}; NULL if not UTF-8 (or no memory) */

static json_t *
spectra_ddb_s(const u_char *p, size_t len)
{
    json_t  *s;

    s = json_stringn(p ? (const char *) p : "", len);
    if (s == NULL) {
        return NULL;
    }

    return json_pack("{so}", "S", s);
}


/* A text field's value as stored: an error message cut to its bound. */

static json_t *
spectra_ddb_field_s(const spectra_ddb_field_t *f, const spectra_str_t *s)
{
    size_t  len;

    len = s->len;

    if (f->flags & SPECTRA_DDB_CUT) {
        len = spectra_job_utf8_cut(s->data, len,
                                   SPECTRA_JOB_ERROR_MESSAGE_MAX);
    }

    return spectra_ddb_s(s->data, len);
}


static json_t *
spectra_ddb_n(int64_t v)
{
    char  buf[32];

    snprintf(buf, sizeof(buf), "%lld", (long long) v);

    return json_pack("{ss}", "N", buf);
}


/* {"tenant": {"S": tenant}, "sk": {"S": prefix + rest}} */

static json_t *
spectra_ddb_key(const spectra_str_t *tenant, const char *prefix,
    const spectra_str_t *rest)
{
    u_char  *p;
    size_t   n, len;
    json_t  *key, *sk;

    n = strlen(prefix);
    len = n + (rest ? rest->len : 0);

    p = malloc(len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, prefix, n);
    if (rest != NULL && rest->len) {
        memcpy(p + n, rest->data, rest->len);
    }

    sk = spectra_ddb_s(p, len);
    free(p);

    key = json_pack("{soso}", "tenant",
                    spectra_ddb_s(tenant->data, tenant->len), "sk", sk);

    return key;
}


static json_t *
spectra_ddb_job_key(const spectra_str_t *tenant, const spectra_str_t *id)
{
    return spectra_ddb_key(tenant, "job#", id);
}


/* ord: created_at as 16 hex digits + the id's 26 digits (the cursor) */

static void
spectra_ddb_ord(const spectra_job_t *job, u_char *ord)
{
    snprintf((char *) ord, SPECTRA_JOB_CURSOR_LEN + 1, "%016llx%s",
             (unsigned long long) job->created_at, (char *) job->id + 4);
}


/* The job's item; due >= 0: it is active, in the "due" index. */

static json_t *
spectra_ddb_item(const spectra_job_t *job, int64_t due)
{
    u_char                     *base;
    json_t                     *item, *v;
    int64_t                     n;
    spectra_str_t               id, *s;
    const spectra_ddb_field_t  *f;
    u_char                      ord[SPECTRA_JOB_CURSOR_LEN + 1];

    id.data = (u_char *) job->id;
    id.len = strlen((char *) job->id);

    item = spectra_ddb_job_key(&job->tenant_id, &id);
    if (item == NULL) {
        return NULL;
    }

    base = (u_char *) job;
    spectra_ddb_ord(job, ord);

    if (json_object_set_new(item, "id", spectra_ddb_s(id.data, id.len))
        || json_object_set_new(item, "type",
                               json_pack("{ss}", "S",
                                         spectra_job_type_name(job->type)))
        || json_object_set_new(item, "status",
                               json_pack("{ss}", "S",
                                   spectra_job_status_name(job->status)))
        || json_object_set_new(item, "ord",
                               spectra_ddb_s(ord, SPECTRA_JOB_CURSOR_LEN)))
    {
        json_decref(item);
        return NULL;
    }

    for (f = spectra_ddb_fields; f->name != NULL; f++) {

        if (strcmp(f->name, "tenant") == 0) {
            continue;
        }

        if (f->kind == SPECTRA_DDB_STR) {
            s = (spectra_str_t *) (base + f->job);

            if (s->data == NULL) {
                continue;
            }

            v = spectra_ddb_field_s(f, s);

        } else {
            n = *(int64_t *) (base + f->job);

            if (n < 0 || (n == 0 && !(f->flags & SPECTRA_DDB_UNKNOWN))) {
                continue;
            }

            v = spectra_ddb_n(n);
        }

        if (v == NULL || json_object_set_new(item, f->name, v) != 0) {
            json_decref(item);
            return NULL;
        }
    }

    if (due >= 0) {
        if (json_object_set_new(item, "act", json_pack("{ss}", "S", "1"))
            || json_object_set_new(item, "due", spectra_ddb_n(due)))
        {
            json_decref(item);
            return NULL;
        }
    }

    return item;
}


static int
spectra_ddb_strdup(const spectra_pool_t *pool, spectra_str_t *dst,
    const spectra_str_t *src)
{
    if (src->data == NULL) {
        dst->data = NULL;
        dst->len = 0;
        return 0;
    }

    dst->data = spectra_pstrdup(pool, src->data, src->len);
    dst->len = src->len;

    return (dst->data == NULL) ? -1 : 0;
}


/* create */

int
spectra_ddb_create(spectra_ddb_op_t **opp, const spectra_ddb_conf_t *conf,
    spectra_job_t *job, unsigned max_active, const spectra_pool_t *pool,
    spectra_ddb_req_t *req, spectra_err_t *err)
{
    int                rc;
    json_t            *item, *body;
    spectra_ddb_op_t  *op;

    rc = spectra_job_check(job, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    rc = spectra_ddb_op_new(opp, conf, pool, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    op = *opp;
    op->job = job;
    op->max_active = max_active;
    op->own_id = (job->id[0] == '\0');

    if (job->status == SPECTRA_JOB_STATUS_NONE) {
        job->status = SPECTRA_JOB_PENDING;
    }

    if (job->created_at == 0) {
        job->created_at = spectra_job_now();
    }

    job->updated_at = job->created_at;
    op->now = job->created_at;

    if (op->own_id && spectra_job_id_new(job->id) != 0) {
        return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                               "job store: no random bytes for an id");
    }

    op->owner.tenant_id = job->tenant_id;
    op->owner.db_user = job->db_user;

    if (job->idempotency_key.data == NULL) {
        return spectra_ddb_count_req(op, 1, max_active, req, err);
    }

    /* the key first: of two creations with one key, one gets it */

    if (spectra_ddb_key_sk(op, &op->owner, &job->idempotency_key) != 0) {
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    op->step = SPECTRA_DDB_KEY_PUT;

    item = spectra_ddb_key(&job->tenant_id, "", &op->key);
    if (item == NULL) {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "job store: a job field is not UTF-8 text");
    }

    json_object_set_new(item, "job", json_pack("{ss}", "S", job->id));

    /* a key whose job expired (retention) may be used again */
    body = json_pack("{soss s{ss} s{so}}", "Item", item,
                     "ConditionExpression",
                     "attribute_not_exists(sk) OR #expires < :now",
                     "ExpressionAttributeNames", "#expires", "expires",
                     "ExpressionAttributeValues",
                     ":now", spectra_ddb_n(op->now / 1000));

    return spectra_ddb_send(op, "PutItem", body, req, err);
}


/* "key#" + length of the user + ':' + user + key: no two owners meet */

static int
spectra_ddb_key_sk(spectra_ddb_op_t *op, const spectra_job_owner_t *owner,
    const spectra_str_t *key)
{
    u_char  *p;
    size_t   size;
    int      n;

    size = sizeof("key#:") + 24 + owner->db_user.len + key->len;

    p = spectra_palloc(&op->pool, size);
    if (p == NULL) {
        return -1;
    }

    n = snprintf((char *) p, size, "key#%lld:",
                 owner->db_user.data ? (long long) owner->db_user.len : -1LL);

    if (owner->db_user.len) {
        memcpy(p + n, owner->db_user.data, owner->db_user.len);
        n += owner->db_user.len;
    }

    memcpy(p + n, key->data, key->len);

    op->key.data = p;
    op->key.len = n + key->len;

    return 0;
}


/*
 * The tenant's active counter: ADD delta, with a cap (> 0) only while
 * below it; a decrement never goes below 0.
 */

static int
spectra_ddb_count_req(spectra_ddb_op_t *op, int delta, unsigned cap,
    spectra_ddb_req_t *req, spectra_err_t *err)
{
    json_t  *body, *values;

    op->step = (delta > 0) ? SPECTRA_DDB_COUNT_ADD
               : (op->step == SPECTRA_DDB_JOB_PUT) ? SPECTRA_DDB_UNDO_COUNT
               : SPECTRA_DDB_COUNT_SUB;

    values = json_pack("{so}", ":d", spectra_ddb_n(delta));

    body = json_pack("{soss s{ss}}", "Key",
                     spectra_ddb_key(&op->owner.tenant_id, "active", NULL),
                     "UpdateExpression", "ADD #n :d",
                     "ExpressionAttributeNames", "#n", "n");

    if (body == NULL || values == NULL) {
        json_decref(body);
        json_decref(values);
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    if (delta > 0 && cap > 0) {
        json_object_set_new(values, ":cap", spectra_ddb_n(cap));
        json_object_set_new(body, "ConditionExpression",
                     json_string("attribute_not_exists(#n) OR #n < :cap"));

    } else if (delta < 0) {
        json_object_set_new(values, ":z", spectra_ddb_n(0));
        json_object_set_new(body, "ConditionExpression",
                            json_string("#n > :z"));
    }

    json_object_set_new(body, "ExpressionAttributeValues", values);

    return spectra_ddb_send(op, "UpdateItem", body, req, err);
}


static int
spectra_ddb_job_put_req(spectra_ddb_op_t *op, spectra_ddb_req_t *req,
    spectra_err_t *err)
{
    json_t         *item, *body;
    spectra_job_t  *job;

    job = op->job;
    op->step = SPECTRA_DDB_JOB_PUT;

    item = spectra_ddb_item(job,
                            (SPECTRA_JOB_MASK(job->status)
                             & SPECTRA_JOB_ACTIVE) ? job->check_at : -1);

    body = json_pack("{soss}", "Item", item,
                     "ConditionExpression", "attribute_not_exists(sk)");

    return spectra_ddb_send(op, "PutItem", body, req, err);
}


static int
spectra_ddb_delete_key_req(spectra_ddb_op_t *op, spectra_ddb_req_t *req,
    spectra_err_t *err)
{
    json_t  *body;

    op->step = SPECTRA_DDB_UNDO_KEY;

    body = json_pack("{so}", "Key",
                     spectra_ddb_key(&op->owner.tenant_id, "", &op->key));

    return spectra_ddb_send(op, "DeleteItem", body, req, err);
}


/* get, find_key */

int
spectra_ddb_get(spectra_ddb_op_t **opp, const spectra_ddb_conf_t *conf,
    const spectra_job_owner_t *owner, const spectra_str_t *id,
    spectra_job_t *job, const spectra_pool_t *pool, spectra_ddb_req_t *req,
    spectra_err_t *err)
{
    int                rc;
    spectra_ddb_op_t  *op;

    if (id->data == NULL || !spectra_job_id_valid(id->data, id->len)) {
        return spectra_err_set(err, SPECTRA_JOB_NOT_FOUND, SPECTRA_POS_NONE,
                               "job not found");
    }

    rc = spectra_ddb_op_new(opp, conf, pool, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    op = *opp;
    op->job = job;
    op->now = spectra_job_now();

    if (spectra_ddb_strdup(pool, &op->owner.tenant_id, &owner->tenant_id)
        || spectra_ddb_strdup(pool, &op->owner.db_user, &owner->db_user)
        || spectra_ddb_strdup(pool, &op->id, id))
    {
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    return spectra_ddb_get_req(op, req, err);
}


static int
spectra_ddb_get_req(spectra_ddb_op_t *op, spectra_ddb_req_t *req,
    spectra_err_t *err)
{
    json_t  *body;

    if (op->step != SPECTRA_DDB_REREAD) {
        op->step = SPECTRA_DDB_GET;
    }

    body = json_pack("{sosb}", "Key",
                     spectra_ddb_job_key(&op->owner.tenant_id, &op->id),
                     "ConsistentRead", 1);

    return spectra_ddb_send(op, "GetItem", body, req, err);
}


int
spectra_ddb_find_key(spectra_ddb_op_t **opp, const spectra_ddb_conf_t *conf,
    const spectra_job_owner_t *owner, const spectra_str_t *key,
    spectra_job_t *job, const spectra_pool_t *pool, spectra_ddb_req_t *req,
    spectra_err_t *err)
{
    int                rc;
    json_t            *body;
    spectra_ddb_op_t  *op;

    if (!spectra_job_str_ok(key, SPECTRA_JOB_KEY_MAX, 1)) {
        return spectra_err_set(err, SPECTRA_JOB_NOT_FOUND, SPECTRA_POS_NONE,
                               "job not found");
    }

    rc = spectra_ddb_op_new(opp, conf, pool, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    op = *opp;
    op->job = job;
    op->now = spectra_job_now();
    op->step = SPECTRA_DDB_KEY_GET;

    if (spectra_ddb_strdup(pool, &op->owner.tenant_id, &owner->tenant_id)
        || spectra_ddb_strdup(pool, &op->owner.db_user, &owner->db_user)
        || spectra_ddb_key_sk(op, owner, key) != 0)
    {
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    body = json_pack("{sosb}", "Key",
                     spectra_ddb_key(&op->owner.tenant_id, "", &op->key),
                     "ConsistentRead", 1);

    return spectra_ddb_send(op, "GetItem", body, req, err);
}


/* update, cancel */

int
spectra_ddb_update(spectra_ddb_op_t **opp, const spectra_ddb_conf_t *conf,
    const spectra_job_update_t *upd, spectra_job_t *job,
    const spectra_pool_t *pool, spectra_ddb_req_t *req, spectra_err_t *err)
{
    int                         rc;
    u_char                     *base;
    spectra_ddb_op_t           *op;
    spectra_str_t              *s;
    const spectra_ddb_field_t  *f;

    if (upd->id.data == NULL || !spectra_job_id_valid(upd->id.data,
                                                      upd->id.len))
    {
        return spectra_err_set(err, SPECTRA_JOB_NOT_FOUND, SPECTRA_POS_NONE,
                               "job not found");
    }

    rc = spectra_job_check_update(upd, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    rc = spectra_ddb_op_new(opp, conf, pool, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    op = *opp;

    if (job != NULL) {
        op->job = job;
    }

    /* the update is kept (its strings copied): it is sent later */

    op->upd = *upd;
    op->now = (upd->now > 0) ? upd->now : spectra_job_now();
    op->upd.now = op->now;

    base = (u_char *) &op->upd;

    for (f = spectra_ddb_fields; f->name != NULL; f++) {
        if (f->kind == SPECTRA_DDB_STR && f->upd != SPECTRA_DDB_NONE) {
            s = (spectra_str_t *) (base + f->upd);

            if (spectra_ddb_strdup(pool, s, s) != 0) {
                return spectra_err_set(err, SPECTRA_JOB_NOMEM,
                                       SPECTRA_POS_NONE,
                                       "job store: no memory");
            }
        }
    }

    if (spectra_ddb_strdup(pool, &op->upd.from_phase, &upd->from_phase)
        || spectra_ddb_strdup(pool, &op->owner.tenant_id, &upd->tenant_id)
        || spectra_ddb_strdup(pool, &op->id, &upd->id))
    {
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    op->upd.tenant_id = op->owner.tenant_id;
    op->upd.id = op->id;

    return spectra_ddb_update_req(op, req, err);
}


/*
 * UpdateItem: the members the update sets, started_at and finished_at by
 * the rules, "act" and "due" off once finished (and the TTL); the
 * condition is the store's status rules; the old item comes back, so the
 * answer says what the job was and is.
 */

static int
spectra_ddb_update_req(spectra_ddb_op_t *op, spectra_ddb_req_t *req,
    spectra_err_t *err)
{
    u_char                      *base;
    json_t                      *body, *names, *values, *v;
    int64_t                      n, at;
    unsigned                     i, nv, mask;
    spectra_str_t               *s;
    spectra_ddb_text_t           set, cond;
    spectra_job_status_e         status;
    const spectra_ddb_field_t   *f;
    const spectra_job_update_t  *upd;
    char                         name[32];

    upd = &op->upd;
    status = upd->status;
    op->step = SPECTRA_DDB_UPDATE;

    names = json_object();
    values = json_object();

    if (names == NULL || values == NULL) {
        goto nomem;
    }

    set.len = 0;
    set.overflow = 0;
    cond.len = 0;
    cond.overflow = 0;
    nv = 0;
    base = (u_char *) upd;

    spectra_ddb_cat(&set, "SET #updated_at = :v%u", nv);
    json_object_set_new(names, "#updated_at", json_string("updated_at"));
    snprintf(name, sizeof(name), ":v%u", nv++);
    json_object_set_new(values, name, spectra_ddb_n(op->now));

    if (status != SPECTRA_JOB_STATUS_NONE) {
        spectra_ddb_cat(&set, ", #status = :v%u", nv);
        snprintf(name, sizeof(name), ":v%u", nv++);
        json_object_set_new(values, name,
                            json_pack("{ss}", "S",
                                      spectra_job_status_name(status)));
    }

    for (f = spectra_ddb_fields; f->name != NULL; f++) {
        if (f->upd == SPECTRA_DDB_NONE) {
            continue;
        }

        if (f->kind == SPECTRA_DDB_STR) {
            s = (spectra_str_t *) (base + f->upd);

            if (s->data == NULL) {
                continue;
            }

            v = spectra_ddb_field_s(f, s);

        } else {
            n = *(int64_t *) (base + f->upd);

            if ((f->flags & SPECTRA_DDB_SET_POS) ? n <= 0 : n < 0) {
                continue;
            }

            v = spectra_ddb_n(n);
        }

        if (v == NULL) {
            json_decref(names);
            json_decref(values);
            return spectra_err_set(err, SPECTRA_JOB_INVALID,
                                   SPECTRA_POS_NONE,
                                   "job store: a job field is not UTF-8 "
                                   "text");
        }

        snprintf(name, sizeof(name), ":v%u", nv++);
        json_object_set_new(values, name, v);
        spectra_ddb_cat(&set, ", #%s = %s", f->name, name);

        if (strcmp(f->name, "check_at") == 0
            && !spectra_job_status_final(status))
        {
            /* the due index follows check_at while the job is active */
            spectra_ddb_cat(&set, ", #due = %s", name);
            json_object_set_new(names, "#due", json_string("due"));
        }
    }

    /* started_at: explicit, else the first time the job ran */

    at = op->now;

    if (upd->started_at > 0) {
        snprintf(name, sizeof(name), ":v%u", nv++);
        json_object_set_new(values, name, spectra_ddb_n(upd->started_at));
        spectra_ddb_cat(&set, ", #started_at = %s", name);

    } else if (status == SPECTRA_JOB_RUNNING
               || (spectra_job_status_final(status)
                   && status != SPECTRA_JOB_CANCELLED))
    {
        snprintf(name, sizeof(name), ":v%u", nv++);
        json_object_set_new(values, name, spectra_ddb_n(op->now));
        spectra_ddb_cat(&set, ", #started_at = if_not_exists(#started_at, "
                        "%s)", name);
    }

    if (upd->finished_at > 0) {
        at = upd->finished_at;
        snprintf(name, sizeof(name), ":v%u", nv++);
        json_object_set_new(values, name, spectra_ddb_n(upd->finished_at));
        spectra_ddb_cat(&set, ", #finished_at = %s", name);

    } else if (spectra_job_status_final(status)) {
        snprintf(name, sizeof(name), ":v%u", nv++);
        json_object_set_new(values, name, spectra_ddb_n(op->now));
        spectra_ddb_cat(&set, ", #finished_at = if_not_exists("
                        "#finished_at, %s)", name);
    }

    if (spectra_job_status_final(status) && op->conf->retention_ms > 0) {
        /* retention: DynamoDB's TTL deletes it, reads skip it till then */
        snprintf(name, sizeof(name), ":v%u", nv++);
        json_object_set_new(values, name,
                    spectra_ddb_n((at + op->conf->retention_ms) / 1000));
        spectra_ddb_cat(&set, ", #expires = %s", name);
        json_object_set_new(names, "#expires", json_string("expires"));
    }

    if (spectra_job_status_final(status)) {
        spectra_ddb_cat(&set, " REMOVE #act, #due");
        json_object_set_new(names, "#act", json_string("act"));
        json_object_set_new(names, "#due", json_string("due"));
    }

    /* the status rules */

    spectra_ddb_cat(&cond, "attribute_exists(sk)");

    if (status != SPECTRA_JOB_STATUS_NONE) {
        /* finished is final: only the same status again */
        snprintf(name, sizeof(name), ":v%u", nv++);
        json_object_set_new(values, name,
                            json_pack("{ss}", "S",
                                      spectra_job_status_name(status)));
        spectra_ddb_cat(&cond, " AND (#status = %s OR #status IN (:pending, "
                        ":running))", name);
        json_object_set_new(values, ":pending",
                            json_pack("{ss}", "S", "PENDING"));
        json_object_set_new(values, ":running",
                            json_pack("{ss}", "S", "RUNNING"));
    }

    mask = upd->from;

    if (mask != 0) {
        spectra_ddb_cat(&cond, " AND #status IN (");

        for (i = SPECTRA_JOB_PENDING; i <= SPECTRA_JOB_TIMEOUT; i++) {
            if (!(mask & SPECTRA_JOB_MASK(i))) {
                continue;
            }

            snprintf(name, sizeof(name), ":v%u", nv++);
            json_object_set_new(values, name,
                                json_pack("{ss}", "S",
                                          spectra_job_status_name(i)));
            spectra_ddb_cat(&cond, "%s%s", name,
                            (mask >> (i + 1)) ? ", " : "");
        }

        spectra_ddb_cat(&cond, ")");
    }

    if (upd->from_phase.data != NULL) {
        v = spectra_ddb_s(upd->from_phase.data, upd->from_phase.len);
        if (v == NULL) {
            goto nomem;
        }

        snprintf(name, sizeof(name), ":v%u", nv++);
        json_object_set_new(values, name, v);
        spectra_ddb_cat(&cond, " AND #phase = %s", name);
        json_object_set_new(names, "#phase", json_string("phase"));
    }

    if (set.overflow || cond.overflow) {
        json_decref(names);
        json_decref(values);
        return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                               "job store: update expression too long");
    }

    spectra_ddb_names(names, set.buf, cond.buf);

    body = json_pack("{so ss% ss% so so ss}", "Key",
                     spectra_ddb_job_key(&op->owner.tenant_id, &op->id),
                     "UpdateExpression", set.buf, set.len,
                     "ConditionExpression", cond.buf, cond.len,
                     "ExpressionAttributeNames", names,
                     "ExpressionAttributeValues", values,
                     "ReturnValues", "ALL_OLD");

    return spectra_ddb_send(op, "UpdateItem", body, req, err);

nomem:

    json_decref(names);
    json_decref(values);

    return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                           "job store: no memory");
}


int
spectra_ddb_cancel(spectra_ddb_op_t **opp, const spectra_ddb_conf_t *conf,
    const spectra_job_owner_t *owner, const spectra_str_t *id, int64_t now,
    spectra_job_t *job, const spectra_pool_t *pool, spectra_ddb_req_t *req,
    spectra_err_t *err)
{
    int                rc;
    spectra_ddb_op_t  *op;

    rc = spectra_ddb_get(opp, conf, owner, id, job, pool, req, err);
    if (rc != SPECTRA_DDB_AGAIN) {
        return rc;
    }

    op = *opp;
    op->cancel = 1;
    op->now = (now > 0) ? now : spectra_job_now();

    if (job == NULL) {
        op->job = &op->tmp;
    }

    return rc;
}


/* the cancel's update, once the job is known to be the owner's */

static void
spectra_ddb_cancel_upd(spectra_ddb_op_t *op)
{
    spectra_job_update_t  *upd;

    upd = &op->upd;
    memset(upd, 0, sizeof(spectra_job_update_t));

    upd->tenant_id = op->owner.tenant_id;
    upd->id = op->id;
    upd->status = SPECTRA_JOB_CANCELLED;
    upd->from = SPECTRA_JOB_ACTIVE;
    upd->error_code.data = (u_char *) "CANCELLED";
    upd->error_code.len = sizeof("CANCELLED") - 1;
    upd->error_message.data = (u_char *) "cancelled by the client";
    upd->error_message.len = sizeof("cancelled by the client") - 1;
    upd->row_count = -1;
    upd->execution_ms = -1;
    upd->now = op->now;
}


/* list, due, active */

int
spectra_ddb_list(spectra_ddb_op_t **opp, const spectra_ddb_conf_t *conf,
    const spectra_job_filter_t *filter, spectra_job_list_t *list,
    const spectra_pool_t *pool, spectra_ddb_req_t *req, spectra_err_t *err)
{
    int                rc;
    spectra_ddb_op_t  *op;

    if (filter->limit < 1 || filter->limit > SPECTRA_JOB_LIST_MAX) {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "limit must be 1 to %d",
                               SPECTRA_JOB_LIST_MAX);
    }

    rc = spectra_ddb_op_new(opp, conf, pool, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    op = *opp;
    op->filter = *filter;
    op->list = list;
    op->limit = filter->limit;
    op->now = spectra_job_now();

    list->jobs = spectra_palloc(pool,
                                (filter->limit + 1) * sizeof(spectra_job_t));
    if (list->jobs == NULL
        || spectra_ddb_strdup(pool, &op->owner.tenant_id,
                              &filter->owner.tenant_id)
        || spectra_ddb_strdup(pool, &op->owner.db_user,
                              &filter->owner.db_user))
    {
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    list->njobs = 0;
    list->next_cursor[0] = '\0';

    if (filter->cursor.data != NULL && filter->cursor.len > 0) {
        rc = spectra_ddb_cursor_key(op, &filter->cursor, err);
        if (rc != SPECTRA_JOB_OK) {
            return rc;
        }
    }

    return spectra_ddb_list_req(op, req, err);
}


/* A cursor is an "ord": the ExclusiveStartKey of the next page. */

static int
spectra_ddb_cursor_key(spectra_ddb_op_t *op, const spectra_str_t *cursor,
    spectra_err_t *err)
{
    size_t         i;
    spectra_str_t  id;
    u_char         buf[SPECTRA_JOB_ID_LEN];

    if (cursor->len != SPECTRA_JOB_CURSOR_LEN) {
        goto invalid;
    }

    for (i = 0; i < 16; i++) {
        if (!((cursor->data[i] >= '0' && cursor->data[i] <= '9')
              || (cursor->data[i] >= 'a' && cursor->data[i] <= 'f')))
        {
            goto invalid;
        }
    }

    memcpy(buf, "job_", 4);
    memcpy(buf + 4, cursor->data + 16, 26);

    id.data = buf;
    id.len = SPECTRA_JOB_ID_LEN;

    if (!spectra_job_id_valid(id.data, id.len)) {
        goto invalid;
    }

    op->start = spectra_ddb_job_key(&op->owner.tenant_id, &id);
    if (op->start == NULL
        || json_object_set_new(op->start, "ord",
                               spectra_ddb_s(cursor->data, cursor->len))
           != 0)
    {
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    return SPECTRA_JOB_OK;

invalid:

    return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                           "invalid cursor");
}


static int
spectra_ddb_list_req(spectra_ddb_op_t *op, spectra_ddb_req_t *req,
    spectra_err_t *err)
{
    json_t                     *body, *names, *values, *v;
    size_t                      need;
    unsigned                    i, nv;
    spectra_ddb_text_t          filter, proj;
    const spectra_ddb_field_t  *f;
    char                        name[32];

    op->step = SPECTRA_DDB_LIST;
    op->rounds++;

    names = json_pack("{ssssssssss}", "#tenant", "tenant", "#expires",
                      "expires", "#db_user", "db_user", "#status", "status",
                      "#type", "type");
    values = json_pack("{soso}",
                       ":t", spectra_ddb_s(op->owner.tenant_id.data,
                                           op->owner.tenant_id.len),
                       ":now", spectra_ddb_n(op->now / 1000));

    if (names == NULL || values == NULL) {
        json_decref(names);
        json_decref(values);
        json_decref(op->start);
        op->start = NULL;
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "job store: bad tenant");
    }

    filter.len = 0;
    filter.overflow = 0;
    nv = 0;

    spectra_ddb_cat(&filter, "(attribute_not_exists(#expires) OR "
                    "#expires > :now)");

    if (op->owner.db_user.data == NULL) {
        spectra_ddb_cat(&filter, " AND attribute_not_exists(#db_user)");

    } else {
        v = spectra_ddb_s(op->owner.db_user.data, op->owner.db_user.len);
        json_object_set_new(values, ":u", v);
        spectra_ddb_cat(&filter, " AND #db_user = :u");
    }

    if (op->filter.statuses != 0) {
        spectra_ddb_cat(&filter, " AND #status IN (");

        for (i = SPECTRA_JOB_PENDING; i <= SPECTRA_JOB_TIMEOUT; i++) {
            if (op->filter.statuses & SPECTRA_JOB_MASK(i)) {
                snprintf(name, sizeof(name), ":v%u", nv++);
                json_object_set_new(values, name,
                                    json_pack("{ss}", "S",
                                              spectra_job_status_name(i)));
                spectra_ddb_cat(&filter, "%s%s", nv > 1 ? ", " : "", name);
            }
        }

        spectra_ddb_cat(&filter, ")");
    }

    if (op->filter.types != 0) {
        spectra_ddb_cat(&filter, " AND #type IN (");

        for (i = SPECTRA_JOB_QUERY, need = 0; i <= SPECTRA_JOB_IMPORT; i++)
        {
            if (op->filter.types & (1u << i)) {
                snprintf(name, sizeof(name), ":v%u", nv++);
                json_object_set_new(values, name,
                                    json_pack("{ss}", "S",
                                              spectra_job_type_name(i)));
                spectra_ddb_cat(&filter, "%s%s", need++ ? ", " : "", name);
            }
        }

        spectra_ddb_cat(&filter, ")");
    }

    /* lists leave sql and parameters out unless asked */

    proj.len = 0;
    proj.overflow = 0;

    spectra_ddb_cat(&proj, "#id, #type, #status, #expires");
    json_object_set_new(names, "#id", json_string("id"));

    for (f = spectra_ddb_fields; f->name != NULL; f++) {
        if ((f->flags & SPECTRA_DDB_SQL) && !op->filter.with_sql) {
            continue;
        }

        snprintf(name, sizeof(name), "#%s", f->name);
        json_object_set_new(names, name, json_string(f->name));
        spectra_ddb_cat(&proj, ", %s", name);
    }

    if (filter.overflow || proj.overflow) {
        json_decref(names);
        json_decref(values);
        return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                               "job store: list expression too long");
    }

    need = op->limit + 1 - op->list->njobs;
    if (need < 100) {
        need = 100;
    }

    body = json_pack("{ss ss sb sb si so so ss% ss%}",
                     "IndexName", "by_created",
                     "KeyConditionExpression", "#tenant = :t",
                     "ScanIndexForward", 0, "ConsistentRead", 1,
                     "Limit", (int) need,
                     "ExpressionAttributeNames", names,
                     "ExpressionAttributeValues", values,
                     "FilterExpression", filter.buf, filter.len,
                     "ProjectionExpression", proj.buf, proj.len);

    if (body != NULL && op->start != NULL) {
        json_object_set_new(body, "ExclusiveStartKey", op->start);
        op->start = NULL;
    }

    return spectra_ddb_send(op, "Query", body, req, err);
}


int
spectra_ddb_due(spectra_ddb_op_t **opp, const spectra_ddb_conf_t *conf,
    int64_t now, size_t limit, spectra_job_list_t *list,
    const spectra_pool_t *pool, spectra_ddb_req_t *req, spectra_err_t *err)
{
    int                rc;
    json_t            *body;
    spectra_ddb_op_t  *op;

    if (limit < 1 || limit > SPECTRA_JOB_LIST_MAX) {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "limit must be 1 to %d",
                               SPECTRA_JOB_LIST_MAX);
    }

    rc = spectra_ddb_op_new(opp, conf, pool, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    op = *opp;
    op->list = list;
    op->limit = limit;
    op->now = now;
    op->step = SPECTRA_DDB_DUE;

    list->jobs = spectra_palloc(pool, limit * sizeof(spectra_job_t));
    if (list->jobs == NULL) {
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    list->njobs = 0;
    list->next_cursor[0] = '\0';

    body = json_pack("{sssss{ssss}s{s{ss}so}sbsi}", "IndexName", "due",
                     "KeyConditionExpression", "#act = :a AND #due <= :now",
                     "ExpressionAttributeNames", "#act", "act", "#due", "due",
                     "ExpressionAttributeValues", ":a", "S", "1",
                     ":now", spectra_ddb_n(now),
                     "ScanIndexForward", 1, "Limit", (int) limit);

    return spectra_ddb_send(op, "Query", body, req, err);
}


int
spectra_ddb_active(spectra_ddb_op_t **opp, const spectra_ddb_conf_t *conf,
    const spectra_str_t *tenant_id, unsigned *n, const spectra_pool_t *pool,
    spectra_ddb_req_t *req, spectra_err_t *err)
{
    int                rc;
    json_t            *body;
    spectra_ddb_op_t  *op;

    rc = spectra_ddb_op_new(opp, conf, pool, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    op = *opp;
    op->n = n;
    op->step = SPECTRA_DDB_ACTIVE;

    if (spectra_ddb_strdup(pool, &op->owner.tenant_id, tenant_id) != 0) {
        return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                               "job store: no memory");
    }

    body = json_pack("{sosb}", "Key",
                     spectra_ddb_key(&op->owner.tenant_id, "active", NULL),
                     "ConsistentRead", 1);

    return spectra_ddb_send(op, "GetItem", body, req, err);
}


/* answers */

/*
 * An error answer: its code and message; *type is its __type's name
 * after '#' (NULL if none).
 */

static int
spectra_ddb_error(int status, json_t *answer, const char **type,
    spectra_err_t *err)
{
    const char  *t, *p, *msg;

    *type = NULL;

    if (status == 0 || status == 502 || status == 504) {
        return spectra_err_set(err, SPECTRA_JOB_BUSY, SPECTRA_POS_NONE,
                               "job store: DynamoDB is unreachable or did "
                               "not answer in time");
    }

    t = json_string_value(json_object_get(answer, "__type"));
    msg = json_string_value(json_object_get(answer, "message"));
    if (msg == NULL) {
        msg = json_string_value(json_object_get(answer, "Message"));
    }

    if (t != NULL) {
        p = strrchr(t, '#');
        *type = (p != NULL) ? p + 1 : t;
    }

    if (*type != NULL
        && (strcmp(*type, "ProvisionedThroughputExceededException") == 0
            || strcmp(*type, "ThrottlingException") == 0
            || strcmp(*type, "RequestLimitExceeded") == 0))
    {
        return spectra_err_set(err, SPECTRA_JOB_BUSY, SPECTRA_POS_NONE,
                               "job store: DynamoDB throttled the request "
                               "(%s)", *type);
    }

    if (status >= 400 && status < 500 && *type != NULL
        && strcmp(*type, "ValidationException") == 0)
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "job store: DynamoDB refused the request: "
                               "%.200s", msg ? msg : "ValidationException");
    }

    return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                           "job store: DynamoDB answered %d %.100s: %.200s",
                           status, *type ? *type : "(no __type)",
                           msg ? msg : "(no message)");
}


int
spectra_ddb_answer(spectra_ddb_op_t *op, int status, const u_char *body,
    size_t len, spectra_ddb_req_t *req, spectra_err_t *err)
{
    int            rc, ccf;
    json_t        *answer, *item;
    json_error_t   jerr;
    const char    *type;

    answer = NULL;

    if (status > 0 && len > SPECTRA_DDB_ANSWER_MAX) {
        return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                               "job store: the answer is too big");
    }

    if (status > 0 && len > 0) {
        answer = json_loadb((const char *) body, len,
                            JSON_REJECT_DUPLICATES, &jerr);
    }

    if (status != 200) {
        rc = spectra_ddb_error(status, answer, &type, err);
        ccf = (status == 400 && type != NULL
               && strcmp(type, "ConditionalCheckFailedException") == 0);
        json_decref(answer);
        answer = NULL;

        if (!ccf) {
            goto failed;
        }

        switch (op->step) {

        case SPECTRA_DDB_KEY_PUT:
            return spectra_err_set(err, SPECTRA_JOB_DUPLICATE,
                                   SPECTRA_POS_NONE,
                                   "idempotency key already used");

        case SPECTRA_DDB_COUNT_ADD:
            op->rc = spectra_err_set(&op->saved, SPECTRA_JOB_LIMIT,
                                     SPECTRA_POS_NONE,
                                     "the tenant has %u active jobs",
                                     op->max_active);
            if (op->key.data != NULL) {
                return spectra_ddb_delete_key_req(op, req, err);
            }

            *err = op->saved;
            return op->rc;

        case SPECTRA_DDB_JOB_PUT:
            if (op->own_id && ++op->tries < 3
                && spectra_job_id_new(op->job->id) == 0)
            {
                /* 2^-128 odds; take another id */
                return spectra_ddb_job_put_req(op, req, err);
            }

            rc = spectra_err_set(err, SPECTRA_JOB_CONFLICT, SPECTRA_POS_NONE,
                                 "job id already exists");
            goto failed;

        case SPECTRA_DDB_UPDATE:
            /* a missing job or a status that forbids it: which one? */
            op->step = SPECTRA_DDB_REREAD;
            return spectra_ddb_get_req(op, req, err);

        case SPECTRA_DDB_COUNT_SUB:
        case SPECTRA_DDB_UNDO_COUNT:
            /* the counter was at 0 already: nothing to take back */
            goto next;

        default:
            goto failed;
        }
    }

    if (answer == NULL || !json_is_object(answer)) {
        json_decref(answer);
        rc = spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                             "job store: DynamoDB's answer is not a JSON "
                             "object");
        goto failed;
    }

    switch (op->step) {

    case SPECTRA_DDB_KEY_PUT:
        json_decref(answer);
        return spectra_ddb_count_req(op, 1, op->max_active, req, err);

    case SPECTRA_DDB_COUNT_ADD:
        json_decref(answer);
        return spectra_ddb_job_put_req(op, req, err);

    case SPECTRA_DDB_JOB_PUT:
        json_decref(answer);
        return SPECTRA_JOB_OK;

    case SPECTRA_DDB_GET:
    case SPECTRA_DDB_REREAD:
        item = json_object_get(answer, "Item");

        if (item == NULL) {
            json_decref(answer);
            return spectra_err_set(err, SPECTRA_JOB_NOT_FOUND,
                                   SPECTRA_POS_NONE, "job not found");
        }

        rc = spectra_ddb_read_item(item, op->job, &op->pool, err);

        if (rc == SPECTRA_JOB_OK
            && (spectra_ddb_expired(op->job, item, op->now)
                || (op->step == SPECTRA_DDB_GET
                    && !spectra_ddb_owner_ok(op->job, &op->owner))))
        {
            rc = spectra_err_set(err, SPECTRA_JOB_NOT_FOUND,
                                 SPECTRA_POS_NONE, "job not found");
        }

        json_decref(answer);

        if (rc != SPECTRA_JOB_OK) {
            return rc;
        }

        if (op->step == SPECTRA_DDB_REREAD) {
            return spectra_err_set(err, SPECTRA_JOB_CONFLICT,
                                   SPECTRA_POS_NONE, "job is %s",
                                   spectra_job_status_name(op->job->status));
        }

        if (op->cancel) {
            spectra_ddb_cancel_upd(op);
            return spectra_ddb_update_req(op, req, err);
        }

        return SPECTRA_JOB_OK;

    case SPECTRA_DDB_KEY_GET:
        item = json_object_get(answer, "Item");
        type = json_string_value(json_object_get(json_object_get(item, "job"),
                                                 "S"));

        if (item == NULL || type == NULL
            || !spectra_job_id_valid((const u_char *) type, strlen(type))
            || spectra_ddb_expired(op->job, item, op->now))
        {
            json_decref(answer);
            return spectra_err_set(err, SPECTRA_JOB_NOT_FOUND,
                                   SPECTRA_POS_NONE, "job not found");
        }

        op->id.data = spectra_pstrdup(&op->pool, (const u_char *) type,
                                      strlen(type));
        op->id.len = strlen(type);
        json_decref(answer);

        if (op->id.data == NULL) {
            return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                                   "job store: no memory");
        }

        return spectra_ddb_get_req(op, req, err);

    case SPECTRA_DDB_UPDATE:
        rc = spectra_ddb_after_update(op, answer, req, err);
        json_decref(answer);
        return rc;

    case SPECTRA_DDB_LIST:
    case SPECTRA_DDB_DUE:
        rc = spectra_ddb_list_answer(op, answer, req, err);
        json_decref(answer);
        return rc;

    case SPECTRA_DDB_ACTIVE:
        item = json_object_get(answer, "Item");
        *op->n = 0;

        if (item != NULL) {
            int64_t  v;

            if (spectra_ddb_attr_int(item, "n", &v) != 0 || v < 0
                || v > 0xffffffffLL)
            {
                json_decref(answer);
                return spectra_err_set(err, SPECTRA_JOB_ERROR,
                                       SPECTRA_POS_NONE,
                                       "job store: malformed counter");
            }

            *op->n = (unsigned) v;
        }

        json_decref(answer);
        return SPECTRA_JOB_OK;

    default:
        json_decref(answer);
        goto next;
    }

next:

    /* the steps after the one that counts: their failures are logged */

    switch (op->step) {

    case SPECTRA_DDB_UNDO_COUNT:
        if (op->key.data != NULL) {
            return spectra_ddb_delete_key_req(op, req, err);
        }

        *err = op->saved;
        return op->rc;

    case SPECTRA_DDB_UNDO_KEY:
        *err = op->saved;
        return op->rc;

    case SPECTRA_DDB_COUNT_SUB:
        if (op->conf->retention_ms > 0
            && op->old.idempotency_key.data != NULL)
        {
            json_t         *kbody;
            spectra_str_t  *u;

            op->step = SPECTRA_DDB_KEY_EXPIRE;
            u = &op->old.db_user;

            if (spectra_ddb_key_sk(op, &(spectra_job_owner_t) {
                                      op->old.tenant_id, *u },
                                   &op->old.idempotency_key)
                != 0)
            {
                return SPECTRA_JOB_OK;
            }

            kbody = json_pack("{soss s{ss} s{so} ss}", "Key",
                             spectra_ddb_key(&op->owner.tenant_id, "",
                                             &op->key),
                             "UpdateExpression", "SET #expires = :e",
                             "ExpressionAttributeNames", "#expires",
                             "expires", "ExpressionAttributeValues", ":e",
                             spectra_ddb_n((op->job->finished_at
                                            + op->conf->retention_ms)
                                           / 1000),
                             "ConditionExpression", "attribute_exists(sk)");

            return spectra_ddb_send(op, "UpdateItem", kbody, req, err);
        }

        return SPECTRA_JOB_OK;

    case SPECTRA_DDB_KEY_EXPIRE:
        return SPECTRA_JOB_OK;

    default:
        return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                               "job store: an answer out of turn");
    }

failed:

    switch (op->step) {

    case SPECTRA_DDB_JOB_PUT:
        /* the counter and the key go back, then the failure is told */
        op->rc = rc;
        op->saved = *err;
        return spectra_ddb_count_req(op, -1, 0, req, err);

    case SPECTRA_DDB_COUNT_SUB:
    case SPECTRA_DDB_KEY_EXPIRE:
        /* the job itself was updated */
        return SPECTRA_JOB_OK;

    case SPECTRA_DDB_UNDO_COUNT:
    case SPECTRA_DDB_UNDO_KEY:
        goto next;

    default:
        return rc;
    }
}


/* The update went through: the job is the old item with it applied. */

static int
spectra_ddb_after_update(spectra_ddb_op_t *op, json_t *answer,
    spectra_ddb_req_t *req, spectra_err_t *err)
{
    int      rc;
    json_t  *item;

    item = json_object_get(answer, "Attributes");

    if (item == NULL) {
        /* an item missing before the update fails its condition */
        return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                               "job store: UpdateItem returned no item");
    }

    rc = spectra_ddb_read_item(item, &op->old, &op->pool, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    *op->job = op->old;

    rc = spectra_ddb_apply(op->job, &op->upd, op->now, &op->pool, err);
    if (rc != SPECTRA_JOB_OK) {
        /* DynamoDB's condition and ours disagree */
        return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                               "job store: the update's condition and its "
                               "result disagree");
    }

    if ((SPECTRA_JOB_MASK(op->old.status) & SPECTRA_JOB_ACTIVE)
        && spectra_job_status_final(op->job->status))
    {
        return spectra_ddb_count_req(op, -1, 0, req, err);
    }

    return SPECTRA_JOB_OK;
}


static int
spectra_ddb_list_answer(spectra_ddb_op_t *op, json_t *answer,
    spectra_ddb_req_t *req, spectra_err_t *err)
{
    int                  rc;
    size_t               i, max;
    json_t              *items, *item, *last;
    spectra_job_t       *job;
    spectra_job_list_t  *list;

    list = op->list;
    items = json_object_get(answer, "Items");

    if (!json_is_array(items)) {
        return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                               "job store: Query answered no Items");
    }

    max = (op->step == SPECTRA_DDB_LIST) ? op->limit + 1 : op->limit;

    json_array_foreach(items, i, item) {
        if (list->njobs == max) {
            break;
        }

        job = &list->jobs[list->njobs];

        rc = spectra_ddb_read_item(item, job, &op->pool, err);
        if (rc != SPECTRA_JOB_OK) {
            return rc;
        }

        if (op->step == SPECTRA_DDB_LIST) {
            /* the filter did it; a wrong answer must still not leak */
            if (!spectra_ddb_owner_ok(job, &op->owner)
                || spectra_ddb_expired(job, item, op->now)
                || (op->filter.statuses
                    && !(op->filter.statuses & SPECTRA_JOB_MASK(job->status)))
                || (op->filter.types
                    && !(op->filter.types & (1u << job->type))))
            {
                continue;
            }

        } else if (!(SPECTRA_JOB_MASK(job->status) & SPECTRA_JOB_ACTIVE)) {
            continue;
        }

        list->njobs++;
    }

    if (op->step == SPECTRA_DDB_DUE) {
        return SPECTRA_JOB_OK;
    }

    if (list->njobs == max) {
        /* one more than the page: there is a next one */
        list->njobs = op->limit;
        spectra_ddb_ord(&list->jobs[op->limit - 1], list->next_cursor);
        return SPECTRA_JOB_OK;
    }

    last = json_object_get(answer, "LastEvaluatedKey");

    if (last == NULL) {
        return SPECTRA_JOB_OK;
    }

    if (op->rounds < SPECTRA_DDB_LIST_ROUNDS) {
        op->start = json_deep_copy(last);
        if (op->start == NULL) {
            return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                                   "job store: no memory");
        }

        return spectra_ddb_list_req(op, req, err);
    }

    /* filters skipped many: a shorter page, going on where it stopped */

    {
        const char  *ord;

        ord = json_string_value(json_object_get(json_object_get(last, "ord"),
                                                "S"));

        if (ord == NULL || strlen(ord) != SPECTRA_JOB_CURSOR_LEN) {
            return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                                   "job store: malformed LastEvaluatedKey");
        }

        memcpy(list->next_cursor, ord, SPECTRA_JOB_CURSOR_LEN + 1);
    }

    return SPECTRA_JOB_OK;
}


static int
spectra_ddb_owner_ok(const spectra_job_t *job,
    const spectra_job_owner_t *owner)
{
    if (job->tenant_id.len != owner->tenant_id.len
        || memcmp(job->tenant_id.data, owner->tenant_id.data,
                  owner->tenant_id.len) != 0)
    {
        return 0;
    }

    if (owner->db_user.data == NULL || job->db_user.data == NULL) {
        return owner->db_user.data == job->db_user.data;
    }

    return job->db_user.len == owner->db_user.len
           && memcmp(job->db_user.data, owner->db_user.data,
                     owner->db_user.len) == 0;
}


/* TTL deletes late: an item past its "expires" is gone already */

static int
spectra_ddb_expired(const spectra_job_t *job, json_t *item, int64_t now)
{
    int64_t  expires;

    if (spectra_ddb_attr_int(item, "expires", &expires) != 0) {
        return 0;
    }

    return expires * 1000 <= now;
}


/* N attribute; -1 when absent or malformed */

static int
spectra_ddb_attr_int(json_t *item, const char *name, int64_t *v)
{
    char        *end;
    json_t      *a;
    const char  *s;
    long long    n;

    a = json_object_get(item, name);
    if (a == NULL) {
        return -1;
    }

    s = json_string_value(json_object_get(a, "N"));
    if (s == NULL || *s == '\0' || strlen(s) > 20) {
        return -1;
    }

    errno = 0;
    n = strtoll(s, &end, 10);

    if (errno != 0 || *end != '\0') {
        return -1;
    }

    *v = n;

    return 0;
}


/* The item as a job, strings in pool; checked as a created job is. */

static int
spectra_ddb_read_item(json_t *item, spectra_job_t *job,
    const spectra_pool_t *pool, spectra_err_t *err)
{
    u_char                     *base;
    size_t                      len;
    json_t                     *a, *s;
    int64_t                     n;
    const char                 *v;
    spectra_str_t              *str;
    const spectra_ddb_field_t  *f;

    if (!json_is_object(item)) {
        goto malformed;
    }

    memset(job, 0, sizeof(spectra_job_t));
    base = (u_char *) job;

    v = json_string_value(json_object_get(json_object_get(item, "id"), "S"));
    if (v == NULL || !spectra_job_id_valid((const u_char *) v, strlen(v))) {
        goto malformed;
    }

    memcpy(job->id, v, SPECTRA_JOB_ID_LEN + 1);

    v = json_string_value(json_object_get(json_object_get(item, "type"),
                                          "S"));
    job->type = (v != NULL) ? spectra_job_type_parse((const u_char *) v,
                                                     strlen(v))
                            : SPECTRA_JOB_TYPE_NONE;

    v = json_string_value(json_object_get(json_object_get(item, "status"),
                                          "S"));
    job->status = (v != NULL) ? spectra_job_status_parse((const u_char *) v,
                                                         strlen(v))
                              : SPECTRA_JOB_STATUS_NONE;

    if (job->type == SPECTRA_JOB_TYPE_NONE
        || job->status == SPECTRA_JOB_STATUS_NONE)
    {
        goto malformed;
    }

    for (f = spectra_ddb_fields; f->name != NULL; f++) {
        a = json_object_get(item, f->name);

        if (f->kind == SPECTRA_DDB_INT) {
            if (a == NULL) {
                *(int64_t *) (base + f->job) = (f->flags & SPECTRA_DDB_UNKNOWN)
                                               ? -1 : 0;
                continue;
            }

            if (spectra_ddb_attr_int(item, f->name, &n) != 0 || n < 0) {
                goto malformed;
            }

            *(int64_t *) (base + f->job) = n;
            continue;
        }

        str = (spectra_str_t *) (base + f->job);

        if (a == NULL) {
            str->data = NULL;
            str->len = 0;
            continue;
        }

        s = json_object_get(a, "S");
        if (!json_is_string(s) || json_object_size(a) != 1) {
            goto malformed;
        }

        len = json_string_length(s);
        str->data = spectra_pstrdup(pool, (const u_char *)
                                    json_string_value(s), len);
        str->len = len;

        if (str->data == NULL) {
            return spectra_err_set(err, SPECTRA_JOB_NOMEM, SPECTRA_POS_NONE,
                                   "job store: no memory");
        }
    }

    if (job->created_at <= 0
        || spectra_job_check(job, err) != SPECTRA_JOB_OK)
    {
        goto malformed;
    }

    return SPECTRA_JOB_OK;

malformed:

    return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                           "job store: a malformed job item");
}


int
spectra_ddb_item_job(const u_char *json, size_t len, spectra_job_t *job,
    const spectra_pool_t *pool, spectra_err_t *err)
{
    int            rc;
    json_t        *item;
    json_error_t   jerr;

    item = json_loadb((const char *) json, len, JSON_REJECT_DUPLICATES,
                      &jerr);
    if (item == NULL) {
        return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                               "job store: not JSON");
    }

    rc = spectra_ddb_read_item(item, job, pool, err);
    json_decref(item);

    return rc;
}


int
spectra_ddb_apply(spectra_job_t *job, const spectra_job_update_t *upd,
    int64_t now, const spectra_pool_t *pool, spectra_err_t *err)
{
    u_char                     *jb;
    const u_char               *ub;
    int64_t                     n;
    spectra_str_t               s, *dst;
    spectra_job_t               out;
    spectra_job_status_e        status;
    const spectra_ddb_field_t  *f;

    status = upd->status;

    if ((upd->from != 0 && !(upd->from & SPECTRA_JOB_MASK(job->status)))
        || (status != SPECTRA_JOB_STATUS_NONE && status != job->status
            && spectra_job_status_final(job->status))
        || (upd->from_phase.data != NULL
            && (job->phase.data == NULL
                || job->phase.len != upd->from_phase.len
                || memcmp(job->phase.data, upd->from_phase.data,
                          job->phase.len) != 0)))
    {
        return spectra_err_set(err, SPECTRA_JOB_CONFLICT, SPECTRA_POS_NONE,
                               "job is %s",
                               spectra_job_status_name(job->status));
    }

    out = *job;
    jb = (u_char *) &out;
    ub = (const u_char *) upd;

    for (f = spectra_ddb_fields; f->name != NULL; f++) {
        if (f->upd == SPECTRA_DDB_NONE) {
            continue;
        }

        if (f->kind == SPECTRA_DDB_STR) {
            s = *(const spectra_str_t *) (ub + f->upd);

            if (s.data == NULL) {
                continue;
            }

            if (f->flags & SPECTRA_DDB_CUT) {
                s.len = spectra_job_utf8_cut(s.data, s.len,
                                             SPECTRA_JOB_ERROR_MESSAGE_MAX);
            }

            dst = (spectra_str_t *) (jb + f->job);

            if (spectra_ddb_strdup(pool, dst, &s) != 0) {
                return spectra_err_set(err, SPECTRA_JOB_NOMEM,
                                       SPECTRA_POS_NONE,
                                       "job store: no memory");
            }

            continue;
        }

        n = *(const int64_t *) (ub + f->upd);

        if ((f->flags & SPECTRA_DDB_SET_POS) ? n > 0 : n >= 0) {
            *(int64_t *) (jb + f->job) = n;
        }
    }

    if (upd->started_at > 0) {
        out.started_at = upd->started_at;

    } else if (out.started_at == 0
               && (status == SPECTRA_JOB_RUNNING
                   || (spectra_job_status_final(status)
                       && status != SPECTRA_JOB_CANCELLED)))
    {
        out.started_at = now;
    }

    if (upd->finished_at > 0) {
        out.finished_at = upd->finished_at;

    } else if (out.finished_at == 0 && spectra_job_status_final(status)) {
        out.finished_at = now;
    }

    if (status != SPECTRA_JOB_STATUS_NONE) {
        out.status = status;
    }

    out.updated_at = now;
    *job = out;

    return SPECTRA_JOB_OK;
}
