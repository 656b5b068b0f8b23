/*
 * The SQL policy's name lists: the built-in deny lists (each group and
 * why: docs/sql-policy.md), the matching of decoded names against list
 * entries ('*' matches any run, letters in any case), and the parsing of
 * lists written by operators.
 */

#include <string.h>

#include "spectra_sql_parser.h"


#define spectra_sql_entry(s)  { sizeof(s) - 1, (u_char *) (s) }


static const spectra_str_t  spectra_sql_builtin_functions[] = {

    /* settings: reading or changing them (set_config switches roles) */
    spectra_sql_entry("set_config"),
    spectra_sql_entry("current_setting"),
    spectra_sql_entry("pg_show_all_settings"),
    spectra_sql_entry("pg_show_all_file_settings"),
    spectra_sql_entry("pg_settings_get_flags"),
    spectra_sql_entry("pg_config"),
    spectra_sql_entry("pg_hba_file_rules"),
    spectra_sql_entry("pg_ident_file_mappings"),
    spectra_sql_entry("pg_current_logfile"),

    /* sleeping: holds a warehouse slot for nothing */
    spectra_sql_entry("pg_sleep"),
    spectra_sql_entry("pg_sleep_for"),
    spectra_sql_entry("pg_sleep_until"),

    /* large objects: server files in and out, storage outside any table */
    spectra_sql_entry("lo_*"),
    spectra_sql_entry("loread"),
    spectra_sql_entry("lowrite"),
    spectra_sql_entry("be_lo_*"),

    /* advisory locks: outlive the statement, block other sessions */
    spectra_sql_entry("pg_advisory_*"),
    spectra_sql_entry("pg_try_advisory_*"),

    /* other backends and the server process */
    spectra_sql_entry("pg_terminate_backend"),
    spectra_sql_entry("pg_cancel_backend"),
    spectra_sql_entry("pg_reload_conf"),
    spectra_sql_entry("pg_rotate_logfile*"),
    spectra_sql_entry("pg_promote"),
    spectra_sql_entry("pg_log_backend_memory_contexts"),

    /* logical decoding and replication: other tenants' changes */
    spectra_sql_entry("pg_logical_*"),
    spectra_sql_entry("pg_replication_*"),
    spectra_sql_entry("pg_create_*_replication_slot"),
    spectra_sql_entry("pg_drop_replication_slot"),
    spectra_sql_entry("pg_copy_*_replication_slot"),
    spectra_sql_entry("pg_show_replication_origin_status"),

    /* WAL, control data, backups, recovery */
    spectra_sql_entry("pg_switch_wal"),
    spectra_sql_entry("pg_current_wal_*"),
    spectra_sql_entry("pg_walfile_name*"),
    spectra_sql_entry("pg_wal_*"),
    spectra_sql_entry("pg_last_wal_*"),
    spectra_sql_entry("pg_last_xact_replay_timestamp"),
    spectra_sql_entry("pg_is_wal_replay_paused"),
    spectra_sql_entry("pg_control_*"),
    spectra_sql_entry("pg_backup_*"),
    spectra_sql_entry("pg_start_backup"),
    spectra_sql_entry("pg_stop_backup"),
    spectra_sql_entry("pg_create_restore_point"),

    /* sizes and storage: other tenants' data volumes, file names */
    spectra_sql_entry("pg_*_size"),
    spectra_sql_entry("pg_relation_filenode"),
    spectra_sql_entry("pg_relation_filepath"),
    spectra_sql_entry("pg_filenode_relation"),
    spectra_sql_entry("pg_tablespace_location"),
    spectra_sql_entry("pg_tablespace_databases"),

    /* locks held by other sessions */
    spectra_sql_entry("pg_lock_status"),
    spectra_sql_entry("pg_blocking_pids"),
    spectra_sql_entry("pg_safe_snapshot_blocking_pids"),
    spectra_sql_entry("pg_isolation_test_session_is_blocked"),

    /* statistics: other sessions' queries, counters, resets */
    spectra_sql_entry("pg_stat_*"),

    /* server files */
    spectra_sql_entry("pg_read_*"),
    spectra_sql_entry("pg_ls_*"),
    spectra_sql_entry("pg_file_*"),

    /* object, role and privilege describers: the shape of other tenants */
    spectra_sql_entry("pg_get_*"),
    spectra_sql_entry("pg_describe_object"),
    spectra_sql_entry("pg_identify_object*"),
    spectra_sql_entry("has_*_privilege"),
    spectra_sql_entry("pg_has_role"),
    spectra_sql_entry("obj_description"),
    spectra_sql_entry("col_description"),
    spectra_sql_entry("shobj_description"),
    spectra_sql_entry("pg_prepared_xact"),

    /* functions that run SQL given as text, out of the policy's sight */
    spectra_sql_entry("query_to_xml*"),
    spectra_sql_entry("cursor_to_xml*"),
    spectra_sql_entry("table_to_xml*"),
    spectra_sql_entry("schema_to_xml*"),
    spectra_sql_entry("database_to_xml*"),
    spectra_sql_entry("ts_stat"),
    spectra_sql_entry("ts_rewrite"),
    spectra_sql_entry("dblink*"),

    /* sequences: nextval and setval write */
    spectra_sql_entry("nextval"),
    spectra_sql_entry("setval"),
    spectra_sql_entry("currval"),
    spectra_sql_entry("lastval"),
    spectra_sql_entry("pg_sequence_last_value"),
    spectra_sql_entry("pg_sequence_parameters"),

    /* notifications: a channel between sessions */
    spectra_sql_entry("pg_notify"),
    spectra_sql_entry("pg_listening_channels"),
    spectra_sql_entry("pg_notification_queue_usage"),

    /* transaction ids: assigning one writes, commit times leak activity */
    spectra_sql_entry("txid_current"),
    spectra_sql_entry("txid_current_if_assigned"),
    spectra_sql_entry("txid_status"),
    spectra_sql_entry("pg_current_xact_id*"),
    spectra_sql_entry("pg_xact_commit_timestamp*"),
    spectra_sql_entry("pg_xact_status"),
    spectra_sql_entry("pg_last_committed_xact"),
    spectra_sql_entry("pg_export_snapshot"),

    /* maintenance and administration that writes */
    spectra_sql_entry("pg_import_system_collations"),
    spectra_sql_entry("pg_event_trigger_*"),
    spectra_sql_entry("pg_prewarm"),
    spectra_sql_entry("binary_upgrade_*"),
    spectra_sql_entry("pg_nextoid"),
    spectra_sql_entry("pg_stop_making_pinned_objects"),
    spectra_sql_entry("pg_extension_config_dump"),
    spectra_sql_entry("brin_summarize_*"),
    spectra_sql_entry("brin_desummarize_range"),
    spectra_sql_entry("gin_clean_pending_list")
};


