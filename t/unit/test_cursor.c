/*
 * Unit tests of src/spectra_cursor.c: results cursors sealed, opened,
 * bound to their job, tenant and user, and refused when changed.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_cursor.h"


#define T_MAX_ALLOCS  1024


static void *t_alloc(void *pool, size_t size);
static void t_setup(void);
static void t_teardown(void);
static void t_bind3(spectra_str_t *b, const char *job, const char *tenant,
    const char *user);
static size_t t_seal(u_char *dst, const spectra_cursor_t *c);
static int t_open(const u_char *src, size_t len, spectra_cursor_t *c);
Suite *cursor_suite(void);


static void          *allocs[T_MAX_ALLOCS];
static size_t         nallocs;
static int            alloc_fail;
static spectra_pool_t tpool = { t_alloc, NULL };
static u_char         key[SPECTRA_CURSOR_KEY_LEN];
static spectra_str_t  bind[3];
static spectra_err_t  err;


static void *
t_alloc(void *pool, size_t size)
{
    if (alloc_fail || nallocs == T_MAX_ALLOCS) {
        return NULL;
    }

    allocs[nallocs] = malloc(size);
    return allocs[nallocs++];
}


static void
t_setup(void)
{
    nallocs = 0;
    alloc_fail = 0;
    memset(&err, 0, sizeof(err));

    ck_assert_int_eq(spectra_cursor_key(key, (const u_char *) "secret", 6),
                     SPECTRA_CURSOR_OK);

    t_bind3(bind, "job_0abc", "acme", "tenant_acme");
}


static void
t_teardown(void)
{
    size_t  i;

    for (i = 0; i < nallocs; i++) {
        free(allocs[i]);
    }
}


static void
t_bind3(spectra_str_t *b, const char *job, const char *tenant,
    const char *user)
{
    b[0].data = (u_char *) job;
    b[0].len = strlen(job);
    b[1].data = (u_char *) tenant;
    b[1].len = strlen(tenant);
    b[2].data = (u_char *) user;
    b[2].len = strlen(user);
}


static size_t
t_seal(u_char *dst, const spectra_cursor_t *c)
{
    size_t  len;

    len = 0;
    ck_assert_int_eq(spectra_cursor_seal(dst, &len, key, bind, 3, c, &err),
                     SPECTRA_CURSOR_OK);
    ck_assert_uint_eq(len, spectra_cursor_len(c->token.len));

    return len;
}


static int
t_open(const u_char *src, size_t len, spectra_cursor_t *c)
{
    return spectra_cursor_open(src, len, key, bind, 3, &tpool, c, &err);
}


START_TEST(test_round_trip)
{
    size_t            i, len;
    u_char            text[SPECTRA_CURSOR_MAX_LEN];
    spectra_cursor_t  c, o;

    c.offset = 123456789012345ULL;
    c.skip = 17;
    c.token.data = (u_char *) "c3RtdC0xOjEwMDA=";
    c.token.len = strlen((char *) c.token.data);

    len = t_seal(text, &c);

    /* base64url, nothing a query string would have to escape */
    for (i = 0; i < len; i++) {
        ck_assert_msg(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
                             "uvwxyz0123456789-_", text[i]) != NULL,
                      "byte %zu is %c", i, text[i]);
    }

    ck_assert_int_eq(t_open(text, len, &o), SPECTRA_CURSOR_OK);
    ck_assert_uint_eq(o.offset, c.offset);
    ck_assert_uint_eq(o.skip, 17);
    ck_assert_uint_eq(o.token.len, c.token.len);
    ck_assert_str_eq((char *) o.token.data, "c3RtdC0xOjEwMDA=");

    /* the NextToken does not show through */
    ck_assert_ptr_null(memmem(text, len, "c3RtdC0x", 8));
}
END_TEST


