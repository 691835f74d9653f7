/* cJSON helpers shared by the runner (contract in jsonutil.h). */
#include "jsonutil.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void mg_json_describe_value(const cJSON *item, char *buf, size_t len) {
    const char *literal = mg_json_number_text(item);
    if (literal) {
        if (strlen(literal) > MG_JSON_SHOWN_MAX)
            snprintf(buf, len, "%.*s...", MG_JSON_SHOWN_MAX, literal);
        else
            snprintf(buf, len, "%s", literal);
        return;
    }
    char *text = cJSON_PrintUnformatted(item);
    if (!text) {
        snprintf(buf, len, "(value)");
        return;
    }
    if (strlen(text) > MG_JSON_SHOWN_MAX)
        snprintf(buf, len, "%.*s...", MG_JSON_SHOWN_MAX, text);
    else
        snprintf(buf, len, "%s", text);
    cJSON_free(text);
}

void mg_json_escape_key(const char *s, char *buf, size_t len) {
    size_t o = 0;
    for (; *s && o + 3 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') buf[o++] = '\\';
        buf[o++] = c < 0x20 ? '?' : (char)c;
    }
    buf[o] = '\0';
}

const char *mg_json_type_name(const cJSON *item) {
    if (cJSON_IsObject(item)) return "an object";
    if (cJSON_IsArray(item)) return "an array";
    if (cJSON_IsString(item)) return "a string";
    if (cJSON_IsNumber(item)) return "a number";
    if (cJSON_IsBool(item)) return "a boolean";
    if (cJSON_IsNull(item)) return "null";
    return "an unknown value";
}

void mg_json_line_col(const char *text, size_t off, size_t *line, size_t *col) {
    size_t l = 1, c = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* True when offset off of text lies inside an object (not an array, not a string):
 * a forward scan that tracks the innermost open container. Levels deeper than the
 * stack holds are counted, and an offset inside one of them is not "inside an object". */
static bool inside_object(const char *text, size_t off) {
    char stack[64];
    size_t depth = 0, lost = 0; /* lost: levels deeper than the stack holds */
    bool in_string = false, escaped = false;
    for (size_t k = 0; k < off; k++) {
        char ch = text[k];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (ch == '\\')
                escaped = true;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            if (depth < sizeof stack)
                stack[depth++] = ch;
            else
                lost++;
        } else if (ch == '}' || ch == ']') {
            if (lost)
                lost--;
            else if (depth)
                depth--;
        }
    }
    return !in_string && !lost && depth && stack[depth - 1] == '{';
}

/* cJSON reports the offset just past the offending character when it expected an
 * object key (after '{' or ','), and the offending character itself elsewhere. Returns
 * the offset of the character to blame: one back when off follows a non-blank character
 * that itself follows '{' or ',' inside an object. */
static size_t blame_offset(const char *text, size_t len, size_t off) {
    if (off < 2 || off > len || strchr(" \t\r\n", text[off - 1])) return off;
    size_t i = off - 1;
    while (i > 0 && strchr(" \t\r\n", text[i - 1])) i--;
    if (i > 0 && (text[i - 1] == '{' || text[i - 1] == ',') && inside_object(text, off - 1))
        return off - 1;
    return off;
}

/* Explains why cJSON stopped at end while parsing text (len bytes, no NUL inside). */
static void syntax_error(const char *path, const char *text, size_t len, const char *end,
                         bool blame_strings, char *err, size_t errlen) {
    size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    off = blame_offset(text, len, off);
    size_t line, col;
    if (off >= len) {
        mg_json_line_col(text, off, &line, &col);
        mg_set_err(err, errlen, "%s:%zu:%zu: invalid JSON: the document ends too early", path,
                   line, col);
        return;
    }
    size_t near = strcspn(text + off, "\r\n");
    if (near > 20) near = 20;
    /* cJSON stops just inside a string it cannot parse: blame the string. */
    bool in_str = blame_strings && off > 0 && text[off - 1] == '"';
    mg_json_line_col(text, in_str ? off - 1 : off, &line, &col);
    mg_set_err(err, errlen, "%s:%zu:%zu: invalid JSON%s near \"%.*s\"", path, line, col,
               in_str ? " string (unterminated, or a bad escape)" : "", (int)near, text + off);
}

