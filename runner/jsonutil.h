/*
 * cJSON helpers shared by the runner: loading a JSON file with errors that point at
 * PATH:LINE:COLUMN and the pieces of validation messages (budgets.c, baseline.c), and
 * the out-of-memory bookkeeping of the tree builders (report_json.c, report_html.c).
 * Internal to the runner, never installed.
 */
#ifndef MEMGATE_RUNNER_JSONUTIL_H
#define MEMGATE_RUNNER_JSONUTIL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest value text mg_json_describe_value shows before it cuts it with "...", and a
 * buffer size that holds anything it writes. */
#define MG_JSON_SHOWN_MAX 60
#define MG_JSON_SHOWN_SIZE (MG_JSON_SHOWN_MAX + 8)

/* Writes the JSON text of item into buf for error messages: cut with "..." after
 * MG_JSON_SHOWN_MAX characters, "(value)" when it cannot be printed. */
void mg_json_describe_value(const cJSON *item, char *buf, size_t len);

/* Copies the object key s into buf (cut to fit) with '"' and '\\' escaped and control
 * characters shown as '?', so keys in messages read like the JSON they came from:
 * tests["a\"b"]. */
void mg_json_escape_key(const char *s, char *buf, size_t len);

/* "an object", "an array", "a string", "a number", "a boolean" or "null". */
const char *mg_json_type_name(const cJSON *item);

/* The 1-based line and column of byte offset off in text. */
void mg_json_line_col(const char *text, size_t off, size_t *line, size_t *col);

/*
 * Reads and parses the JSON file at path, a single document with nothing after it.
 * Free the result with cJSON_Delete. NULL with err set to one of
 *   "PATH: cannot open WHAT: REASON" (or "cannot read")
 *   "PATH: not a JSON file (it contains a NUL byte)"
 *   "PATH: the file is empty (expected EXPECTED)"      (nothing but blanks)
 *   "PATH:LINE:COL: invalid JSON: the document ends too early"
 *   "PATH:LINE:COL: invalid JSON near "TEXT""          (up to 20 characters of the line)
 * With blame_strings, a parse that stops just inside a string blames the string at its
 * opening quote: "PATH:LINE:COL: invalid JSON string (unterminated, or a bad escape)
 * near "TEXT"".
 */
cJSON *mg_json_load_file(const char *path, const char *what, const char *expected,
                         bool blame_strings, char *err, size_t errlen);

/* cJSON reports out-of-memory by returning NULL, so tree builders send every new item
 * through mg_json_add and one flag says whether the tree is complete. */
typedef struct mg_json_builder {
    bool failed;
} mg_json_builder;

/* Adds item to obj under key (to the array obj when key is NULL; only checks item when
 * obj is NULL) and returns it. A NULL item, or one that cannot be added (then deleted
 * here), sets b->failed and gives NULL. */
cJSON *mg_json_add(mg_json_builder *b, cJSON *obj, const char *key, cJSON *item);

#endif
