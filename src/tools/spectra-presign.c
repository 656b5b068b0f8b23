/*
 * spectra-presign: prints the presigned URL of one S3 object as the module
 * makes it (spectra_s3_presign_url), for S3, any S3-compatible store, or
 * the local store of "spectra_object_store".  The secret comes from the
 * environment only, never from the command line (which ps shows).
 *
 *   SPECTRA_PRESIGN_SECRET=... spectra-presign --endpoint URL
 *       --bucket B --key K --access-key ID [--region R] [--method GET]
 *       [--expires SECONDS] [--virtual-hosted] [--now YYYYMMDDTHHMMSSZ]
 *   (SPECTRA_PRESIGN_TOKEN: a session token)
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spectra_s3.h"


static void usage(FILE *out);
static void str_set(spectra_str_t *s, const char *p);


static void
usage(FILE *out)
{
    fprintf(out,
            "usage: SPECTRA_PRESIGN_SECRET=... spectra-presign "
            "--endpoint URL --bucket B\n"
            "           --key K --access-key ID [--region us-east-1] "
            "[--method GET]\n"
            "           [--expires 3600] [--virtual-hosted] "
            "[--now YYYYMMDDTHHMMSSZ]\n"
            "SPECTRA_PRESIGN_TOKEN: the session token of temporary "
            "credentials.\n");
}


static void
str_set(spectra_str_t *s, const char *p)
{
    s->data = (u_char *) p;
    s->len = p != NULL ? strlen(p) : 0;
}


int
main(int argc, char **argv)
{
    int                           c;
    char                         *end, *url;
    const char                   *endpoint, *now;
    size_t                        size, len;
    unsigned long                 expires;
    spectra_err_t                 err;
    spectra_s3_object_t           obj;
    spectra_s3_endpoint_t         ep;
    spectra_sigv4_credentials_t   cred;

    static const struct option  options[] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "bucket", required_argument, NULL, 'b' },
        { "key", required_argument, NULL, 'k' },
        { "access-key", required_argument, NULL, 'a' },
        { "region", required_argument, NULL, 'r' },
        { "method", required_argument, NULL, 'm' },
        { "expires", required_argument, NULL, 'x' },
        { "virtual-hosted", no_argument, NULL, 'v' },
        { "now", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    memset(&obj, 0, sizeof(obj));
    memset(&cred, 0, sizeof(cred));

    endpoint = NULL;
    now = NULL;
    obj.path_style = 1;
    obj.expires = 3600;
    str_set(&obj.method, "GET");
    str_set(&cred.region, "us-east-1");

    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'e':
            endpoint = optarg;
            break;
        case 'b':
            str_set(&obj.bucket, optarg);
            break;
        case 'k':
            str_set(&obj.key, optarg);
            break;
        case 'a':
            str_set(&cred.access_key, optarg);
            break;
        case 'r':
            str_set(&cred.region, optarg);
            break;
        case 'm':
            str_set(&obj.method, optarg);
            break;
        case 'x':
            expires = strtoul(optarg, &end, 10);
            if (*end != '\0' || end == optarg || expires == 0
                || expires > SPECTRA_SIGV4_MAX_EXPIRES)
            {
                fprintf(stderr, "spectra-presign: --expires is 1 to %d "
                        "seconds\n", SPECTRA_SIGV4_MAX_EXPIRES);
                return 2;
            }

            obj.expires = (unsigned) expires;
            break;
        case 'v':
            obj.path_style = 0;
            break;
        case 'n':
            now = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }

    str_set(&cred.secret_key, getenv("SPECTRA_PRESIGN_SECRET"));
    str_set(&cred.session_token, getenv("SPECTRA_PRESIGN_TOKEN"));
    str_set(&cred.service, "s3");

    if (optind != argc || endpoint == NULL || obj.bucket.len == 0
        || obj.key.data == NULL || cred.access_key.len == 0
        || cred.secret_key.len == 0)
    {
        usage(stderr);
        return 2;
    }

    if (spectra_s3_endpoint_parse((const u_char *) endpoint,
                                  strlen(endpoint), &ep, &err)
        != SPECTRA_S3_OK)
    {
        fprintf(stderr, "spectra-presign: %s\n", err.message);
        return 1;
    }

    obj.now = time(NULL);

    if (now != NULL
        && spectra_sigv4_parse_amz_date((const u_char *) now, strlen(now),
                                        &obj.now)
           != SPECTRA_SIGV4_OK)
    {
        fprintf(stderr, "spectra-presign: --now is YYYYMMDDTHHMMSSZ\n");
        return 2;
    }

    size = spectra_s3_presign_size(&ep, &obj, &cred);

    url = malloc(size);
    if (url == NULL) {
        fprintf(stderr, "spectra-presign: out of memory\n");
        return 1;
    }

    if (spectra_s3_presign_url(&ep, &obj, &cred, (u_char *) url, size, &len,
                               &err)
        != SPECTRA_S3_OK)
    {
        fprintf(stderr, "spectra-presign: %s\n", err.message);
        free(url);
        return 1;
    }

    printf("%s\n", url);
    free(url);

    return 0;
}