/* ---- exact integers ------------------------------------------------------------ */

/* The number literals of a document: offsets and lengths into its text. */
typedef struct literals {
    size_t *off, *len;
    size_t n, cap;
} literals;

static bool number_char(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Collects the number literals of text (len bytes, already accepted by cJSON) in
 * document order. Outside strings, a number is the only token that starts with '-' or
 * a digit, and cJSON took the longest run of number characters from there (anything
 * else would have failed the parse), so a scan that skips strings finds the numbers
 * exactly as the parser saw them. */
static void collect_literals(const char *text, size_t len, literals *l) {
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i;
            while (j < len && number_char(text[j])) j++;
            if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 64;
                l->off = mg_xrealloc(l->off, l->cap * sizeof *l->off);
                l->len = mg_xrealloc(l->len, l->cap * sizeof *l->len);
            }
            l->off[l->n] = i;
            l->len[l->n++] = j - i;
            i = j - 1;
        }
    }
}

static size_t count_numbers(const cJSON *node) {
    size_t n = 0;
    for (; node; node = node->next) n += cJSON_IsNumber(node) + count_numbers(node->child);
    return n;
}

/* Gives the number nodes under node, depth first (document order), the literals from
 * *k on. False when out of memory. */
static bool attach_literals(cJSON *node, const char *text, const literals *l, size_t *k) {
    for (; node; node = node->next) {
        if (cJSON_IsNumber(node)) {
            size_t n = l->len[*k];
            char *s = cJSON_malloc(n + 1);
            if (!s) return false;
            memcpy(s, text + l->off[*k], n);
            s[n] = '\0';
            node->valuestring = s;
            (*k)++;
        }
        if (node->child && !attach_literals(node->child, text, l, k)) return false;
    }
    return true;
}

cJSON *mg_json_parse(const char *text, size_t len, const char **end) {
    const char *stop = NULL;
    /* Passing len + 1 (the terminating NUL included) with require_null_terminated
     * makes cJSON refuse anything after the document, e.g. a second object. */
    cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &stop, 1);
    if (end) *end = stop;
    if (!root) return NULL;
    literals l = {NULL, NULL, 0, 0};
    collect_literals(text, len, &l);
    /* The counts always agree for a document cJSON accepted; should they not, the tree
     * keeps no literals and readers fall back to the doubles (exact up to 2^53). */
    size_t k = 0;
    if (l.n == count_numbers(root) && !attach_literals(root, text, &l, &k)) {
        cJSON_Delete(root);
        root = NULL;
    }
    free(l.off);
    free(l.len);
    return root;
}

const char *mg_json_number_text(const cJSON *item) {
    return cJSON_IsNumber(item) && item->valuestring ? item->valuestring : NULL;
}

/* Reads the exact value of a JSON number literal: -?D*(.D*)?([eE][+-]?D+)? with at
 * least one mantissa digit. Works on the decimal digits themselves, so no value is
 * ever rounded. */
