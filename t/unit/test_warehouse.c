/*
 * Unit tests of src/spectra_warehouse.c: the least-outstanding choice in a
 * pool (turns among equals, caps, members down) and the passive health
 * state machine (max_fails within fail_timeout, down for fail_timeout,
 * the retry after it, a success bringing a member back).
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_warehouse.h"


Suite *warehouse_suite(void);


static spectra_warehouse_limits_t  nocap = { 1, 10000, 0 };


START_TEST(test_least_outstanding)
{
    uint32_t                    rotor = 0;
    spectra_warehouse_state_t   s[3];
    spectra_warehouse_limits_t  l[3] = { { 1, 10000, 0 }, { 1, 10000, 0 },
                                         { 1, 10000, 0 } };

    memset(s, 0, sizeof(s));
    s[0].outstanding = 4;
    s[1].outstanding = 2;
    s[2].outstanding = 3;

    ck_assert_int_eq(spectra_warehouse_choose(s, l, 3, 1000, &rotor), 1);
    ck_assert_uint_eq(rotor, 1);

    spectra_warehouse_acquire(&s[1]);
    spectra_warehouse_acquire(&s[1]);
    ck_assert_uint_eq(s[1].outstanding, 4);

    /* now 2 has the fewest */
    ck_assert_int_eq(spectra_warehouse_choose(s, l, 3, 1000, &rotor), 2);
}
END_TEST


START_TEST(test_idle_members_take_turns)
{
    int                         i, got[2] = { 0, 0 };
    uint32_t                    rotor = 0;
    spectra_warehouse_state_t   s[2];
    spectra_warehouse_limits_t  l[2] = { { 1, 10000, 0 }, { 1, 10000, 0 } };

    memset(s, 0, sizeof(s));

    /* statements that end before the next begins: every member in turn */
    for (i = 0; i < 10; i++) {
        got[spectra_warehouse_choose(s, l, 2, 1000, &rotor)]++;
    }

    ck_assert_int_eq(got[0], 5);
    ck_assert_int_eq(got[1], 5);
}
END_TEST


START_TEST(test_caps)
{
    uint32_t                    rotor = 0;
    spectra_warehouse_state_t   s[2];
    spectra_warehouse_limits_t  l[2] = { { 1, 10000, 2 }, { 1, 10000, 1 } };

    memset(s, 0, sizeof(s));
    s[0].outstanding = 2;

    /* 0 is at its cap though 1 has as many out as it may */
    ck_assert_int_eq(spectra_warehouse_choose(s, l, 2, 1000, &rotor), 1);
    spectra_warehouse_acquire(&s[1]);

    ck_assert_int_eq(spectra_warehouse_choose(s, l, 2, 1000, &rotor),
                     SPECTRA_WAREHOUSE_NONE_FULL);

    spectra_warehouse_release(&s[0]);
    ck_assert_int_eq(spectra_warehouse_choose(s, l, 2, 1000, &rotor), 0);

    /* never below zero */
    s[1].outstanding = 0;
    spectra_warehouse_release(&s[1]);
    ck_assert_uint_eq(s[1].outstanding, 0);

    ck_assert_int_eq(spectra_warehouse_usable(&s[1], &l[1], 0), 1);
    s[1].outstanding = 1;
    ck_assert_int_eq(spectra_warehouse_usable(&s[1], &l[1], 0), 0);
}
END_TEST


START_TEST(test_down_members_skipped)
{
    uint32_t                    rotor = 0;
    spectra_warehouse_state_t   s[2];
    spectra_warehouse_limits_t  l[2] = { { 1, 10000, 0 }, { 1, 10000, 0 } };

    memset(s, 0, sizeof(s));
    s[1].outstanding = 50;

    ck_assert_int_eq(spectra_warehouse_failed(&s[0], &l[0], 1000), 1);
    ck_assert_int_eq(spectra_warehouse_up(&s[0], 1000), 0);

    /* the busy member is still better than a down one */
    ck_assert_int_eq(spectra_warehouse_choose(s, l, 2, 1000, &rotor), 1);

    ck_assert_int_eq(spectra_warehouse_failed(&s[1], &l[1], 1000), 1);
    ck_assert_int_eq(spectra_warehouse_choose(s, l, 2, 1000, &rotor),
                     SPECTRA_WAREHOUSE_NONE_DOWN);

    /* fail_timeout later both are tried again */
    ck_assert_int_eq(spectra_warehouse_choose(s, l, 2, 11000, &rotor), 0);

    ck_assert_int_eq(spectra_warehouse_choose(s, l, 0, 11000, &rotor),
                     SPECTRA_WAREHOUSE_NONE_DOWN);
}
END_TEST


