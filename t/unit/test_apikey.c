/*
 * Unit tests of src/spectra_apikey.c (key file, verification, minting)
 * and src/spectra_tenant.c (identifiers, permissions).
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_apikey.h"
#include "spectra_tenant.h"


#define SECRET  "s3cr3t-s3cr3t_s3cr3t-0123456789abcdefABCDEF"

/* sha256 of SECRET, see sha_of_secret() */
static char  secret_hash[65];


static void hash_setup(void);


static spectra_apikeys_t *parse(const char *text, spectra_err_t *err);
static spectra_apikey_rc_t check(const spectra_apikeys_t *keys,
    const char *key, const spectra_apikey_t **entry, const char **reason);
static Suite *apikey_suite(void);


static spectra_apikeys_t *
parse(const char *text, spectra_err_t *err)
{
    return spectra_apikeys_parse((const u_char *) text, strlen(text), err);
}


static spectra_apikey_rc_t
check(const spectra_apikeys_t *keys, const char *key,
    const spectra_apikey_t **entry, const char **reason)
{
    return spectra_apikeys_verify(keys, (const u_char *) key, strlen(key),
                                  entry, reason);
}


static void
hash_setup(void)
{
    ck_assert_int_eq(spectra_apikey_hash_hex((const u_char *) SECRET,
                                             strlen(SECRET), secret_hash), 0);
}


START_TEST(test_hash_known)
{
    char  hex[65];

    /* sha256("abc"), FIPS 180-2 */
    ck_assert_int_eq(spectra_apikey_hash_hex((const u_char *) "abc", 3, hex),
                     0);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
                          "b00361a396177a9cb410ff61f20015ad");
}
END_TEST


START_TEST(test_verify)
{
    char                     text[1024];
    const char              *reason;
    spectra_str_t            v;
    spectra_err_t            err;
    spectra_apikeys_t       *keys;
    const spectra_apikey_t  *k;

    snprintf(text, sizeof(text),
             "# demo keys\n"
             "\n"
             "zz9 %s tenant=globex permissions=query\r\n"
             "   a1b2 %s tenant=acme db_user=acme_ro db_group=readers "
             "permissions=query,bulk,admin tier=gold\n"
             "k3 %s tenant=initech", secret_hash, secret_hash, secret_hash);

    keys = parse(text, &err);
    ck_assert_msg(keys != NULL, "%s", err.message);
    ck_assert_uint_eq(spectra_apikeys_count(keys), 3);

    ck_assert_int_eq(check(keys, "spk_a1b2_" SECRET, &k, &reason),
                     SPECTRA_APIKEY_OK);
    ck_assert_str_eq(reason, "ok");
    ck_assert_str_eq(k->keyid, "a1b2");
    ck_assert_int_eq(k->tenant_id.len, 4);
    ck_assert_int_eq(memcmp(k->tenant_id.data, "acme", 4), 0);
    ck_assert_int_eq(memcmp(k->db_user.data, "acme_ro", 7), 0);
    ck_assert_int_eq(memcmp(k->db_group.data, "readers", 7), 0);
    ck_assert_uint_eq(k->permissions, SPECTRA_PERM_QUERY | SPECTRA_PERM_BULK
                                      | SPECTRA_PERM_ADMIN);

    ck_assert_int_eq(spectra_apikey_attr(k, (const u_char *) "tier", 4, &v),
                     0);
    ck_assert_int_eq(v.len, 4);
    ck_assert_int_eq(memcmp(v.data, "gold", 4), 0);
    ck_assert_int_eq(spectra_apikey_attr(k, (const u_char *) "tenant", 6,
                                         &v), 0);
    ck_assert_int_eq(memcmp(v.data, "acme", 4), 0);
    ck_assert_int_eq(spectra_apikey_attr(k, (const u_char *) "tie", 3, &v),
                     -1);

    ck_assert_int_eq(check(keys, "spk_zz9_" SECRET, &k, &reason),
                     SPECTRA_APIKEY_OK);
    ck_assert_int_eq(memcmp(k->tenant_id.data, "globex", 6), 0);
    ck_assert_uint_eq(k->permissions, SPECTRA_PERM_QUERY);
    ck_assert_uint_eq(k->db_user.len, 0);

    ck_assert_int_eq(check(keys, "spk_k3_" SECRET, &k, &reason),
                     SPECTRA_APIKEY_OK);
    ck_assert_uint_eq(k->permissions, 0);

    /* unknown id, wrong secret (one character off), shapes */
    ck_assert_int_eq(check(keys, "spk_a1b3_" SECRET, &k, &reason),
                     SPECTRA_APIKEY_UNKNOWN);
    ck_assert_str_eq(reason, "unknown key id");
    ck_assert_int_eq(check(keys, "spk_a1b2_" SECRET "x", &k, &reason),
                     SPECTRA_APIKEY_WRONG_SECRET);
    ck_assert_str_eq(reason, "wrong secret");
    ck_assert_int_eq(check(keys, "spk_a1b2_T3cr3t-s3cr3t_s3cr3t-0123456789"
                                 "abcdefABCDEF", &k, &reason),
                     SPECTRA_APIKEY_WRONG_SECRET);

    ck_assert_int_eq(check(keys, "spk_a1b2", &k, &reason),
                     SPECTRA_APIKEY_MALFORMED);
    ck_assert_str_eq(reason, "malformed key");
    ck_assert_int_eq(check(keys, "spk_a1b2_", &k, &reason),
                     SPECTRA_APIKEY_MALFORMED);
    ck_assert_int_eq(check(keys, "spk_a1b2_short", &k, &reason),
                     SPECTRA_APIKEY_MALFORMED);
    ck_assert_int_eq(check(keys, "SPK_a1b2_" SECRET, &k, &reason),
                     SPECTRA_APIKEY_MALFORMED);
    ck_assert_int_eq(check(keys, "spk_A1B2_" SECRET, &k, &reason),
                     SPECTRA_APIKEY_MALFORMED);
    ck_assert_int_eq(check(keys, "spk__" SECRET, &k, &reason),
                     SPECTRA_APIKEY_MALFORMED);
    ck_assert_int_eq(check(keys, "spk_a1b2_" SECRET "=", &k, &reason),
                     SPECTRA_APIKEY_MALFORMED);
    ck_assert_int_eq(check(keys, "spk_a1b2_" SECRET " ", &k, &reason),
                     SPECTRA_APIKEY_MALFORMED);
    ck_assert_int_eq(check(keys, "spk_0123456789abcdef0123456789abcdef0_"
                                 SECRET, &k, &reason),
                     SPECTRA_APIKEY_MALFORMED);
    ck_assert_int_eq(check(keys, "", &k, &reason), SPECTRA_APIKEY_MALFORMED);
    ck_assert_int_eq(check(keys, "spk_a1b2_s3cr3t-s3cr3t_s3cr3t-0123456789"
                                 "abcdefABCDEF0123456789abcdefABCDEF01234567"
                                 "89abcdefABCDEF0123456789abcdefABCDEF012345"
                                 "6789abcdefABCDEF", &k, &reason),
                     SPECTRA_APIKEY_MALFORMED);

    spectra_apikeys_free(keys);
}
END_TEST


