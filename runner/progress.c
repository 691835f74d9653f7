/*
 * The console while a run goes on (see progress.h).
 *
 * Two things about the order of output. Lines of tests that finish before every binary
 * has listed (at -j N, a first binary's tests may run while the next one still lists)
 * are held back and printed once the total is known, so "[ i/N]" never changes its N.
 * And the live line is drawn with \r and erased (\r ESC[K) before anything else is
 * written to the terminal, so it never stays in the scrollback.
 */
#include "progress.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "report_common.h"
#include "util.h"

/* A test shows up on the live line once it has run this long. */
#define LIVE_AFTER_S 2.0
/* Width of the live line when the terminal does not say. */
#define DEFAULT_COLUMNS 80

typedef struct held_line {
    size_t index;
    char *body;
} held_line;

struct mg_progress {
    mg_progress_opts o;
    FILE *out;
    double t0;           /* when the run started (monotonic seconds) */
    bool final;          /* every binary has listed: the total is known */
    size_t total;
    held_line *held;     /* lines waiting for the total */
    size_t nheld, capheld;
    bool checked;        /* the budgets keys were checked */
    bool strict_failed;  /* and --strict made that an error */
    char live[512];      /* the live line on screen, "" when none */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool mg_progress_interactive(int fd) {
    if (!isatty(fd)) return false;
    const char *term = getenv("TERM");
    if (!term || !*term || strcmp(term, "dumb") == 0) return false;
    const char *ci = getenv("CI");
    if (ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0) return false;
    return true;
}

mg_progress *mg_progress_new(const mg_progress_opts *o, FILE *out) {
    mg_progress *p = mg_xcalloc(1, sizeof *p);
    p->o = *o;
    p->out = out;
    p->t0 = now_s();
    return p;
}

void mg_progress_free(mg_progress *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nheld; i++) free(p->held[i].body);
    free(p->held);
    free(p);
}

/* Takes the live line off the screen (the cursor stays at the start of its row). */
static void erase_live(mg_progress *p) {
    if (!p->live[0]) return;
    fputs("\r\033[K", p->out);
    p->live[0] = '\0';
    fflush(p->out);
}

/* "  ETA 1:05" (or "  ETA 1:02:05") for the line of test index of total, from the pace
 * of the run so far; "" on the last line or when there is nothing to go on. */
