/*
 * Writes the HTML report of the fixed run in fixture_run.h, for the headless browser
 * check (check_report.py). Prints what the page must show: "tests=N charts=N".
 *
 *   mg_html_fixture OUT.html
 */
#include <stdio.h>

#include "fixture_run.h"
#include "report.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fputs("usage: mg_html_fixture OUT.html\n", stderr);
        return 2;
    }
    mg_run run;
    hfx_make_run(&run);
    char err[1024];
    int rc = mg_report_html_write(&run, argv[1], err, sizeof err);
    mg_run_free_contents(&run);
    if (rc != 0) {
        fprintf(stderr, "mg_html_fixture: %s\n", err);
        return 1;
    }
    printf("tests=%d charts=%d\n", HFX_TESTS, HFX_CHARTS);
    return 0;
}
