/*
 * Budgets: loading and validating the budgets file, and resolving the limits and
 * settings of one test through the precedence chain described in budgets.h.
 * Why this file is long: a strict reader names the file, key path and value of every
 * problem, and that error text is most of it.
 *
 * A budgets file entry ("defaults" or one of "tests") is a set of fields: one per
 * metric with a budget (metrics.h) and one per setting (warmups, isolation,
 * alloc_functions, repeat). Within the file's "tests" entries the precedence applies
 * field by field: for each field, the best-ranked matching entry that sets it wins, and
 * entries that do not mention it leave it to the next one down (then to "defaults").
 * This is the same rule as for the in-code annotation, where unset fields keep the
 * value from the next level.
 */
#include "budgets.h"

#include <cjson/cJSON.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "suggest.h"
#include "util.h"

/* The settings a budgets file entry may give besides limits; their fields follow the
 * metrics' in an entry (field index MG_M_COUNT + setting). */
enum { S_WARMUPS, S_ISOLATION, S_ALLOC_FUNCTIONS, S_REPEAT, S_COUNT };
static const char *const setting_keys[S_COUNT + 1] = {"warmups", "isolation", "alloc_functions",
                                                      "repeat", NULL};
#define N_FIELDS (MG_M_COUNT + S_COUNT)

/* The fields given at one level of the file. */
typedef struct file_entry {
    bool has[N_FIELDS];
    int64_t v[N_FIELDS]; /* limits, warmups, isolation (an mg_isolation), repeat */
    char **alloc_functions;
    size_t nalloc_functions;
} file_entry;

typedef struct test_rule {
    char *key;    /* "suite/test" or a glob over it */
    char *origin; /* "PATH: tests[\"KEY\"]" */
    file_entry e;
} test_rule;

/* The tests resolved against a file (mg_budgets_resolve), for finding the "tests" keys
 * that match none of them (mg_budgets_unmatched). The file is const while tests are
 * resolved; this record behind its pointer is not. */
typedef struct resolved_tests {
    bool *matched;   /* per rule: some resolved test matched it */
    char **names;    /* every "suite/test" resolved, each once, in order */
    size_t nnames, capnames;
    size_t *slots;   /* hash set over names: index + 1, 0 = empty */
    size_t nslots;
} resolved_tests;

struct mg_budget_file {
    char *path;
    char *defaults_origin; /* "PATH: defaults" */
    file_entry defaults;
    test_rule *rules; /* in file order */
    size_t nrules;
    resolved_tests *seen;
};

static void free_entry(file_entry *e) {
    for (size_t i = 0; i < e->nalloc_functions; i++) free(e->alloc_functions[i]);
    free(e->alloc_functions);
    e->alloc_functions = NULL;
    e->nalloc_functions = 0;
}

void mg_cli_limits_init(mg_cli_limits *cli) {
    memset(cli, 0, sizeof *cli);
    for (int m = 0; m < MG_M_COUNT; m++) cli->v[m] = MG_LIMIT_UNSET;
    cli->warmups = MG_LIMIT_UNSET;
    cli->isolation = -1;
    cli->repeat = MG_LIMIT_UNSET;
}

/* ---- loading ------------------------------------------------------------------- */

/*
 * Parses the limit of metric m at key path `where` (e.g. tests["a/b"].leak_bytes) into
 * *out: null or "unlimited" mean no limit; byte limits take a whole non-negative number
 * or a SIZE string, counts a whole non-negative number. -1 with err on anything else.
 */