static mg_json_int literal_i64(const char *s, int64_t *out) {
    bool neg = *s == '-';
    if (neg) s++;
    char digits[40]; /* significant mantissa digits, leading zeros dropped */
    size_t nd = 0, ntotal = 0;
    long long scale = 0; /* value = digits x 10^scale */
    bool nonzero_dropped = false; /* a nonzero digit beyond the buffer */
    for (; *s >= '0' && *s <= '9'; s++, ntotal++) {
        if (nd == 0 && *s == '0') continue;
        if (nd < sizeof digits) {
            digits[nd++] = *s;
        } else {
            scale++;
            nonzero_dropped |= *s != '0';
        }
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, ntotal++) {
            if (nd == 0 && *s == '0') {
                scale--;
                continue;
            }
            if (nd < sizeof digits) {
                digits[nd++] = *s;
                scale--;
            } else {
                nonzero_dropped |= *s != '0';
            }
        }
    }
    if (!ntotal) return MG_JSON_INT_NOT_NUMBER;
    if (*s == 'e' || *s == 'E') {
        s++;
        bool eneg = *s == '-';
        if (*s == '-' || *s == '+') s++;
        if (*s < '0' || *s > '9') return MG_JSON_INT_NOT_NUMBER;
        long long e = 0;
        for (; *s >= '0' && *s <= '9'; s++)
            if (e < 100000) e = e * 10 + (*s - '0'); /* beyond this, any nonzero is out */
        scale += eneg ? -e : e;
    }
    if (*s) return MG_JSON_INT_NOT_NUMBER;
    if (nd == 0) { /* all zeros: 0, -0, 0.000, 0e99 */
        *out = 0;
        return MG_JSON_INT_OK;
    }
    if (nonzero_dropped) return scale >= 0 ? (neg ? MG_JSON_INT_TOO_SMALL : MG_JSON_INT_TOO_LARGE)
                                           : MG_JSON_INT_NOT_WHOLE;
    /* Digits below the decimal point must all be zero. */
    while (scale < 0 && nd > 0 && digits[nd - 1] == '0') {
        nd--;
        scale++;
    }
    if (scale < 0) return MG_JSON_INT_NOT_WHOLE;
    if ((long long)nd + scale > 19) return neg ? MG_JSON_INT_TOO_SMALL : MG_JSON_INT_TOO_LARGE;
    uint64_t v = 0;
    for (size_t i = 0; i < nd; i++) v = v * 10 + (uint64_t)(digits[i] - '0');
    for (long long i = 0; i < scale; i++) v *= 10; /* 19 digits fit in 64 bits unsigned */
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) return MG_JSON_INT_TOO_SMALL;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX) return MG_JSON_INT_TOO_LARGE;
        *out = (int64_t)v;
    }
    return MG_JSON_INT_OK;
}

mg_json_int mg_json_get_i64(const cJSON *item, int64_t *out) {
    if (!cJSON_IsNumber(item)) return MG_JSON_INT_NOT_NUMBER;
    const char *literal = mg_json_number_text(item);
    if (literal) return literal_i64(literal, out);
    /* A tree built in memory: only doubles that are whole and exact count. */
    double d = item->valuedouble;
    if (!isfinite(d) || d != floor(d)) return MG_JSON_INT_NOT_WHOLE;
    if (d > 9007199254740992.0) return MG_JSON_INT_TOO_LARGE;
    if (d < -9007199254740992.0) return MG_JSON_INT_TOO_SMALL;
    *out = (int64_t)d;
    return MG_JSON_INT_OK;
}

cJSON *mg_json_create_i64(int64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return cJSON_CreateRaw(buf);
}

cJSON *mg_json_load_file(const char *path, const char *what, const char *expected,
                         bool blame_strings, char *err, size_t errlen) {
    size_t len = 0;
    bool open_failed = false;
    char *text = mg_read_file(path, &len, &open_failed);
    if (!text) {
        mg_set_err(err, errlen, "%s: cannot %s %s: %s", path, open_failed ? "open" : "read",
                   what, strerror(errno));
        return NULL;
    }
    cJSON *root = NULL;
    if (strlen(text) != len) {
        mg_set_err(err, errlen, "%s: not a JSON file (it contains a NUL byte)", path);
    } else if (strspn(text, " \t\r\n") == len) {
        mg_set_err(err, errlen, "%s: the file is empty (expected %s)", path, expected);
    } else {
        /* Passing len + 1 (the terminating NUL included) with require_null_terminated
         * makes cJSON refuse anything after the document, e.g. a second object. */
        const char *end = NULL;
        root = mg_json_parse(text, len, &end);
        if (!root) syntax_error(path, text, len, end, blame_strings, err, errlen);
    }
    free(text);
    return root;
}

cJSON *mg_json_add(mg_json_builder *b, cJSON *obj, const char *key, cJSON *item) {
    if (!item) {
        b->failed = true;
        return NULL;
    }
    if (obj && !(key ? cJSON_AddItemToObject(obj, key, item) : cJSON_AddItemToArray(obj, item))) {
        cJSON_Delete(item);
        b->failed = true;
        return NULL;
    }
    return item;
}