static void eta_text(const mg_progress *p, size_t index, size_t total, char *buf, size_t len) {
    buf[0] = '\0';
    if (!p->o.eta || index == 0 || index >= total) return;
    double left = (now_s() - p->t0) / (double)index * (double)(total - index);
    if (!(left >= 0) || left > 359999) return;
    unsigned s = (unsigned)(left + 0.5);
    if (s >= 3600)
        snprintf(buf, len, "  ETA %u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "  ETA %u:%02u", s / 60, s % 60);
}

static void print_line(mg_progress *p, size_t index, const char *body, bool with_eta) {
    char eta[32] = "";
    if (with_eta) eta_text(p, index, p->total, eta, sizeof eta);
    erase_live(p);
    mg_console_put_line(p->out, index, p->total, body, eta);
}

/* The budgets keys that match no listed test: warnings of the run, or with --strict
 * errors on stderr. Once. */
static void check_keys(mg_progress *p) {
    if (p->checked) return;
    p->checked = true;
    mg_strlist msgs = {0};
    size_t n = mg_budgets_unmatched(p->o.budgets, &msgs);
    if (n && p->o.strict) {
        erase_live(p);
        for (size_t i = 0; i < msgs.n; i++) fprintf(stderr, "memgate: %s\n", msgs.items[i]);
        fprintf(stderr,
                "memgate: --strict: %zu key%s of the budgets file match%s no test of the binaries "
                "given; correct %s or remove %s (without --strict this is a warning)\n",
                n, n == 1 ? "" : "s", n == 1 ? "es" : "", n == 1 ? "it" : "them",
                n == 1 ? "it" : "them");
        p->strict_failed = true;
    } else if (p->o.run) {
        for (size_t i = 0; i < msgs.n; i++) mg_run_add_warning(p->o.run, "%s", msgs.items[i]);
    }
    mg_strlist_free(&msgs);
}

/* The total is known: checks the keys, then prints the lines held back. */
static void become_final(mg_progress *p, size_t known) {
    p->final = true;
    p->total = known;
    check_keys(p);
    for (size_t i = 0; i < p->nheld; i++) {
        if (!p->strict_failed) print_line(p, p->held[i].index, p->held[i].body, false);
        free(p->held[i].body);
    }
    p->nheld = 0;
}

void mg_progress_on_result(const mg_test_result *t, size_t done, size_t known, void *ctx) {
    mg_progress *p = ctx;
    if (p->strict_failed) return;
    if (p->o.quiet && (t->status == MG_ST_PASS || t->status == MG_ST_SKIP)) return;
    char *body = mg_console_line_body(t, &p->o.console);
    if (p->final) {
        if (known > p->total) p->total = known; /* never expected; keeps "i/N" sane */
        print_line(p, done, body, true);
        free(body);
        return;
    }
    if (p->nheld == p->capheld) {
        p->capheld = p->capheld ? p->capheld * 2 : 16;
        p->held = mg_xrealloc(p->held, p->capheld * sizeof *p->held);
    }
    p->held[p->nheld++] = (held_line){done, body};
    p->total = known;
}

/* Appends s to buf (holding *used bytes of cap) for a terminal: control characters and
 * invalid UTF-8 become '?'; stops after *room code points, counting them down. */
static void put_clean(char *buf, size_t cap, size_t *used, size_t *room, const char *s) {
    const unsigned char *q = (const unsigned char *)(s ? s : "");
    while (*q && *room > 0 && *used + 5 < cap) {
        unsigned cp;
        size_t n = mg_utf8_seq(q, &cp);
        if (!n || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
            buf[(*used)++] = '?';
            q += n ? n : 1;
        } else {
            memcpy(buf + *used, q, n);
            *used += n;
            q += n;
        }
        (*room)--;
    }
    buf[*used] = '\0';
}

static size_t columns(FILE *out) {
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return DEFAULT_COLUMNS;
}

/* Draws "running suite/test (12 s)" for the test that has run longest, when that is
 * more than LIVE_AFTER_S, with "and N more" for others that long; erases it when none
 * is. Redraws only when the text changes, and keeps it within one row (a wrapped line
 * could not be erased with \r). */
static void update_live(mg_progress *p, const mg_exec_tick *tk) {
    const mg_exec_running *longest = NULL;
    size_t slow = 0;
    for (size_t i = 0; i < tk->nrunning; i++) {
        const mg_exec_running *r = &tk->running[i];
        if (r->seconds < LIVE_AFTER_S) continue;
        slow++;
        if (!longest || r->seconds > longest->seconds) longest = r;
    }
    if (!longest) {
        erase_live(p);
        return;
    }
    char what[64], more[48] = "";
    unsigned secs = (unsigned)longest->seconds;
    if (longest->suite && !longest->name)
        snprintf(what, sizeof what, " (all its tests in one process, %u s)", secs);
    else
        snprintf(what, sizeof what, " (%u s)", secs);
    if (slow > 1) snprintf(more, sizeof more, " and %zu more", slow - 1);
    size_t width = columns(p->out);
    size_t fixed = strlen("running ") + strlen(what) + strlen(more) + 1;
    size_t room = width > fixed + 8 ? width - fixed : 8;
    char text[sizeof p->live] = "running ";
    size_t used = strlen(text);
    if (longest->suite) {
        put_clean(text, sizeof text, &used, &room, longest->suite);
        if (longest->name) {
            put_clean(text, sizeof text, &used, &room, "/");
            put_clean(text, sizeof text, &used, &room, longest->name);
        }
    } else {
        put_clean(text, sizeof text, &used, &room, longest->binary);
    }
    snprintf(text + used, sizeof text - used, "%s%s", what, more);
    if (strcmp(text, p->live) == 0) return;
    fprintf(p->out, "\r%s\033[K", text);
    fflush(p->out);
    snprintf(p->live, sizeof p->live, "%s", text);
}

int mg_progress_on_tick(const mg_exec_tick *tk, void *ctx) {
    mg_progress *p = ctx;
    if (!p->final && tk->known_final) become_final(p, tk->known);
    if (p->strict_failed) return 1;
    if (p->o.live) update_live(p, tk);
    return 0;
}

int mg_progress_finish(mg_progress *p, bool interrupted) {
    erase_live(p);
    if (!p->final && !interrupted) {
        become_final(p, p->total);
    } else if (!p->final) {
        /* Interrupted before every binary listed: the lines with the total so far. */
        p->final = true;
        for (size_t i = 0; i < p->nheld; i++) {
            print_line(p, p->held[i].index, p->held[i].body, false);
            free(p->held[i].body);
        }
        p->nheld = 0;
    }
    return p->strict_failed ? -1 : 0;
}
