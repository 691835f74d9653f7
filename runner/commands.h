/* Subcommands implemented outside main.c. Each returns the process exit status
 * (0 ok, 1 a test in the rendered report did not pass, 2 usage or input error) and
 * prints its own messages ("memgate: ..." on stderr). argv[0] is the subcommand name. */
#ifndef MEMGATE_RUNNER_COMMANDS_H
#define MEMGATE_RUNNER_COMMANDS_H

/* memgate report IN.json [--junit PATH] [--html PATH] [--console] [--color WHEN]
 *   Renders a JSON report (written by `memgate run --json` or `memgate merge`) again.
 *   With no output option it prints the console summary. */
int mg_cmd_report(int argc, char **argv);

/* memgate merge OUT.json IN.json...
 *   Joins reports (e.g. of shards) into one: tests in input order, summary recomputed,
 *   duration summed, duplicate binary/suite/test entries are an error naming both
 *   inputs. */
int mg_cmd_merge(int argc, char **argv);

/* memgate suppress REPORT.json [-k GLOB]... [--exclude GLOB]... [--budgets]
 *   Prints what would accept the failing tests of a JSON report: leak:PATTERN lines for
 *   `memgate run --suppressions FILE` (one per culprit function of each leaked
 *   traceback), or with --budgets a budgets file with the measured figures. Exit
 *   status 0 when the output accepts every selected failing test (or there is none),
 *   1 when some could not be accepted (said on stderr), 2 usage or input error. */
int mg_cmd_suppress(int argc, char **argv);

#endif