START_TEST(test_file_refused)
{
    size_t                i;
    char                  text[512];
    spectra_err_t         err;
    spectra_apikeys_t    *keys;

    static const struct {
        const char  *fields;
        const char  *message;
    } cases[] = {
        { "tenant=acme", NULL },
        { "", "line 1: a line has no tenant=" },
        { "tenant=Acme", "line 1: tenant is not an identifier "
                         "([a-z0-9_], 1..63 bytes)" },
        { "tenant=acme;drop", "line 1: tenant is not an identifier "
                              "([a-z0-9_], 1..63 bytes)" },
        { "tenant=", "line 1: tenant is not an identifier "
                     "([a-z0-9_], 1..63 bytes)" },
        { "tenant=acme db_user=1acme", "line 1: db_user/db_group is not a "
          "role name ([a-z_][a-z0-9_]*, up to 63 bytes)" },
        { "tenant=acme db_group=a-b", "line 1: db_user/db_group is not a "
          "role name ([a-z_][a-z0-9_]*, up to 63 bytes)" },
        { "tenant=acme permissions=query,write",
          "line 1: permissions are not a list of query, bulk, admin" },
        { "tenant=acme tier", "line 1: a field is not name=value" },
        { "tenant=acme Tier=gold",
          "line 1: an attribute name is not [a-z0-9_]" },
        { "tenant=acme =gold",
          "line 1: an attribute name or value is too long or empty" },
        { "tenant=acm\xc3\xa9",
          "line 1: a field has a control or non-ASCII byte" },
        { NULL, NULL }
    };

    for (i = 0; cases[i].fields != NULL; i++) {
        snprintf(text, sizeof(text), "k1 %s %s\n", secret_hash,
                 cases[i].fields);
        keys = parse(text, &err);

        if (cases[i].message == NULL) {
            ck_assert_ptr_nonnull(keys);
            spectra_apikeys_free(keys);
            continue;
        }

        ck_assert_msg(keys == NULL, "case %zu accepted", i);
        ck_assert_str_eq(err.message, cases[i].message);
    }

    keys = parse("k1 abc tenant=acme\n", &err);
    ck_assert_ptr_null(keys);
    ck_assert_str_eq(err.message,
                     "line 1: the second field is not a lower-case hex "
                     "SHA-256");

    snprintf(text, sizeof(text), "k1 %.63sG tenant=acme\n", secret_hash);
    ck_assert_ptr_null(parse(text, &err));

    snprintf(text, sizeof(text), "K1 %s tenant=acme\n", secret_hash);
    ck_assert_ptr_null(parse(text, &err));
    ck_assert_str_eq(err.message,
                     "line 1: the key id is not 1..32 bytes of [a-z0-9]");

    ck_assert_ptr_null(parse("k1\n", &err));
    ck_assert_str_eq(err.message, "line 1: a line needs a key id and a "
                                  "SHA-256");

    snprintf(text, sizeof(text), "# c\nk1 %s tenant=a\n\nk1 %s tenant=b\n",
             secret_hash, secret_hash);
    ck_assert_ptr_null(parse(text, &err));
    ck_assert_str_eq(err.message, "the key id \"k1\" appears twice");
    ck_assert_uint_eq(err.position, SPECTRA_POS_NONE);

    snprintf(text, sizeof(text), "k1 %s tenant=a\nk2 %s\n", secret_hash,
             secret_hash);
    ck_assert_ptr_null(parse(text, &err));
    ck_assert_str_eq(err.message, "line 2: a line has no tenant=");
    ck_assert_int_eq(err.code, -1);
    ck_assert_uint_eq(err.position, strchr(text, '\n') + 1 - text);

    keys = parse("# only comments\n\n", &err);
    ck_assert_ptr_nonnull(keys);
    ck_assert_uint_eq(spectra_apikeys_count(keys), 0);
    spectra_apikeys_free(keys);
}
END_TEST


