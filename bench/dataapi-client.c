/*
 * Benchmark client of bench/dataapi.sh: N threads, each looping
 * ExecuteStatement -> DescribeStatement (WaitTimeSeconds long poll, so one
 * call) -> GetStatementResult (every page, following NextToken) for D
 * seconds over a keep-alive connection, signing every call with
 * spectra_sigv4. Prints round trips per second.
 *
 *   dataapi-client PORT AKID SECRET CLIENTS SECONDS EXPECTED_ROWS SQL
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "spectra_sigv4.h"


typedef struct {
    char    *data;
    size_t   len;
} bc_buf_t;


typedef struct {
    pthread_t    thread;
    long         trips;
    long         errors;
} bc_worker_t;


static int            bc_port;
static const char    *bc_akid, *bc_secret, *bc_sql;
static long           bc_rows;
static double         bc_until;


static size_t bc_write(char *p, size_t size, size_t n, void *arg);
static double bc_now(void);
static json_t *bc_call(CURL *curl, const char *op, json_t *body);
static int bc_trip(CURL *curl);
static void *bc_main(void *arg);


static size_t
bc_write(char *p, size_t size, size_t n, void *arg)
{
    bc_buf_t  *b = arg;
    char      *d;

    d = realloc(b->data, b->len + size * n + 1);
    if (d == NULL) {
        return 0;
    }

    memcpy(d + b->len, p, size * n);
    b->data = d;
    b->len += size * n;
    b->data[b->len] = '\0';

    return size * n;
}


static double
bc_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


/*
 * One signed AWS JSON 1.1 call (takes body over); returns the decoded
 * 200 body or NULL.
 */
static json_t *
bc_call(CURL *curl, const char *op, json_t *body)
{
    spectra_sigv4_credentials_t  cred;
    spectra_sigv4_json_t         in;
    struct curl_slist           *h;
    bc_buf_t                     out;
    char                         url[64], host[64], target[96], hdr[640];
    u_char                       auth[512], date[17];
    char                        *text;
    size_t                       len;
    long                         status;
    json_t                      *res;

    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);

    if (text == NULL) {
        return NULL;
    }
    snprintf(host, sizeof(host), "127.0.0.1:%d", bc_port);
    snprintf(url, sizeof(url), "http://%s/", host);
    snprintf(target, sizeof(target), "RedshiftData.%s", op);

    memset(&cred, 0, sizeof(cred));
    cred.access_key.data = (u_char *) bc_akid;
    cred.access_key.len = strlen(bc_akid);
    cred.secret_key.data = (u_char *) bc_secret;
    cred.secret_key.len = strlen(bc_secret);
    cred.region.data = (u_char *) "us-east-1";
    cred.region.len = 9;
    cred.service.data = (u_char *) "redshift-data";
    cred.service.len = 13;

    memset(&in, 0, sizeof(in));
    in.host.data = (u_char *) host;
    in.host.len = strlen(host);
    in.target.data = (u_char *) target;
    in.target.len = strlen(target);
    in.body.data = (u_char *) text;
    in.body.len = strlen(text);
    in.now = time(NULL);

    if (spectra_sigv4_sign_json(&in, &cred, date, auth, sizeof(auth), &len)
        != SPECTRA_SIGV4_OK)
    {
        free(text);
        return NULL;
    }

    date[16] = '\0';
    h = curl_slist_append(NULL, "Content-Type: application/x-amz-json-1.1");
    snprintf(hdr, sizeof(hdr), "X-Amz-Target: %s", target);
    h = curl_slist_append(h, hdr);
    snprintf(hdr, sizeof(hdr), "X-Amz-Date: %s", (char *) date);
    h = curl_slist_append(h, hdr);
    snprintf(hdr, sizeof(hdr), "Authorization: %s", (char *) auth);
    h = curl_slist_append(h, hdr);
    h = curl_slist_append(h, "Expect:");

    out.data = NULL;
    out.len = 0;

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, bc_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);

    res = NULL;

    if (curl_easy_perform(curl) == CURLE_OK
        && curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status)
           == CURLE_OK
        && status == 200 && out.data != NULL)
    {
        res = json_loads(out.data, 0, NULL);

    } else if (out.data != NULL) {
        fprintf(stderr, "%s: %s\n", op, out.data);
    }

    curl_slist_free_all(h);
    free(out.data);
    free(text);

    return res;
}


