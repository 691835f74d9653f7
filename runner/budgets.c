/*
 * Budgets: loading and validating the budgets file, and resolving the limits of one
 * test through the precedence chain described in budgets.h.
 *
 * Within the file's "tests" entries the precedence applies field by field: for each of
 * leak_bytes, object_growth and peak_bytes, the best-ranked matching entry that sets
 * that field wins, and entries that do not mention a field leave it to the next one
 * down (then to "defaults"). This is the same rule as for the in-code annotation, where
 * unset fields keep the value from the next level.
 */
#include "budgets.h"

#include <cjson/cJSON.h>
#include <fnmatch.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "util.h"

enum { F_LEAK, F_GROWTH, F_PEAK, F_COUNT };

static const char *const field_names[F_COUNT] = {"leak_bytes", "object_growth", "peak_bytes"};
static const char *const cli_origins[F_COUNT] = {"--leak-bytes", "--object-growth", "--peak"};

/* Limits given at one level of the file; MG_LIMIT_UNSET where a field is absent. */
typedef struct file_limits {
    int64_t v[F_COUNT];
} file_limits;

typedef struct test_rule {
    char *key;    /* "suite/test" or a glob over it */
    char *origin; /* "PATH: tests[\"KEY\"]" */
    file_limits lim;
} test_rule;

struct mg_budget_file {
    char *path;
    char *defaults_origin; /* "PATH: defaults" */
    file_limits defaults;
    test_rule *rules; /* in file order */
    size_t nrules;
};

/*
 * Parses one limit value at key path `where` (e.g. tests["a/b"].leak_bytes) into *out:
 * null or "unlimited" mean no limit; byte fields take a whole non-negative number or a
 * SIZE string, object_growth a whole non-negative number. -1 with err on anything else.
 */
static int parse_limit(const char *path, const char *where, int field, const cJSON *item,
                       int64_t *out, char *err, size_t errlen) {
    char shown[MG_JSON_SHOWN_SIZE];
    mg_json_describe_value(item, shown, sizeof shown);
    const bool bytes = field != F_GROWTH;

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
        double d = item->valuedouble;
        if (!isfinite(d) || d >= 9223372036854775808.0) {
            mg_set_err(err, errlen, "%s: %s: %s is too large", path, where, shown);
            return -1;
        }
        if (d < 0) {
            mg_set_err(err, errlen,
                       "%s: %s: %s is negative (use null or \"unlimited\" for no limit)", path,
                       where, shown);
            return -1;
        }
        if (floor(d) != d) {
            mg_set_err(err, errlen, "%s: %s: %s is not a whole number of %s", path, where,
                       shown, bytes ? "bytes" : "objects");
            return -1;
        }
        *out = (int64_t)d;
        return 0;
    }
    mg_set_err(err, errlen, "%s: %s: expected %s or null, not %s", path, where,
               bytes ? "a size (4096 or \"4 KiB\")" : "a whole number", shown);
    return -1;
}