/*
 * pg_catalog is searched before any schema, so its relations are found
 * unqualified; stl_, stv_, svl_, svv_ and svcs_ are Redshift's system
 * tables and views.
 */
static const spectra_str_t  spectra_sql_builtin_relations[] = {
    spectra_sql_entry("pg_*"),
    spectra_sql_entry("stl_*"),
    spectra_sql_entry("stv_*"),
    spectra_sql_entry("svl_*"),
    spectra_sql_entry("svv_*"),
    spectra_sql_entry("svcs_*")
};


/*
 * PostgreSQL reserves the pg_ prefix for system schemas: pg_catalog,
 * pg_toast, pg_temp_N, pg_toast_temp_N. spectra_admin holds the
 * warehouse's credentials, spectra_load every tenant's load errors.
 */
static const spectra_str_t  spectra_sql_builtin_schemas[] = {
    spectra_sql_entry("pg_*"),
    spectra_sql_entry("information_schema"),
    spectra_sql_entry("spectra_admin"),
    spectra_sql_entry("spectra_load")
};


#define spectra_sql_nelts(a)  (sizeof(a) / sizeof(a[0]))


void
spectra_sql_builtin(spectra_sql_list_e list, const spectra_str_t **entries,
    size_t *n)
{
    switch (list) {

    case SPECTRA_SQL_LIST_FUNCTIONS:
        *entries = spectra_sql_builtin_functions;
        *n = spectra_sql_nelts(spectra_sql_builtin_functions);
        break;

    case SPECTRA_SQL_LIST_RELATIONS:
        *entries = spectra_sql_builtin_relations;
        *n = spectra_sql_nelts(spectra_sql_builtin_relations);
        break;

    default:
        *entries = spectra_sql_builtin_schemas;
        *n = spectra_sql_nelts(spectra_sql_builtin_schemas);
        break;
    }
}