START_TEST(test_first_page_and_limits)
{
    size_t            len;
    u_char            text[SPECTRA_CURSOR_MAX_LEN + 1];
    u_char           *big;
    spectra_cursor_t  c, o;

    /* no token: the result's first page */
    memset(&c, 0, sizeof(c));
    c.offset = 5;
    c.skip = 5;

    len = t_seal(text, &c);
    ck_assert_int_eq(t_open(text, len, &o), SPECTRA_CURSOR_OK);
    ck_assert_uint_eq(o.token.len, 0);
    ck_assert_uint_eq(o.offset, 5);
    ck_assert_uint_eq(o.skip, 5);

    /* the longest token */
    big = malloc(SPECTRA_CURSOR_TOKEN_MAX + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', SPECTRA_CURSOR_TOKEN_MAX + 1);

    c.token.data = big;
    c.token.len = SPECTRA_CURSOR_TOKEN_MAX;

    len = t_seal(text, &c);
    ck_assert_uint_eq(len, SPECTRA_CURSOR_MAX_LEN);
    ck_assert_int_eq(t_open(text, len, &o), SPECTRA_CURSOR_OK);
    ck_assert_uint_eq(o.token.len, SPECTRA_CURSOR_TOKEN_MAX);

    /* one byte more is refused with a message, and nothing written */
    c.token.len++;
    ck_assert_int_eq(spectra_cursor_seal(text, &len, key, bind, 3, &c, &err),
                     SPECTRA_CURSOR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "4097 bytes"));

    free(big);

    /* more skipped than lies before: not a position */
    memset(&c, 0, sizeof(c));
    c.offset = 3;
    c.skip = 4;
    ck_assert_int_eq(spectra_cursor_seal(text, &len, key, bind, 3, &c, &err),
                     SPECTRA_CURSOR_INVALID);
}
END_TEST


START_TEST(test_fresh_nonce)
{
    size_t            l1, l2;
    u_char            a[SPECTRA_CURSOR_MAX_LEN], b[SPECTRA_CURSOR_MAX_LEN];
    spectra_cursor_t  c;

    memset(&c, 0, sizeof(c));
    c.offset = 1000;

    l1 = t_seal(a, &c);
    l2 = t_seal(b, &c);

    ck_assert_uint_eq(l1, l2);
    ck_assert_int_ne(memcmp(a, b, l1), 0);
}
END_TEST


/* another job, tenant, user, key: the same answer as a forged one */

START_TEST(test_bound)
{
    size_t            len;
    u_char            text[SPECTRA_CURSOR_MAX_LEN];
    u_char            other[SPECTRA_CURSOR_KEY_LEN];
    spectra_str_t     b[3];
    spectra_cursor_t  c, o;

    c.offset = 2000;
    c.skip = 0;
    c.token.data = (u_char *) "tok";
    c.token.len = 3;

    len = t_seal(text, &c);

    t_bind3(b, "job_0abd", "acme", "tenant_acme");
    ck_assert_int_eq(spectra_cursor_open(text, len, key, b, 3, &tpool, &o,
                                         &err), SPECTRA_CURSOR_INVALID);
    ck_assert_str_eq(err.message, "invalid cursor");
    ck_assert_uint_eq(o.offset, 0);
    ck_assert_ptr_null(o.token.data);

    t_bind3(b, "job_0abc", "globex", "tenant_acme");
    ck_assert_int_eq(spectra_cursor_open(text, len, key, b, 3, &tpool, &o,
                                         &err), SPECTRA_CURSOR_INVALID);

    t_bind3(b, "job_0abc", "acme", "tenant_acme_ro");
    ck_assert_int_eq(spectra_cursor_open(text, len, key, b, 3, &tpool, &o,
                                         &err), SPECTRA_CURSOR_INVALID);

    /* the same bytes split otherwise */
    t_bind3(b, "job_0abcacme", "", "tenant_acme");
    ck_assert_int_eq(spectra_cursor_open(text, len, key, b, 3, &tpool, &o,
                                         &err), SPECTRA_CURSOR_INVALID);

    /* fewer strings */
    ck_assert_int_eq(spectra_cursor_open(text, len, key, bind, 2, &tpool, &o,
                                         &err), SPECTRA_CURSOR_INVALID);

    ck_assert_int_eq(spectra_cursor_key(other, (const u_char *) "secreT", 6),
                     SPECTRA_CURSOR_OK);
    ck_assert_int_eq(spectra_cursor_open(text, len, other, bind, 3, &tpool,
                                         &o, &err), SPECTRA_CURSOR_INVALID);

    /* and with all of them right, it opens */
    ck_assert_int_eq(t_open(text, len, &o), SPECTRA_CURSOR_OK);
    ck_assert_uint_eq(o.offset, 2000);
}
END_TEST


/* every character changed to every other base64url character fails */