/* Parses one limits object ("defaults" or a tests entry) named `where`. */
static int parse_limits(const char *path, const char *where, const cJSON *obj,
                        file_limits *out, char *err, size_t errlen) {
    for (int f = 0; f < F_COUNT; f++) out->v[f] = MG_LIMIT_UNSET;
    if (!cJSON_IsObject(obj)) {
        char shown[MG_JSON_SHOWN_SIZE];
        mg_json_describe_value(obj, shown, sizeof shown);
        mg_set_err(err, errlen, "%s: %s: must be an object such as {\"leak_bytes\": 0}, not %s",
                   path, where, shown);
        return -1;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, obj) {
        int field = -1;
        for (int f = 0; f < F_COUNT; f++)
            if (strcmp(item->string, field_names[f]) == 0) field = f;
        char key[256];
        mg_json_escape_key(item->string, key, sizeof key);
        if (field < 0) {
            mg_set_err(err, errlen,
                       "%s: %s: unknown key \"%s\" (expected leak_bytes, object_growth or "
                       "peak_bytes)",
                       path, where, key);
            return -1;
        }
        if (out->v[field] != MG_LIMIT_UNSET) {
            mg_set_err(err, errlen, "%s: %s.%s: given twice", path, where, key);
            return -1;
        }
        char field_where[512];
        snprintf(field_where, sizeof field_where, "%s.%s", where, key);
        int64_t v;
        if (parse_limit(path, field_where, field, item, &v, err, errlen) != 0) return -1;
        out->v[field] = v;
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
    bf->rules = mg_xcalloc(n, sizeof *bf->rules);
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
        test_rule *r = &bf->rules[bf->nrules];
        if (parse_limits(bf->path, where, entry, &r->lim, err, errlen) != 0) return -1;
        r->key = mg_xstrdup(entry->string);
        r->origin = mg_xasprintf("%s: %s", bf->path, where);
        bf->nrules++;
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
            if (parse_limits(bf->path, "defaults", item, &bf->defaults, err, errlen) != 0)
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
    for (int f = 0; f < F_COUNT; f++) bf->defaults.v[f] = MG_LIMIT_UNSET;
    int rc = parse_document(bf, root, err, errlen);
    cJSON_Delete(root);
    if (rc != 0) {
        mg_budgets_free(bf);
        return -1;
    }
    *out = bf;
    return 0;
}

void mg_budgets_free(mg_budget_file *bf) {
    if (!bf) return;
    for (size_t i = 0; i < bf->nrules; i++) {
        free(bf->rules[i].key);
        free(bf->rules[i].origin);
    }
    free(bf->rules);
    free(bf->defaults_origin);
    free(bf->path);
    free(bf);
}

static mg_limit *budget_field(mg_budget *b, int f) {
    return f == F_LEAK ? &b->leak_bytes : f == F_GROWTH ? &b->object_growth : &b->peak_bytes;
}

static const mg_limit *budget_field_c(const mg_budget *b, int f) {
    return f == F_LEAK ? &b->leak_bytes : f == F_GROWTH ? &b->object_growth : &b->peak_bytes;
}

static void set_limit(mg_limit *l, int64_t value, mg_limit_source src, const char *origin) {
    free(l->origin);
    l->value = value;
    l->source = src;
    l->origin = mg_xstrdup(origin);
}

/* How well a rule's key matches name: 0 = no match, otherwise higher is better. An
 * exact key outranks every glob; a longer glob outranks a shorter one. */
static size_t rule_rank(const test_rule *r, const char *name) {
    if (strcmp(r->key, name) == 0) return (size_t)-1;
    /* No FNM_PATHNAME: '*' spans '/', so "cache*" covers every test of suites cache_*. */
    if (fnmatch(r->key, name, 0) == 0) return strlen(r->key);
    return 0;
}

void mg_budgets_resolve(const mg_budget_file *bf, const mg_cli_limits *cli, const char *suite,
                        const char *test, mg_budget *out) {
    static const int64_t builtin[F_COUNT] = {0, 0, MG_UNLIMITED};
    memset(out, 0, sizeof *out);
    for (int f = 0; f < F_COUNT; f++) set_limit(budget_field(out, f), builtin[f], MG_SRC_BUILTIN, NULL);

    if (cli) {
        const int64_t v[F_COUNT] = {cli->leak_bytes, cli->object_growth, cli->peak_bytes};
        for (int f = 0; f < F_COUNT; f++)
            if (v[f] != MG_LIMIT_UNSET)
                set_limit(budget_field(out, f), v[f] < 0 ? MG_UNLIMITED : v[f], MG_SRC_CLI,
                          cli_origins[f]);
    }
    if (!bf) return;

    for (int f = 0; f < F_COUNT; f++)
        if (bf->defaults.v[f] != MG_LIMIT_UNSET)
            set_limit(budget_field(out, f), bf->defaults.v[f], MG_SRC_FILE_DEFAULTS,
                      bf->defaults_origin);
    if (bf->nrules == 0) return;

    char *name = mg_xasprintf("%s/%s", suite ? suite : "", test ? test : "");
    /* Per field, the best rank wins; a strict '>' keeps the first rule in file order
     * among equals. */
    const test_rule *best[F_COUNT] = {NULL, NULL, NULL};
    size_t best_rank[F_COUNT] = {0, 0, 0};
    for (size_t i = 0; i < bf->nrules; i++) {
        const test_rule *r = &bf->rules[i];
        size_t rank = rule_rank(r, name);
        if (rank == 0) continue;
        for (int f = 0; f < F_COUNT; f++) {
            if (r->lim.v[f] != MG_LIMIT_UNSET && rank > best_rank[f]) {
                best[f] = r;
                best_rank[f] = rank;
            }
        }
    }
    free(name);
    for (int f = 0; f < F_COUNT; f++)
        if (best[f])
            set_limit(budget_field(out, f), best[f]->lim.v[f], MG_SRC_FILE_TEST, best[f]->origin);
}

void mg_budget_apply_annotation(mg_budget *b, int64_t leak_bytes, int64_t object_growth,
                                int64_t peak_bytes, const char *file, unsigned line) {
    const int64_t v[F_COUNT] = {leak_bytes, object_growth, peak_bytes};
    char *origin = file ? mg_xasprintf("%s:%u", file, line) : NULL;
    for (int f = 0; f < F_COUNT; f++) {
        if (v[f] == MG_LIMIT_UNSET) continue;
        /* Any other negative value is read as "no limit", the only sensible meaning. */
        set_limit(budget_field(b, f), v[f] < 0 ? MG_UNLIMITED : v[f], MG_SRC_ANNOTATION, origin);
    }
    free(origin);
}

unsigned mg_budget_check(const mg_budget *b, int64_t leaked_bytes, int64_t object_growth,
                         int64_t peak_bytes) {
    static const unsigned bits[F_COUNT] = {MG_VIOL_LEAK, MG_VIOL_GROWTH, MG_VIOL_PEAK};
    const int64_t measured[F_COUNT] = {leaked_bytes, object_growth, peak_bytes};
    unsigned viol = 0;
    for (int f = 0; f < F_COUNT; f++) {
        int64_t limit = budget_field_c(b, f)->value;
        if (limit >= 0 && measured[f] > limit) viol |= bits[f];
    }
    return viol;
}

void mg_budget_free_contents(mg_budget *b) {
    if (!b) return;
    for (int f = 0; f < F_COUNT; f++) {
        mg_limit *l = budget_field(b, f);
        free(l->origin);
        l->origin = NULL;
    }
}

void mg_budget_copy(mg_budget *dst, const mg_budget *src) {
    *dst = *src;
    for (int f = 0; f < F_COUNT; f++) {
        mg_limit *l = budget_field(dst, f);
        l->origin = mg_xstrdup(l->origin);
    }
}