START_TEST(test_mint)
{
    char                     key[64], keyid[SPECTRA_APIKEY_ID_MAX + 1];
    char                     hex[65], text[256];
    const char              *reason;
    spectra_str_t            secret;
    spectra_err_t            err;
    spectra_apikeys_t       *keys;
    const spectra_apikey_t  *k;

    ck_assert_int_eq(spectra_apikey_mint(key, keyid, &secret), 0);
    ck_assert_uint_eq(strlen(keyid), 12);
    ck_assert_uint_eq(secret.len, 43);
    ck_assert_uint_eq(strlen(key), 4 + 12 + 1 + 43);
    ck_assert_int_eq(memcmp(key, "spk_", 4), 0);

    ck_assert_int_eq(spectra_apikey_hash_hex(secret.data, secret.len, hex),
                     0);
    snprintf(text, sizeof(text), "%s %s tenant=acme permissions=query\n",
             keyid, hex);

    keys = parse(text, &err);
    ck_assert_ptr_nonnull(keys);
    ck_assert_int_eq(check(keys, key, &k, &reason), SPECTRA_APIKEY_OK);
    spectra_apikeys_free(keys);
}
END_TEST


START_TEST(test_tenant_values)
{
    unsigned  perms;

    ck_assert_int_eq(spectra_tenant_id_valid((const u_char *) "acme", 4), 1);
    ck_assert_int_eq(spectra_tenant_id_valid((const u_char *) "42_x", 4), 1);
    ck_assert_int_eq(spectra_tenant_id_valid((const u_char *) "", 0), 0);
    ck_assert_int_eq(spectra_tenant_id_valid((const u_char *) "Acme", 4), 0);
    ck_assert_int_eq(spectra_tenant_id_valid((const u_char *) "a-b", 3), 0);
    ck_assert_int_eq(spectra_tenant_id_valid((const u_char *) "a b", 3), 0);
    ck_assert_int_eq(spectra_tenant_id_valid((const u_char *) "a\0b", 3), 0);
    ck_assert_int_eq(spectra_tenant_id_valid((const u_char *) "a\"", 2), 0);
    ck_assert_int_eq(spectra_tenant_id_valid((const u_char *)
        "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123",
        63), 1);
    ck_assert_int_eq(spectra_tenant_id_valid((const u_char *)
        "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234",
        64), 0);

    ck_assert_int_eq(spectra_role_valid((const u_char *) "tenant_acme", 11),
                     1);
    ck_assert_int_eq(spectra_role_valid((const u_char *) "_r", 2), 1);
    ck_assert_int_eq(spectra_role_valid((const u_char *) "1r", 2), 0);
    ck_assert_int_eq(spectra_role_valid((const u_char *) "r.x", 3), 0);

    perms = 0;
    ck_assert_int_eq(spectra_perms_parse((const u_char *) " query  openid "
                                         "bulk", 19, " ", 0, &perms), 0);
    ck_assert_uint_eq(perms, SPECTRA_PERM_QUERY | SPECTRA_PERM_BULK);

    perms = 0;
    ck_assert_int_eq(spectra_perms_parse((const u_char *) "query,openid",
                                         12, ",", 1, &perms), -1);

    perms = 0;
    ck_assert_int_eq(spectra_perms_parse((const u_char *) "admin,,", 7, ",",
                                         1, &perms), 0);
    ck_assert_uint_eq(perms, SPECTRA_PERM_ADMIN);

    perms = 0;
    ck_assert_int_eq(spectra_perms_parse((const u_char *) "Query QUERY", 11,
                                         " ", 0, &perms), 0);
    ck_assert_uint_eq(perms, 0);
}
END_TEST


static Suite *
apikey_suite(void)
{
    TCase  *tc;
    Suite  *s;

    s = suite_create("apikey");
    tc = tcase_create("core");
    tcase_add_checked_fixture(tc, hash_setup, NULL);

    tcase_add_test(tc, test_hash_known);
    tcase_add_test(tc, test_verify);
    tcase_add_test(tc, test_file_refused);
    tcase_add_test(tc, test_mint);
    tcase_add_test(tc, test_tenant_values);

    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(apikey_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