static int parse_limit(const char *path, const char *where, mg_metric m, const cJSON *item,
                       int64_t *out, char *err, size_t errlen) {
    char shown[MG_JSON_SHOWN_SIZE];
    mg_json_describe_value(item, shown, sizeof shown);
    const bool bytes = mg_metric_bytes(m);

    if (cJSON_IsNull(item)) {
        *out = MG_UNLIMITED;
        return 0;
    }
    if (cJSON_IsString(item)) {
        if (strcmp(item->valuestring, "unlimited") == 0) {
            *out = MG_UNLIMITED;
            return 0;
        }
        if (bytes) {
            if (mg_parse_size(item->valuestring, out) == 0) return 0;
            mg_set_err(err, errlen, "%s: %s: %s is not a size (try 4096, 4KiB, 8 MiB)", path,
                       where, shown);
        } else {
            mg_set_err(err, errlen,
                       "%s: %s: %s is not a count (use a whole number such as 10, or null "
                       "for no limit)",
                       path, where, shown);
        }
        return -1;
    }
    if (cJSON_IsNumber(item)) {
        int64_t v = 0;
        mg_json_int rc = mg_json_get_i64(item, &v);
        if (rc == MG_JSON_INT_OK && v >= 0) {
            *out = v;
            return 0;
        }
        if (rc == MG_JSON_INT_OK || rc == MG_JSON_INT_TOO_SMALL) {
            mg_set_err(err, errlen,
                       "%s: %s: %s is negative (use null or \"unlimited\" for no limit)", path,
                       where, shown);
            return -1;
        }
        if (rc == MG_JSON_INT_TOO_LARGE) {
            mg_set_err(err, errlen, "%s: %s: %s is too large (the largest limit is %" PRId64 ")",
                       path, where, shown, INT64_MAX);
            return -1;
        }
        mg_set_err(err, errlen, "%s: %s: %s is not a whole number of %s", path, where, shown,
                   bytes ? "bytes" : "objects");
        return -1;
    }
    mg_set_err(err, errlen, "%s: %s: expected %s or null, not %s", path, where,
               bytes ? "a size (4096 or \"4 KiB\")" : "a whole number", shown);
    return -1;
}

/* A whole number in [lo, UINT_MAX] at `where` (warmups, repeat). */
static int parse_uint_setting(const char *path, const char *where, const cJSON *item,
                              int64_t lo, int64_t *out, char *err, size_t errlen) {
    char shown[MG_JSON_SHOWN_SIZE];
    mg_json_describe_value(item, shown, sizeof shown);
    int64_t v = 0;
    mg_json_int rc = mg_json_get_i64(item, &v);
    if (rc == MG_JSON_INT_OK && v >= lo && v <= (int64_t)UINT_MAX) {
        *out = v;
        return 0;
    }
    if (rc == MG_JSON_INT_TOO_LARGE || (rc == MG_JSON_INT_OK && v > (int64_t)UINT_MAX))
        mg_set_err(err, errlen, "%s: %s: %s is too large (at most %u)", path, where, shown,
                   UINT_MAX);
    else
        mg_set_err(err, errlen, "%s: %s: expected a whole number >= %" PRId64 ", not %s", path,
                   where, lo, shown);
    return -1;
}

