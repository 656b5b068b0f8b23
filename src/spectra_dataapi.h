/*
 * The Amazon Redshift Data API as Spectra uses it (AWS JSON 1.1, the
 * redshift-data 2019-12-20 model): request bodies for ExecuteStatement,
 * DescribeStatement, GetStatementResult and CancelStatement, readers of
 * their answers, and the one place where a Data API error is classified.
 *
 * Guarantees: bodies are valid JSON with every string escaped; readers
 * accept exactly the members they need with the types the model gives
 * them and refuse (SPECTRA_DATAAPI_INVALID, with a message) an answer
 * that is not an object or has a member of the wrong type, so that a
 * broken or hostile upstream never yields a half-read statement.
 */

#ifndef SPECTRA_DATAAPI_H
#define SPECTRA_DATAAPI_H

#include "spectra_core.h"
#include "spectra_jobs.h"
#include "spectra_query.h"


#define SPECTRA_DATAAPI_OK          0
#define SPECTRA_DATAAPI_INVALID    -1
#define SPECTRA_DATAAPI_NOMEM      -2

#define SPECTRA_DATAAPI_ID_MAX      128


typedef struct {
    spectra_str_t                 sql;
    spectra_str_t                 database;
    spectra_str_t                 cluster;        /* ClusterIdentifier */
    spectra_str_t                 workgroup;      /* WorkgroupName */
    spectra_str_t                 db_user;        /* DbUser */
    spectra_str_t                 secret_arn;     /* SecretArn, wins */
    spectra_str_t                 session_id;     /* SessionId: all above
                                                     but sql are left out */
    spectra_str_t                 statement_name;
    spectra_str_t                 client_token;
    unsigned                      session_keepalive;  /* s, 0: none */
    unsigned                      wait_seconds;       /* 0: none */
    const spectra_query_param_t  *params;
    size_t                        nparams;
} spectra_dataapi_execute_t;


/* ExecuteStatement */
int spectra_dataapi_execute_body(const spectra_dataapi_execute_t *in,
    const spectra_pool_t *pool, spectra_str_t *body);

/*
 * {"Id": id} with an optional NextToken (GetStatementResult) and
 * WaitTimeSeconds (DescribeStatement's long poll).
 */
int spectra_dataapi_id_body(const spectra_str_t *id,
    const spectra_str_t *next_token, unsigned wait_seconds,
    const spectra_pool_t *pool, spectra_str_t *body);


/* ExecuteStatement's answer */
typedef struct {
    spectra_str_t                 id;
    spectra_str_t                 session_id;     /* when one was made */
} spectra_dataapi_submitted_t;

int spectra_dataapi_read_submitted(const u_char *p, size_t len,
    const spectra_pool_t *pool, spectra_dataapi_submitted_t *out,
    spectra_err_t *err);


/* DescribeStatement's answer */
typedef struct {
    spectra_job_status_e          status;         /* as the job shows it */
    spectra_str_t                 error;          /* Error, when FAILED */
    spectra_str_t                 sqlstate;       /* found in Error */
    int64_t                       result_rows;    /* -1: not given */
    int64_t                       duration_ms;    /* -1: not given */
    unsigned                      has_result:1;
} spectra_dataapi_described_t;

int spectra_dataapi_read_described(const u_char *p, size_t len,
    const spectra_pool_t *pool, spectra_dataapi_described_t *out,
    spectra_err_t *err);


/* What a failed call means for the caller. */
typedef enum {
    SPECTRA_DATAAPI_E_NONE = 0,
    SPECTRA_DATAAPI_E_THROTTLED,    /* ActiveStatementsExceeded, Throttling */
    SPECTRA_DATAAPI_E_NOT_FOUND,    /* ResourceNotFound: statement, result */
    SPECTRA_DATAAPI_E_SESSION,      /* the session is gone, busy or none
                                       may be made: retry without one */
    SPECTRA_DATAAPI_E_FINISHED,     /* Cancel of a statement already done */
    SPECTRA_DATAAPI_E_REFUSED,      /* signature, credentials, access */
    SPECTRA_DATAAPI_E_INVALID,      /* ValidationException and the like */
    SPECTRA_DATAAPI_E_TIMEOUT,      /* nobody answered in time (504) */
    SPECTRA_DATAAPI_E_UNAVAILABLE   /* 5xx, no answer, an answer not JSON */
} spectra_dataapi_error_e;

typedef struct {
    spectra_dataapi_error_e       kind;
    unsigned                      status;         /* HTTP */
    char                          type[64];       /* "ValidationException" */
    char                          message[256];
} spectra_dataapi_error_t;

/*
 * Classifies an answer that is not 200 (status 0: no answer at all).
 * session tells whether the call used or asked for a session: only then
 * is a session complaint E_SESSION.
 */
void spectra_dataapi_classify(unsigned status, const u_char *p, size_t len,
    int session, spectra_dataapi_error_t *e);


/*
 * The SQLSTATE PostgreSQL and Redshift put into an error text, as
 * "(SQLSTATE 42P01)" or "SQLSTATE: 42P01": five characters of 0-9A-Z.
 */
int spectra_dataapi_sqlstate(const u_char *p, size_t len,
    spectra_str_t *sqlstate);

#endif /* SPECTRA_DATAAPI_H */