static int
bc_trip(CURL *curl)
{
    json_t  *r, *d, *g;
    char     id[64], *token;
    long     rows;
    int      ok;

    r = bc_call(curl, "ExecuteStatement",
                json_pack("{s:s, s:s, s:s, s:s}", "Sql", bc_sql,
                          "Database", "warehouse", "ClusterIdentifier",
                          "bench", "DbUser", "tenant_acme"));
    if (r == NULL) {
        return -1;
    }

    snprintf(id, sizeof(id), "%s",
             json_string_value(json_object_get(r, "Id")));
    json_decref(r);

    d = bc_call(curl, "DescribeStatement",
                json_pack("{s:s, s:i}", "Id", id, "WaitTimeSeconds", 30));
    ok = d != NULL && strcmp(json_string_value(json_object_get(d, "Status")),
                             "FINISHED") == 0;
    json_decref(d);

    if (!ok) {
        return -1;
    }

    /* every page, following NextToken */
    rows = 0;
    token = NULL;

    for ( ;; ) {
        g = bc_call(curl, "GetStatementResult",
                    token != NULL
                    ? json_pack("{s:s, s:s}", "Id", id, "NextToken", token)
                    : json_pack("{s:s}", "Id", id));
        free(token);
        token = NULL;

        if (g == NULL) {
            return -1;
        }

        rows += (long) json_array_size(json_object_get(g, "Records"));

        if (json_is_string(json_object_get(g, "NextToken"))) {
            token = strdup(json_string_value(json_object_get(g,
                                                             "NextToken")));
        }

        json_decref(g);

        if (token == NULL) {
            break;
        }
    }

    return rows == bc_rows ? 0 : -1;
}


static void *
bc_main(void *arg)
{
    bc_worker_t  *w = arg;
    CURL         *curl;

    curl = curl_easy_init();

    while (bc_now() < bc_until) {
        if (bc_trip(curl) == 0) {
            w->trips++;

        } else {
            w->errors++;
        }
    }

    curl_easy_cleanup(curl);

    return NULL;
}


int
main(int argc, char **argv)
{
    bc_worker_t  *w;
    int           clients, seconds, i;
    long          trips, errors;
    double        start, elapsed;

    if (argc != 8) {
        fprintf(stderr, "usage: dataapi-client PORT AKID SECRET CLIENTS "
                "SECONDS EXPECTED_ROWS SQL\n");
        return 2;
    }

    bc_port = atoi(argv[1]);
    bc_akid = argv[2];
    bc_secret = argv[3];
    clients = atoi(argv[4]);
    seconds = atoi(argv[5]);
    bc_rows = atol(argv[6]);
    bc_sql = argv[7];

    curl_global_init(CURL_GLOBAL_DEFAULT);

    w = calloc((size_t) clients, sizeof(bc_worker_t));
    start = bc_now();
    bc_until = start + seconds;

    for (i = 0; i < clients; i++) {
        pthread_create(&w[i].thread, NULL, bc_main, &w[i]);
    }

    trips = 0;
    errors = 0;

    for (i = 0; i < clients; i++) {
        pthread_join(w[i].thread, NULL);
        trips += w[i].trips;
        errors += w[i].errors;
    }

    elapsed = bc_now() - start;
    printf("%.1f %ld %ld\n", (double) trips / elapsed, trips, errors);

    free(w);
    curl_global_cleanup();

    return errors == 0 ? 0 : 1;
}
