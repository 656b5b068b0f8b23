/*
 * Unit tests of src/spectra_claims.c: JWT claims to the tenant context,
 * with configured claim names, the db_user default and hostile claims.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_claims.h"
#include "spectra_tenant.h"


static void *t_alloc(void *pool, size_t size);
static int t_claims(const char *payload);
static Suite *claims_suite(void);


static void                   *t_last;
static json_t                 *t_payload;
static spectra_claims_t        claims;
static const char             *reason;
static spectra_claims_names_t  names = {
    "tenant_id", "db_user", "db_group", "permissions",
    spectra_string("tenant_")
};


static void *
t_alloc(void *pool, size_t size)
{
    free(t_last);
    t_last = malloc(size);

    return t_last;
}


static int
t_claims(const char *payload)
{
    json_error_t    jerr;
    spectra_pool_t  pool = { t_alloc, NULL };

    json_decref(t_payload);
    t_payload = json_loads(payload, JSON_ALLOW_NUL, &jerr);
    ck_assert_ptr_nonnull(t_payload);

    reason = NULL;

    return spectra_claims_tenant(t_payload, &names, &pool, &claims, &reason);
}


#define t_str_eq(s, want)                                                     \
    do {                                                                      \
        ck_assert_uint_eq((s).len, strlen(want));                             \
        ck_assert_int_eq(memcmp((s).data, want, (s).len), 0);                 \
    } while (0)


START_TEST(test_full)
{
    ck_assert_int_eq(t_claims("{\"tenant_id\": \"acme\", \"db_user\": "
                              "\"acme_ro\", \"db_group\": \"analysts\", "
                              "\"permissions\": \"query openid bulk\"}"),
                     SPECTRA_CLAIMS_OK);
    t_str_eq(claims.tenant_id, "acme");
    t_str_eq(claims.db_user, "acme_ro");
    t_str_eq(claims.db_group, "analysts");
    ck_assert_uint_eq(claims.permissions, SPECTRA_PERM_QUERY|SPECTRA_PERM_BULK);
}
END_TEST


START_TEST(test_defaults)
{
    ck_assert_int_eq(t_claims("{\"tenant_id\": \"initech\"}"),
                     SPECTRA_CLAIMS_OK);
    t_str_eq(claims.db_user, "tenant_initech");
    ck_assert_ptr_null(claims.db_group.data);
    ck_assert_uint_eq(claims.permissions, 0);

    ck_assert_int_eq(t_claims("{\"tenant_id\": \"a\", \"permissions\": "
                              "[\"admin\", \"x\", \"query\"]}"),
                     SPECTRA_CLAIMS_OK);
    ck_assert_uint_eq(claims.permissions,
                      SPECTRA_PERM_ADMIN|SPECTRA_PERM_QUERY);
}
END_TEST


START_TEST(test_names)
{
    spectra_claims_names_t  saved = names;

    names.tenant_id = "org";
    names.permissions = "scope";
    names.db_user_prefix = (spectra_str_t) spectra_string("t_");

    ck_assert_int_eq(t_claims("{\"org\": \"globex\", \"scope\": \"bulk\", "
                              "\"tenant_id\": \"acme\"}"),
                     SPECTRA_CLAIMS_OK);
    t_str_eq(claims.tenant_id, "globex");
    t_str_eq(claims.db_user, "t_globex");
    ck_assert_uint_eq(claims.permissions, SPECTRA_PERM_BULK);

    names = saved;
}
END_TEST


START_TEST(test_refused)
{
    ck_assert_int_eq(t_claims("{\"sub\": \"acme\"}"), SPECTRA_CLAIMS_REFUSED);
    ck_assert_str_eq(reason, "no tenant id claim");
    ck_assert_int_eq(t_claims("{\"tenant_id\": 7}"), SPECTRA_CLAIMS_REFUSED);
    ck_assert_str_eq(reason, "no tenant id claim");
    ck_assert_int_eq(t_claims("{\"tenant_id\": \"Acme\"}"),
                     SPECTRA_CLAIMS_REFUSED);
    ck_assert_str_eq(reason, "tenant id is not an identifier");
    ck_assert_int_eq(t_claims("{\"tenant_id\": \"a\\u0000b\"}"),
                     SPECTRA_CLAIMS_REFUSED);
    ck_assert_int_eq(t_claims("{\"tenant_id\": \"acme\", \"db_user\": "
                              "\"Admin\\\"; --\"}"),
                     SPECTRA_CLAIMS_REFUSED);
    ck_assert_str_eq(reason, "db_user or db_group is not a role name");
    ck_assert_int_eq(t_claims("{\"tenant_id\": \"acme\", \"db_group\": "
                              "[\"x\"]}"),
                     SPECTRA_CLAIMS_REFUSED);
    ck_assert_int_eq(t_claims("{\"tenant_id\": \"acme\", \"permissions\": "
                              "{\"query\": 1}}"),
                     SPECTRA_CLAIMS_REFUSED);
    ck_assert_str_eq(reason, "permissions claim malformed");
    ck_assert_int_eq(t_claims("{\"tenant_id\": \"acme\", \"permissions\": "
                              "[\"query\", 1]}"),
                     SPECTRA_CLAIMS_REFUSED);

    /* 60 bytes of tenant and the prefix: no role name */
    ck_assert_int_eq(t_claims("{\"tenant_id\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"),
                     SPECTRA_CLAIMS_REFUSED);
    ck_assert_str_eq(reason, "the derived db_user is not a role name");
}
END_TEST


START_TEST(test_value)
{
    u_char         buf[SPECTRA_CLAIMS_NUMBER_LEN];
    spectra_str_t  v;

    ck_assert_int_eq(t_claims("{\"tenant_id\": \"acme\", \"tier\": \"gold\", "
                              "\"n\": -9223372036854775807, \"b\": false, "
                              "\"f\": 1.5, \"o\": {}, \"exp\": 1700000000}"),
                     SPECTRA_CLAIMS_OK);

    ck_assert_int_eq(spectra_claims_value(t_payload, (u_char *) "tierX", 4,
                                          buf, &v), 0);
    t_str_eq(v, "gold");
    ck_assert_int_eq(spectra_claims_value(t_payload, (u_char *) "n", 1,
                                          buf, &v), 0);
    t_str_eq(v, "-9223372036854775807");
    ck_assert_ptr_eq(v.data, buf);
    ck_assert_int_eq(spectra_claims_value(t_payload, (u_char *) "b", 1,
                                          buf, &v), 0);
    t_str_eq(v, "false");
    ck_assert_int_eq(spectra_claims_value(t_payload, (u_char *) "f", 1,
                                          buf, &v), -1);
    ck_assert_int_eq(spectra_claims_value(t_payload, (u_char *) "o", 1,
                                          buf, &v), -1);
    ck_assert_int_eq(spectra_claims_value(t_payload, (u_char *) "none", 4,
                                          buf, &v), -1);
    ck_assert(spectra_claims_expires(t_payload) == 1700000000.0);
}
END_TEST


static Suite *
claims_suite(void)
{
    TCase  *tc;
    Suite  *s;

    s = suite_create("claims");
    tc = tcase_create("core");

    tcase_add_test(tc, test_full);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_value);

    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(claims_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    json_decref(t_payload);
    free(t_last);

    return failed == 0 ? 0 : 1;
}
