/*
 * The CLI's side of the wire protocol (collector/protocol.h has the grammar): parsing
 * what a driver and its test children send into plain structs. No I/O, no judging:
 * orchestration (sched.c) and judging (judge.c) work on these structs, and the fuzz
 * target feeds the parsers directly.
 *
 * Every parser accepts any bytes: unknown or malformed lines are skipped (and counted),
 * never trusted; numbers that do not parse leave the field unset.
 */
#ifndef MEMGATE_RUNNER_WIRE_H
#define MEMGATE_RUNNER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol.h"

/* Decodes a percent-escaped protocol token in place; "-" becomes "". */
void mg_unescape(char *s);

/* ---- driver messages --------------------------------------------------------------- */
/* "HELLO memgate <version> pid=<pid>": 0 with the version and pid, -1 if not a HELLO. */
int mg_wire_parse_hello(const char *line, int *version, pid_t *pid);

typedef struct mg_wire_suite {
    char *name;
    bool active, has_init, has_cleanup;
} mg_wire_suite;

typedef struct mg_wire_test {
    char *name;
    unsigned suite;
    bool active;
} mg_wire_test;

/* The registry a driver listed ("LIST" ... "ENDLIST"). */
typedef struct mg_wire_list {
    char *adapter;
    mg_wire_suite *suites;
    size_t nsuites;
    mg_wire_test *tests;
    size_t ntests;
    char **harness_functions, **harness_modules; /* NULL-terminated glob lists */
    char *modules; /* the driver's "MOD" lines (symbolizes crash sites), may be NULL */
} mg_wire_list;

/* Parses the text from "LIST" up to and including "ENDLIST". 0, or -1 with err when
 * the registry is inconsistent (a test naming a suite that does not exist, an index out
 * of order). */
int mg_wire_parse_list(const char *text, size_t len, mg_wire_list *out, char *err, size_t errlen);
void mg_wire_list_free(mg_wire_list *l);
/* 1 when both lists name the same suites and tests in the same order. */
int mg_wire_list_same(const mg_wire_list *a, const mg_wire_list *b);

/* "RESULT <tag> wstatus=.. timeout=.. dur_ns=.. res=.. out=..". */
typedef struct mg_wire_result_hdr {
    unsigned tag;
    int wstatus;
    bool timed_out;
    uint64_t dur_ns;
    size_t res_len, out_len;
} mg_wire_result_hdr;
int mg_wire_parse_result_header(const char *line, mg_wire_result_hdr *out);

/* "ERROR <tag> <escaped message>": 0 with the tag and a heap copy of the message. */
int mg_wire_parse_error(const char *line, unsigned *tag, char **message);

/* ---- a child's report ------------------------------------------------------------------ */
enum { MG_WK_TEST = 1, MG_WK_SUITE, MG_WK_WHOLE };

typedef struct mg_wire_entry {
    unsigned stack;
    int64_t size, size_diff, count, count_diff;
    bool lost_known; /* leak entries of a scanned window */
    int64_t lost_size, lost_count;
} mg_wire_entry;

typedef struct mg_wire_failure {
    char *kind, *file, *condition;
    unsigned line;
} mg_wire_failure;

/* One "key=value" of an annotation. */
typedef struct mg_wire_kv {
    char *key;
    int64_t value;
} mg_wire_kv;

typedef struct mg_wire_window {
    unsigned id;
    int kind;       /* MG_WK_* */
    unsigned index; /* test or suite index in the driver's list */
    bool closed;    /* "R" seen */
    int64_t net_bytes, net_blocks, peak_bytes, pending_bytes, pending_blocks;
    uint64_t allocations, dur_ns;
    bool leak_known; /* "L" seen: the shutdown completed */
    int64_t leaked_bytes, object_growth;
    bool lost_known; /* "LOST" seen: reachability was scanned */
    int64_t lost_bytes, lost_blocks;
    bool sinit, scleanup, notrun;
    bool has_annotation;
    mg_wire_kv *annotation;
    size_t nannotation;
    char *annotation_file;
    unsigned annotation_line;
    mg_wire_failure *failures;
    size_t nfailures;
    mg_wire_entry *leak, *net, *peak; /* traced: "D", "N", "P" */
    size_t nleak, nnet, npeak;
    bool has_peak_live;
    int64_t peak_live;
} mg_wire_window;

typedef struct mg_wire_stack {
    unsigned id;
    size_t n;
    uint64_t ips[64];
} mg_wire_stack;

typedef struct mg_wire_report {
    bool ended;           /* "END" seen */
    mg_wire_window *windows;
    size_t nwindows;
    mg_wire_stack *stacks;
    size_t nstacks;
    char *modules;        /* the "MOD" lines, as sent */
    size_t modules_len;
    bool threads_running;
    bool exited;          /* "X": the test (or the program) called exit */
    int exit_status;
    char *misuse;         /* "double-free" / "bad-trailer", or NULL */
    uint64_t misuse_addr;
    mg_wire_stack misuse_site;
    bool fail_reported;   /* "FAILED_ALLOC": a torture run */
    uint64_t fail_at;
    bool fail_hit;        /* the allocation to fail was reached */
    bool crashed;         /* "C": the child's crash handler ran */
    int crash_signal;
    uint64_t crash_addr;
    unsigned crash_window; /* the window open at the crash, 0 for none */
    bool crash_figures;   /* the window's figures up to the crash follow */
    int64_t crash_net_bytes, crash_net_blocks, crash_peak_bytes, crash_pending_bytes, crash_pending_blocks;
    uint64_t crash_allocations;
    mg_wire_stack crash_site;
    size_t skipped_lines; /* malformed or unknown lines */
} mg_wire_report;

/* Parses a child's (or a whole program's) report. Never fails: whatever it could not
 * read is counted in skipped_lines. */
void mg_wire_parse_report(const char *data, size_t len, mg_wire_report *out);
void mg_wire_report_free(mg_wire_report *r);

/* The window of the report with that kind and index (the last one when several). */
const mg_wire_window *mg_wire_find_window(const mg_wire_report *r, int kind, unsigned index);
/* The windows of the report with that kind and index, in order (a test run several
 * times has one per run): up to max of them in out; returns how many there are. */
size_t mg_wire_windows_of(const mg_wire_report *r, int kind, unsigned index, const mg_wire_window **out,
                          size_t max);
/* The window the child was in when it ended: the last one opened. */
const mg_wire_window *mg_wire_last_window(const mg_wire_report *r);
const mg_wire_stack *mg_wire_find_stack(const mg_wire_report *r, unsigned id);

#endif
