/*
 * Writes the HTML report of a fixed run in fixture_run.h, for the headless browser
 * check (check_report.py). Prints what the page must show: "tests=N charts=N".
 *
 *   mg_html_fixture [--review] OUT.html
 *
 * --review writes the review run (hfx_make_review_run), else the first fixture.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fixture_run.h"
#include "report.h"

int main(int argc, char **argv) {
    bool review = argc == 3 && strcmp(argv[1], "--review") == 0;
    if (argc != 2 && !review) {
        fputs("usage: mg_html_fixture [--review] OUT.html\n", stderr);
        return 2;
    }
    mg_run run;
    if (review)
        hfx_make_review_run(&run);
    else
        hfx_make_run(&run);
    char err[1024];
    int rc = mg_report_html_write(&run, argv[argc - 1], err, sizeof err);
    mg_run_free_contents(&run);
    if (rc != 0) {
        fprintf(stderr, "mg_html_fixture: %s\n", err);
        return 1;
    }
    printf("tests=%d charts=%d\n", review ? HFX_REVIEW_TESTS : HFX_TESTS,
           review ? HFX_REVIEW_CHARTS : HFX_CHARTS);
    return 0;
}