START_TEST(test_max_fails_window)
{
    spectra_warehouse_state_t   s;
    spectra_warehouse_limits_t  l = { 3, 10000, 0 };

    memset(&s, 0, sizeof(s));

    ck_assert_int_eq(spectra_warehouse_failed(&s, &l, 1000), 0);
    ck_assert_int_eq(spectra_warehouse_failed(&s, &l, 2000), 0);
    ck_assert_int_eq(spectra_warehouse_up(&s, 2000), 1);

    /* the third failure, 12 s after the first: a new count starts */
    ck_assert_int_eq(spectra_warehouse_failed(&s, &l, 12000), 0);
    ck_assert_uint_eq(s.fails, 1);
    ck_assert_int_eq(spectra_warehouse_failed(&s, &l, 13000), 0);
    ck_assert_int_eq(spectra_warehouse_failed(&s, &l, 14000), 1);
    ck_assert_int_eq(spectra_warehouse_up(&s, 14000), 0);
    ck_assert_int_eq(s.down_until, 24000);
    ck_assert_int_eq(spectra_warehouse_up(&s, 23999), 0);

    /* calls that were out when it went down change nothing */
    ck_assert_int_eq(spectra_warehouse_failed(&s, &l, 15000), 0);
    ck_assert_int_eq(s.down_until, 24000);

    /* the retry after fail_timeout fails: down again at once */
    ck_assert_int_eq(spectra_warehouse_up(&s, 24000), 1);
    ck_assert_int_eq(spectra_warehouse_failed(&s, &l, 24500), 1);
    ck_assert_int_eq(s.down_until, 34500);

    /* one success brings it back */
    ck_assert_int_eq(spectra_warehouse_succeeded(&s), 1);
    ck_assert_int_eq(spectra_warehouse_up(&s, 25000), 1);
    ck_assert_int_eq(spectra_warehouse_succeeded(&s), 0);

    /* successes between failures restart the count */
    ck_assert_int_eq(spectra_warehouse_failed(&s, &l, 26000), 0);
    ck_assert_int_eq(spectra_warehouse_failed(&s, &l, 26100), 0);
    spectra_warehouse_succeeded(&s);
    ck_assert_int_eq(spectra_warehouse_failed(&s, &l, 26200), 0);
    ck_assert_int_eq(spectra_warehouse_up(&s, 26200), 1);
}
END_TEST


START_TEST(test_never_down)
{
    int                         i;
    spectra_warehouse_state_t   s;
    spectra_warehouse_limits_t  l = { 0, 10000, 0 };

    memset(&s, 0, sizeof(s));

    for (i = 0; i < 100; i++) {
        ck_assert_int_eq(spectra_warehouse_failed(&s, &l, 1000 + i), 0);
    }

    ck_assert_int_eq(spectra_warehouse_up(&s, 1100), 1);

    /* one failure is enough with max_fails 1 */
    ck_assert_int_eq(spectra_warehouse_failed(&s, &nocap, 2000), 1);
}
END_TEST


START_TEST(test_status_and_names)
{
    ck_assert_int_eq(spectra_warehouse_status_failed(0), 1);
    ck_assert_int_eq(spectra_warehouse_status_failed(502), 1);
    ck_assert_int_eq(spectra_warehouse_status_failed(500), 1);
    ck_assert_int_eq(spectra_warehouse_status_failed(200), 0);
    ck_assert_int_eq(spectra_warehouse_status_failed(400), 0);
    ck_assert_int_eq(spectra_warehouse_status_failed(404), 0);

    ck_assert_int_eq(spectra_warehouse_name_valid((u_char *) "wh-a_1", 6),
                     1);
    ck_assert_int_eq(spectra_warehouse_name_valid((u_char *) "", 0), 0);
    ck_assert_int_eq(spectra_warehouse_name_valid((u_char *) "a b", 3), 0);
    ck_assert_int_eq(spectra_warehouse_name_valid((u_char *) "a\"", 2), 0);
    ck_assert_int_eq(spectra_warehouse_name_valid((u_char *)
        "a234567890123456789012345678901234567890123456789012345678901234",
        64), 1);
    ck_assert_int_eq(spectra_warehouse_name_valid((u_char *)
        "a2345678901234567890123456789012345678901234567890123456789012345",
        65), 0);
}
END_TEST


Suite *
warehouse_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("warehouse");
    tc = tcase_create("warehouse");
    suite_add_tcase(s, tc);

    tcase_add_test(tc, test_least_outstanding);
    tcase_add_test(tc, test_idle_members_take_turns);
    tcase_add_test(tc, test_caps);
    tcase_add_test(tc, test_down_members_skipped);
    tcase_add_test(tc, test_max_fails_window);
    tcase_add_test(tc, test_never_down);
    tcase_add_test(tc, test_status_and_names);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(warehouse_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
