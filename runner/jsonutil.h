/*
 * cJSON helpers shared by the runner: loading a JSON file with errors that point at
 * PATH:LINE:COLUMN and the pieces of validation messages (budgets.c, baseline.c), the
 * out-of-memory bookkeeping of the tree builders (report_json.c, report_html.c), and
 * exact 64-bit integers in both directions.
 *
 * Exact integers: cJSON keeps every number as a double, which holds integers exactly
 * only up to 2^53. Figures and limits go up to 2^63-1, so the writers emit integers as
 * their decimal text (mg_json_create_i64) and the parser below keeps each number's
 * source text next to its double (mg_json_parse), from which mg_json_get_i64 reads the
 * exact value.
 * Internal to the runner, never installed.
 */
#ifndef MEMGATE_RUNNER_JSONUTIL_H
#define MEMGATE_RUNNER_JSONUTIL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest value text mg_json_describe_value shows before it cuts it with "...", and a
 * buffer size that holds anything it writes. */
#define MG_JSON_SHOWN_MAX 60
#define MG_JSON_SHOWN_SIZE (MG_JSON_SHOWN_MAX + 8)

/* Writes the JSON text of item into buf for error messages: cut with "..." after
 * MG_JSON_SHOWN_MAX characters, "(value)" when it cannot be printed. A number parsed by
 * mg_json_parse is shown as it was written ("9223372036854775808", "1e30"). */
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
 * Parses len bytes of text (no NUL among them; text[len] must be the NUL terminator) as
 * a single JSON document with nothing after it, like cJSON_ParseWithLengthOpts with
 * require_null_terminated, and keeps the source text of every number: each number
 * node's valuestring holds its literal ("9007199254740993"), which cJSON_Delete frees
 * with the node. NULL when the text is not JSON; *end (may be NULL) then points where
 * the parser stopped.
 */
cJSON *mg_json_parse(const char *text, size_t len, const char **end);

/* The source text of a number node made by mg_json_parse, or NULL (another node, or a
 * number built in memory). */
const char *mg_json_number_text(const cJSON *item);

/* Outcome of reading an exact integer. */
typedef enum mg_json_int {
    MG_JSON_INT_OK = 0,
    MG_JSON_INT_NOT_NUMBER = -1, /* not a number node */
    MG_JSON_INT_NOT_WHOLE = -2,  /* a number with a fractional part: 1.5, 1e-3 */
    MG_JSON_INT_TOO_LARGE = -3,  /* above INT64_MAX (9223372036854775807) */
    MG_JSON_INT_TOO_SMALL = -4   /* below INT64_MIN */
} mg_json_int;

/*
 * Reads the exact integer value of a number node into *out. The source text kept by
 * mg_json_parse is read digit by digit, so 9223372036854775807 and 2^53+1 come back
 * exactly; whole numbers in other notations count too ("1e3" is 1000, "4096.0" is
 * 4096). A number node without source text falls back to its double when that is a
 * whole number within +-2^53. Returns MG_JSON_INT_OK or the reason it is not an int64.
 */
mg_json_int mg_json_get_i64(const cJSON *item, int64_t *out);

/* A node printing v as exact decimal text (a raw node: cJSON_Print copies it as it is).
 * NULL when out of memory. */
cJSON *mg_json_create_i64(int64_t v);

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
 * near "TEXT"". Numbers keep their source text (see mg_json_parse).
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