/* Parses one setting s of an entry into e. */
static int parse_setting(const char *path, const char *where, int s, const cJSON *item,
                         file_entry *e, char *err, size_t errlen) {
    char shown[MG_JSON_SHOWN_SIZE];
    mg_json_describe_value(item, shown, sizeof shown);
    int64_t *v = &e->v[MG_M_COUNT + s];
    switch (s) {
    case S_WARMUPS: return parse_uint_setting(path, where, item, 0, v, err, errlen);
    case S_REPEAT: return parse_uint_setting(path, where, item, 1, v, err, errlen);
    case S_ISOLATION:
        if (cJSON_IsString(item) && strcmp(item->valuestring, "test") == 0) {
            *v = MG_ISO_TEST;
            return 0;
        }
        if (cJSON_IsString(item) && strcmp(item->valuestring, "suite") == 0) {
            *v = MG_ISO_SUITE;
            return 0;
        }
        mg_set_err(err, errlen, "%s: %s: expected \"test\" or \"suite\", not %s", path, where,
                   shown);
        return -1;
    default: break;
    }
    /* S_ALLOC_FUNCTIONS: an array of non-empty glob strings. */
    if (!cJSON_IsArray(item)) {
        mg_set_err(err, errlen,
                   "%s: %s: expected an array of function name globs such as [\"xmalloc\", "
                   "\"pool_*\"], not %s",
                   path, where, shown);
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(item), i = 0;
    e->alloc_functions = n ? mg_xcalloc(n, sizeof *e->alloc_functions) : NULL;
    const cJSON *g;
    cJSON_ArrayForEach(g, item) {
        if (!cJSON_IsString(g) || !g->valuestring[0]) {
            mg_json_describe_value(g, shown, sizeof shown);
            mg_set_err(err, errlen, "%s: %s[%zu]: expected a non-empty string, not %s", path,
                       where, i, shown);
            return -1;
        }
        e->alloc_functions[e->nalloc_functions++] = mg_xstrdup(g->valuestring);
        i++;
    }
    return 0;
}

/* The field index of key in an entry (a metric with a budget, then a setting); -1. */
static int field_of(const char *key) {
    for (int m = 0; m < MG_M_COUNT; m++)
        if (mg_metrics[m].budget_key && strcmp(key, mg_metrics[m].budget_key) == 0) return m;
    for (int s = 0; s < S_COUNT; s++)
        if (strcmp(key, setting_keys[s]) == 0) return MG_M_COUNT + s;
    return -1;
}

/* Parses one entry ("defaults" or a tests entry) named `where`. */
static int parse_entry(const char *path, const char *where, const cJSON *obj, file_entry *out,
                       char *err, size_t errlen) {
    if (!cJSON_IsObject(obj)) {
        char shown[MG_JSON_SHOWN_SIZE];
        mg_json_describe_value(obj, shown, sizeof shown);
        mg_set_err(err, errlen, "%s: %s: must be an object such as {\"leak_bytes\": 0}, not %s",
                   path, where, shown);
        return -1;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, obj) {
        char key[256];
        mg_json_escape_key(item->string, key, sizeof key);
        if (strcmp(item->string, "comment") == 0) { /* a note for people (memgate calibrate writes them) */
            if (!cJSON_IsString(item)) {
                mg_set_err(err, errlen, "%s: %s.comment: must be a string", path, where);
                return -1;
            }
            continue;
        }
        int field = field_of(item->string);
        if (field < 0) {
            char expected[512];
            mg_metric_budget_keys(expected, sizeof expected, setting_keys);
            mg_set_err(err, errlen, "%s: %s: unknown key \"%s\" (expected %s)", path, where, key,
                       expected);
            return -1;
        }
        if (out->has[field]) {
            mg_set_err(err, errlen, "%s: %s.%s: given twice", path, where, key);
            return -1;
        }
        char field_where[512];
        snprintf(field_where, sizeof field_where, "%s.%s", where, key);
        int rc = field < MG_M_COUNT
                     ? parse_limit(path, field_where, (mg_metric)field, item, &out->v[field], err,
                                   errlen)
                     : parse_setting(path, field_where, field - MG_M_COUNT, item, out, err,
                                     errlen);
        if (rc != 0) return -1;
        out->has[field] = true;
    }
    return 0;
}

/* A key that has no '/' and no glob character can never match "suite/test": refuse it
 * rather than let a typo silently apply to nothing. */
static bool key_can_match(const char *key) {
    return key[0] != '\0' && strpbrk(key, "/*?[") != NULL;
}

static int parse_tests(mg_budget_file *bf, const cJSON *tests, char *err, size_t errlen) {
    if (!cJSON_IsObject(tests)) {
        mg_set_err(err, errlen,
                   "%s: tests: must be an object mapping \"suite/test\" globs to limits, not %s",
                   bf->path, mg_json_type_name(tests));
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(tests);
    bf->rules = mg_xcalloc(n ? n : 1, sizeof *bf->rules);
    const cJSON *entry;
    cJSON_ArrayForEach(entry, tests) {
        char key[256];
        mg_json_escape_key(entry->string, key, sizeof key);
        char where[300];
        snprintf(where, sizeof where, "tests[\"%s\"]", key);
        if (!key_can_match(entry->string)) {
            mg_set_err(err, errlen,
                       "%s: %s: a key must be \"suite/test\" or a glob such as \"suite/*\"",
                       bf->path, where);
            return -1;
        }
        for (size_t i = 0; i < bf->nrules; i++) {
            if (strcmp(bf->rules[i].key, entry->string) == 0) {
                mg_set_err(err, errlen, "%s: %s: given twice", bf->path, where);
                return -1;
            }
        }
        /* The rule counts (and is freed) from here on, even when its entry is bad. */
        test_rule *r = &bf->rules[bf->nrules++];
        r->key = mg_xstrdup(entry->string);
        r->origin = mg_xasprintf("%s: %s", bf->path, where);
        if (parse_entry(bf->path, where, entry, &r->e, err, errlen) != 0) return -1;
    }
    return 0;
}

/* Validates the parsed document's top level and fills bf. */
static int parse_document(mg_budget_file *bf, const cJSON *root, char *err, size_t errlen) {
    if (!cJSON_IsObject(root)) {
        mg_set_err(err, errlen,
                   "%s: the top level must be an object with \"defaults\" and/or \"tests\", "
                   "not %s",
                   bf->path, mg_json_type_name(root));
        return -1;
    }
    bool seen_defaults = false, seen_tests = false;
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        char key[256];
        mg_json_escape_key(item->string, key, sizeof key);
        if (strcmp(item->string, "defaults") == 0) {
            if (seen_defaults) {
                mg_set_err(err, errlen, "%s: defaults: given twice", bf->path);
                return -1;
            }
            seen_defaults = true;
            if (parse_entry(bf->path, "defaults", item, &bf->defaults, err, errlen) != 0)
                return -1;
        } else if (strcmp(item->string, "tests") == 0) {
            if (seen_tests) {
                mg_set_err(err, errlen, "%s: tests: given twice", bf->path);
                return -1;
            }
            seen_tests = true;
            if (parse_tests(bf, item, err, errlen) != 0) return -1;
        } else if (strcmp(item->string, "$schema") == 0 || strcmp(item->string, "comment") == 0) {
            /* Documentation keys: allowed so files can be self-describing. */
            if (!cJSON_IsString(item)) {
                mg_set_err(err, errlen, "%s: %s: must be a string, not %s", bf->path, key,
                           mg_json_type_name(item));
                return -1;
            }
        } else {
            mg_set_err(err, errlen,
                       "%s: unknown top-level key \"%s\" (expected \"defaults\" or \"tests\")",
                       bf->path, key);
            return -1;
        }
    }
    return 0;
}

int mg_budgets_load(const char *path, mg_budget_file **out, char *err, size_t errlen) {
    if (!out) return -1;
    *out = NULL;
    if (!path) {
        mg_set_err(err, errlen, "no budgets file given");
        return -1;
    }
    cJSON *root = mg_json_load_file(path, "budgets file", "a JSON object",
                                    /* blame_strings */ true, err, errlen);
    if (!root) return -1;

    mg_budget_file *bf = mg_xcalloc(1, sizeof *bf);
    bf->path = mg_xstrdup(path);
    bf->defaults_origin = mg_xasprintf("%s: defaults", path);
    int rc = parse_document(bf, root, err, errlen);
    cJSON_Delete(root);
    if (rc != 0) {
        mg_budgets_free(bf);
        return -1;
    }
    bf->seen = mg_xcalloc(1, sizeof *bf->seen);
    bf->seen->matched = mg_xcalloc(bf->nrules ? bf->nrules : 1, sizeof *bf->seen->matched);
    *out = bf;
    return 0;
}

void mg_budgets_free(mg_budget_file *bf) {
    if (!bf) return;
    for (size_t i = 0; i < bf->nrules; i++) {
        free(bf->rules[i].key);
        free(bf->rules[i].origin);
        free_entry(&bf->rules[i].e);
    }
    free(bf->rules);
    free_entry(&bf->defaults);
    free(bf->defaults_origin);
    free(bf->path);
    if (bf->seen) {
        for (size_t i = 0; i < bf->seen->nnames; i++) free(bf->seen->names[i]);
        free(bf->seen->names);
        free(bf->seen->slots);
        free(bf->seen->matched);
        free(bf->seen);
    }
    free(bf);
}

/* ---- resolving ----------------------------------------------------------------- */

static void set_limit(mg_limit *l, int64_t value, mg_limit_source src, const char *origin) {
    free(l->origin);
    l->value = value;
    l->source = src;
    l->origin = mg_xstrdup(origin);
}

/* Replaces the allocator wrapper globs of s with a copy of the n globs g. */
static void set_alloc_functions(mg_settings *s, const char *const *g, size_t n) {
    for (size_t i = 0; i < s->nalloc_functions; i++) free(s->alloc_functions[i]);
    free(s->alloc_functions);
    s->alloc_functions = n ? mg_xcalloc(n, sizeof *s->alloc_functions) : NULL;
    for (size_t i = 0; i < n; i++) s->alloc_functions[i] = mg_xstrdup(g[i]);
    s->nalloc_functions = n;
}

/* Applies field f of entry e (given at level src, detail origin) to out. */
static void apply_field(mg_budget *out, const file_entry *e, int f, mg_limit_source src,
                        const char *origin) {
    if (f < MG_M_COUNT) {
        set_limit(&out->lim[f], e->v[f], src, origin);
        return;
    }
    switch (f - MG_M_COUNT) {
    case S_WARMUPS: out->settings.warmups = (unsigned)e->v[f]; break;
    case S_ISOLATION: out->settings.isolation = (mg_isolation)e->v[f]; break;
    case S_REPEAT: out->settings.repeat = (unsigned)e->v[f]; break;
    default:
        set_alloc_functions(&out->settings, (const char *const *)e->alloc_functions,
                            e->nalloc_functions);
        break;
    }
}

static void apply_cli(mg_budget *out, const mg_cli_limits *cli) {
    for (int m = 0; m < MG_M_COUNT; m++)
        if (mg_metrics[m].budget_key && cli->v[m] != MG_LIMIT_UNSET)
            set_limit(&out->lim[m], cli->v[m] < 0 ? MG_UNLIMITED : cli->v[m], MG_SRC_CLI,
                      mg_metrics[m].cli);
    if (cli->warmups >= 0 && cli->warmups <= (int64_t)UINT_MAX)
        out->settings.warmups = (unsigned)cli->warmups;
    if (cli->isolation == MG_ISO_TEST || cli->isolation == MG_ISO_SUITE)
        out->settings.isolation = (mg_isolation)cli->isolation;
    if (cli->repeat >= 1 && cli->repeat <= (int64_t)UINT_MAX)
        out->settings.repeat = (unsigned)cli->repeat;
    if (cli->alloc_functions && cli->nalloc_functions)
        set_alloc_functions(&out->settings, cli->alloc_functions, cli->nalloc_functions);
}

/* How well a rule's key matches name: 0 = no match, otherwise higher is better. An
 * exact key outranks every glob; a longer glob outranks a shorter one. */
static size_t rule_rank(const test_rule *r, const char *name) {
    if (strcmp(r->key, name) == 0) return (size_t)-1;
    /* No FNM_PATHNAME: '*' spans '/', so "cache*" covers every test of suites cache_*. */
    if (fnmatch(r->key, name, 0) == 0) return strlen(r->key);
    return 0;
}

static size_t hash_name(const char *s) {
    size_t h = 14695981039346656037u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* Records name among the tests resolved against bf, once. */
static void note_seen(const mg_budget_file *bf, const char *name) {
    resolved_tests *st = bf->seen;
    if (st->nnames * 2 >= st->nslots) { /* keep the set at most half full */
        free(st->slots);
        st->nslots = st->nslots ? st->nslots * 2 : 256;
        st->slots = mg_xcalloc(st->nslots, sizeof *st->slots);
        for (size_t i = 0; i < st->nnames; i++) {
            size_t k = hash_name(st->names[i]) & (st->nslots - 1);
            while (st->slots[k]) k = (k + 1) & (st->nslots - 1);
            st->slots[k] = i + 1;
        }
    }
    size_t k = hash_name(name) & (st->nslots - 1);
    for (; st->slots[k]; k = (k + 1) & (st->nslots - 1))
        if (strcmp(st->names[st->slots[k] - 1], name) == 0) return;
    if (st->nnames == st->capnames) {
        st->capnames = st->capnames ? st->capnames * 2 : 64;
        st->names = mg_xrealloc(st->names, st->capnames * sizeof *st->names);
    }
    st->names[st->nnames++] = mg_xstrdup(name);
    st->slots[k] = st->nnames;
}

void mg_budgets_resolve(const mg_budget_file *bf, const mg_cli_limits *cli, const char *suite,
                        const char *test, mg_budget *out) {
    mg_budget_init_builtin(out);
    if (cli) apply_cli(out, cli);
    if (!bf) return;

    for (int f = 0; f < N_FIELDS; f++)
        if (bf->defaults.has[f])
            apply_field(out, &bf->defaults, f, MG_SRC_FILE_DEFAULTS, bf->defaults_origin);
    if (bf->nrules == 0) return;

    char *name = mg_xasprintf("%s/%s", suite ? suite : "", test ? test : "");
    note_seen(bf, name);
    /* Per field, the best rank wins; a strict '>' keeps the first rule in file order
     * among equals. */
    const test_rule *best[N_FIELDS] = {NULL};
    size_t best_rank[N_FIELDS] = {0};
    for (size_t i = 0; i < bf->nrules; i++) {
        const test_rule *r = &bf->rules[i];
        size_t rank = rule_rank(r, name);
        if (rank == 0) continue;
        bf->seen->matched[i] = true;
        for (int f = 0; f < N_FIELDS; f++) {
            if (r->e.has[f] && rank > best_rank[f]) {
                best[f] = r;
                best_rank[f] = rank;
            }
        }
    }
    free(name);
    for (int f = 0; f < N_FIELDS; f++)
        if (best[f]) apply_field(out, &best[f]->e, f, MG_SRC_FILE_TEST, best[f]->origin);
}

/* ---- annotations and checks ---------------------------------------------------- */

int mg_budget_apply_annotation(mg_budget *b, const int64_t values[MG_M_COUNT], const char *file,
                               unsigned line, char *err, size_t errlen) {
    char at[512] = "";
    if (file) snprintf(at, sizeof at, " at %s:%u", file, line);
    /* Everything is checked before anything changes, so a bad annotation leaves the
     * budget as the levels below made it. */
    for (int m = 0; m < MG_M_COUNT; m++) {
        int64_t v = values[m];
        if (v == MG_LIMIT_UNSET) continue;
        const char *field = mg_metrics[m].budget_key;
        if (!field) {
            mg_set_err(err, errlen, "MEMGATE_BUDGET(.%s = %" PRId64 ")%s: %s has no budget",
                       mg_metrics[m].key, v, at, mg_metrics[m].key);
            return -1;
        }
        if (v < 0 && v != MG_UNLIMITED) {
            mg_set_err(err, errlen,
                       "MEMGATE_BUDGET(.%s = %" PRId64
                       ")%s: a limit must be >= 0 or MEMGATE_UNLIMITED",
                       field, v, at);
            return -1;
        }
    }
    char *origin = file ? mg_xasprintf("%s:%u", file, line) : NULL;
    for (int m = 0; m < MG_M_COUNT; m++)
        if (values[m] != MG_LIMIT_UNSET)
            set_limit(&b->lim[m], values[m], MG_SRC_ANNOTATION, origin);
    free(origin);
    return 0;
}

unsigned mg_budget_check(const mg_budget *b, const int64_t fig[MG_M_COUNT], unsigned known) {
    unsigned viol = 0;
    for (int m = 0; m < MG_M_COUNT; m++) {
        int64_t limit = b->lim[m].value;
        if (!mg_metrics[m].budget_key || !(known & MG_M_BIT(m)) || limit < 0) continue;
        if (fig[m] > limit) viol |= MG_M_BIT(m);
    }
    return viol;
}

/* ---- keys that match no test --------------------------------------------------- */

/* The part of name before its first '/' (the suite), as a heap string. */
static char *suite_of(const char *name) {
    size_t n = strcspn(name, "/");
    char *s = mg_xcalloc(1, n + 1);
    memcpy(s, name, n);
    return s;
}

/* What a key that matches nothing was probably meant to be, as a heap string, or NULL:
 * for a plain "suite/test" the nearest test name; for a glob "SUITE/GLOB" with a plain
 * SUITE, the glob with the nearest suite name, when that glob matches a test. */
static char *suggest_key(const resolved_tests *st, const char *key) {
    if (!strpbrk(key, "*?[")) {
        const char *s = mg_suggest(key, (const char *const *)st->names, st->nnames);
        return s ? mg_xstrdup(s) : NULL;
    }
    const char *slash = strchr(key, '/');
    if (!slash) return NULL;
    char *suite = suite_of(key);
    char *found = NULL;
    if (!strpbrk(suite, "*?[")) {
        /* The distinct suites, in the order their first test was seen. */
        char **suites = mg_xcalloc(st->nnames ? st->nnames : 1, sizeof *suites);
        size_t n = 0;
        for (size_t i = 0; i < st->nnames; i++) {
            char *s = suite_of(st->names[i]);
            if (n && strcmp(suites[n - 1], s) == 0) {
                free(s);
                continue;
            }
            suites[n++] = s;
        }
        const char *near = mg_suggest(suite, (const char *const *)suites, n);
        if (near) {
            char *candidate = mg_xasprintf("%s%s", near, slash);
            for (size_t i = 0; i < st->nnames && !found; i++)
                if (fnmatch(candidate, st->names[i], 0) == 0) found = candidate;
            if (!found) free(candidate);
        }
        for (size_t i = 0; i < n; i++) free(suites[i]);
        free(suites);
    }
    free(suite);
    return found;
}

size_t mg_budgets_unmatched(const mg_budget_file *bf, mg_strlist *out) {
    if (!bf || !bf->seen) return 0;
    size_t count = 0;
    for (size_t i = 0; i < bf->nrules; i++) {
        if (bf->seen->matched[i]) continue;
        count++;
        char *near = suggest_key(bf->seen, bf->rules[i].key);
        if (near) {
            char shown[256];
            mg_json_escape_key(near, shown, sizeof shown);
            mg_strlist_addf(out, "%s matches no test of this run (did you mean \"%s\"?)",
                            bf->rules[i].origin, shown);
            free(near);
        } else {
            mg_strlist_addf(out, "%s matches no test of this run", bf->rules[i].origin);
        }
    }
    return count;
}

static void limit_text(int64_t v, bool bytes, char *buf, size_t len) {
    if (v == MG_UNLIMITED)
        snprintf(buf, len, "unlimited");
    else if (bytes)
        mg_format_size(v, buf, len);
    else
        snprintf(buf, len, "%" PRId64, v);
}

size_t mg_budgets_warn_cli_overridden(const mg_cli_limits *cli, mg_run *run) {
    size_t added = 0;
    for (int m = 0; m < MG_M_COUNT; m++) {
        const mg_metric_info *mi = mg_metric_get((mg_metric)m);
        if (!mi->cli || cli->v[m] == MG_LIMIT_UNSET) continue;
        size_t over = 0;
        const mg_test_result *first = NULL;
        for (size_t i = 0; i < run->ntests; i++) {
            const mg_limit *l = &run->tests[i].budget.lim[m];
            if (l->source <= MG_SRC_CLI) continue;
            if (!over++) first = &run->tests[i];
        }
        if (!over) continue;
        char given[48], used[48];
        limit_text(cli->v[m], mg_metric_bytes((mg_metric)m), given, sizeof given);
        const mg_limit *l = &first->budget.lim[m];
        limit_text(l->value, mg_metric_bytes((mg_metric)m), used, sizeof used);
        mg_run_add_warning(run,
                           "%s %s is overridden for %zu of %zu entries by the budgets file or annotations "
                           "(e.g. %s/%s: %s from %s)",
                           mi->cli, given, over, run->ntests, first->suite, first->name, used,
                           l->origin ? l->origin : mg_source_name(l->source));
        added++;
    }
    return added;
}