START_TEST(test_tampered)
{
    size_t            i, j, len;
    u_char            text[SPECTRA_CURSOR_MAX_LEN];
    u_char            copy[SPECTRA_CURSOR_MAX_LEN];
    spectra_cursor_t  c, o;
    const char       *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                              "vwxyz0123456789-_";

    c.offset = 7;
    c.skip = 2;
    c.token.data = (u_char *) "next-page";
    c.token.len = 9;

    len = t_seal(text, &c);

    for (i = 0; i < len; i++) {
        for (j = 0; alpha[j]; j++) {
            if ((u_char) alpha[j] == text[i]) {
                continue;
            }

            memcpy(copy, text, len);
            copy[i] = (u_char) alpha[j];

            ck_assert_msg(t_open(copy, len, &o) == SPECTRA_CURSOR_INVALID,
                          "byte %zu changed to %c opened", i, alpha[j]);
        }
    }

    /* cut, extended, not base64url, empty */
    for (i = 0; i < len; i++) {
        ck_assert_int_eq(t_open(text, i, &o), SPECTRA_CURSOR_INVALID);
    }

    memcpy(copy, text, len);
    copy[len] = 'A';
    ck_assert_int_eq(t_open(copy, len + 1, &o), SPECTRA_CURSOR_INVALID);

    memcpy(copy, text, len);
    copy[len / 2] = '=';
    ck_assert_int_eq(t_open(copy, len, &o), SPECTRA_CURSOR_INVALID);
    copy[len / 2] = '+';
    ck_assert_int_eq(t_open(copy, len, &o), SPECTRA_CURSOR_INVALID);
    copy[len / 2] = '\0';
    ck_assert_int_eq(t_open(copy, len, &o), SPECTRA_CURSOR_INVALID);

    ck_assert_int_eq(t_open((const u_char *) "", 0, &o),
                     SPECTRA_CURSOR_INVALID);

    /* a jobs list cursor is not a results cursor */
    ck_assert_int_eq(t_open((const u_char *)
                            "0000019a2b3c4d5e7zzzzzzzzzzzzzzzzzzzzzzzzz", 42,
                            &o), SPECTRA_CURSOR_INVALID);

    /* and the original still opens */
    ck_assert_int_eq(t_open(text, len, &o), SPECTRA_CURSOR_OK);
    ck_assert_str_eq((char *) o.token.data, "next-page");
}
END_TEST


START_TEST(test_too_long_input)
{
    u_char            *text;
    spectra_cursor_t   o;

    text = malloc(SPECTRA_CURSOR_MAX_LEN * 2);
    ck_assert_ptr_nonnull(text);
    memset(text, 'A', SPECTRA_CURSOR_MAX_LEN * 2);

    ck_assert_int_eq(t_open(text, SPECTRA_CURSOR_MAX_LEN + 1, &o),
                     SPECTRA_CURSOR_INVALID);
    ck_assert_int_eq(t_open(text, SPECTRA_CURSOR_MAX_LEN * 2, &o),
                     SPECTRA_CURSOR_INVALID);

    /* all zero bytes: version 0 is not one */
    ck_assert_int_eq(t_open(text, SPECTRA_CURSOR_MAX_LEN - 2, &o),
                     SPECTRA_CURSOR_INVALID);

    free(text);
}
END_TEST


START_TEST(test_no_memory)
{
    size_t            len;
    u_char            text[SPECTRA_CURSOR_MAX_LEN];
    spectra_cursor_t  c, o;

    memset(&c, 0, sizeof(c));
    c.token.data = (u_char *) "t";
    c.token.len = 1;

    len = t_seal(text, &c);

    alloc_fail = 1;
    ck_assert_int_eq(t_open(text, len, &o), SPECTRA_CURSOR_ERROR);
    ck_assert_ptr_null(o.token.data);
}
END_TEST


START_TEST(test_key_derivation)
{
    u_char  a[SPECTRA_CURSOR_KEY_LEN], b[SPECTRA_CURSOR_KEY_LEN];

    ck_assert_int_eq(spectra_cursor_key(a, (const u_char *) "k1", 2),
                     SPECTRA_CURSOR_OK);
    ck_assert_int_eq(spectra_cursor_key(b, (const u_char *) "k1", 2),
                     SPECTRA_CURSOR_OK);
    ck_assert_int_eq(memcmp(a, b, sizeof(a)), 0);

    ck_assert_int_eq(spectra_cursor_key(b, (const u_char *) "k2", 2),
                     SPECTRA_CURSOR_OK);
    ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);

    /* not the material itself */
    ck_assert_int_ne(memcmp(a, "k1", 2), 0);
}
END_TEST


Suite *
cursor_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("cursor");
    tc = tcase_create("cursor");
    tcase_add_checked_fixture(tc, t_setup, t_teardown);
    suite_add_tcase(s, tc);

    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_first_page_and_limits);
    tcase_add_test(tc, test_fresh_nonce);
    tcase_add_test(tc, test_bound);
    tcase_add_test(tc, test_tampered);
    tcase_add_test(tc, test_too_long_input);
    tcase_add_test(tc, test_no_memory);
    tcase_add_test(tc, test_key_derivation);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(cursor_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