static u_char
spectra_sql_fold(u_char c)
{
    return (c >= 'A' && c <= 'Z') ? (u_char) (c | 0x20) : c;
}


/* Glob match with '*', iterative: the last star backtracks. */

static int
spectra_sql_glob(const u_char *pat, size_t plen, const u_char *s, size_t slen)
{
    size_t  i, j, star, mark;

    i = 0;
    j = 0;
    star = (size_t) -1;
    mark = 0;

    while (j < slen) {
        if (i < plen && pat[i] == '*') {
            star = i++;
            mark = j;

        } else if (i < plen && spectra_sql_fold(pat[i])
                               == spectra_sql_fold(s[j]))
        {
            i++;
            j++;

        } else if (star != (size_t) -1) {
            i = star + 1;
            j = ++mark;

        } else {
            return 0;
        }
    }

    while (i < plen && pat[i] == '*') {
        i++;
    }

    return i == plen;
}


int
spectra_sql_list_match(const spectra_str_t *list, size_t n,
    const u_char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (spectra_sql_glob(list[i].data, list[i].len, name, len)) {
            return 1;
        }
    }

    return 0;
}


int
spectra_sql_denied(spectra_sql_list_e list, const spectra_str_t *extra,
    size_t nextra, const char *name)
{
    size_t                n, len;
    const spectra_str_t  *builtin;

    len = strlen(name);
    spectra_sql_builtin(list, &builtin, &n);

    return spectra_sql_list_match(builtin, n, (const u_char *) name, len)
           || spectra_sql_list_match(extra, nextra, (const u_char *) name,
                                     len);
}


static int
spectra_sql_entry_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '$' || c == '*'
           || c >= 0x80;
}


int
spectra_sql_list_entry_check(spectra_sql_list_e list, const u_char *p,
    size_t len, spectra_err_t *err)
{
    size_t  i;
    char    shown[SPECTRA_SQL_NAME_MAX + 1];

    for (i = 0; i < len; i++) {
        if (!spectra_sql_entry_char(p[i])) {
            break;
        }
    }

    if (len > 0 && len <= SPECTRA_SQL_NAME_MAX && i == len
        && !(p[0] >= '0' && p[0] <= '9') && p[0] != '$')
    {
        return SPECTRA_SQL_OK;
    }

    if (len > SPECTRA_SQL_NAME_MAX) {
        len = SPECTRA_SQL_NAME_MAX;
    }

    memcpy(shown, p, len);
    shown[len] = '\0';
    spectra_sql_show(shown, sizeof(shown), shown);

    return spectra_err_set(err, SPECTRA_SQL_ERR_INVALID,
                           (i < len) ? i : 0,
                           "invalid name \"%s\" in a SQL name list: use 1 to "
                           "63 letters, digits, _, $ or *, not starting with "
                           "a digit or $", shown);
}


int
spectra_sql_list_parse(spectra_sql_list_e list, const u_char *p, size_t len,
    spectra_str_t *out, size_t nout, size_t *n, spectra_err_t *err)
{
    int            rc;
    size_t         i, start;
    u_char         c;
    spectra_err_t  e;

    *n = 0;
    i = 0;

    for ( ;; ) {
        while (i < len) {
            c = p[i];

            if (c == '#') {
                while (i < len && p[i] != '\n') {
                    i++;
                }

                continue;
            }

            if (c != ',' && c != ' ' && c != '\t' && c != '\n' && c != '\r'
                && c != '\f' && c != '\v')
            {
                break;
            }

            i++;
        }

        if (i == len) {
            return SPECTRA_SQL_OK;
        }

        start = i;

        while (i < len && p[i] != ',' && p[i] != '#' && p[i] != ' '
               && p[i] != '\t' && p[i] != '\n' && p[i] != '\r'
               && p[i] != '\f' && p[i] != '\v')
        {
            i++;
        }

        rc = spectra_sql_list_entry_check(list, p + start, i - start, &e);

        if (rc != SPECTRA_SQL_OK) {
            return spectra_sql_fail(err, rc, p, len, start, NULL,
                                    "%s", e.message);
        }

        if (out != NULL) {
            if (*n == nout) {
                return spectra_sql_fail(err, SPECTRA_SQL_ERR_INVALID, p, len,
                                        start, NULL, "more than %zu names in "
                                        "the list", nout);
            }

            out[*n].data = (u_char *) p + start;
            out[*n].len = i - start;
        }

        (*n)++;
    }
}
