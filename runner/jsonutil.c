/* cJSON helpers shared by the runner (contract in jsonutil.h). */
#include "jsonutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void mg_json_describe_value(const cJSON *item, char *buf, size_t len) {
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
        root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
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
